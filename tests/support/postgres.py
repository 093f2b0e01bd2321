"""The suite on PostgreSQL: with ``SHAOZI_TEST_DATABASE=postgresql://…/NAME`` every test gets a
fresh database of its own, cloned from a template that was migrated once per run.

``CREATE DATABASE … TEMPLATE`` copies a migrated schema in a few milliseconds, where applying
the migrations again would take a second. The databases are named after NAME and this process,
so two runs on one server do not meet. Everything here is blocking (fixtures and table helpers
are called from inside a test's event loop): the work runs on an event loop of its own thread.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from storage.db import Database

T = TypeVar("T")

# Read once, at import: the tests' own fixture clears every SHAOZI_* variable.
URL = os.environ.get("SHAOZI_TEST_DATABASE") or None

# For a test of SQLite itself (its file, its locks, its online backup).
sqlite_only = pytest.mark.skipif(URL is not None, reason="SQLite's own behaviour")
# For a test of PostgreSQL itself (its planner, its catalogues).
postgresql_only = pytest.mark.skipif(URL is None, reason="PostgreSQL's own behaviour")

_loop: asyncio.AbstractEventLoop | None = None
_loop_lock = threading.Lock()
_numbers = itertools.count(1)
_template: str | None = None


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to its end on this module's own event loop (a thread of its own)."""
    global _loop
    with _loop_lock:
        if _loop is None:
            _loop = asyncio.new_event_loop()
            threading.Thread(target=_loop.run_forever, name="postgres-tests", daemon=True).start()
    return asyncio.run_coroutine_threadsafe(coro, _loop).result(timeout=120)


def _with_name(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def _base() -> tuple[str, str]:
    if URL is None:
        raise RuntimeError("SHAOZI_TEST_DATABASE is not set")
    name = urlsplit(URL).path.lstrip("/") or "shaozi_test"
    return _with_name(URL, "postgres"), name


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


async def _create(name: str, template: str | None) -> None:
    maintenance, base = _base()
    conn = await asyncpg.connect(maintenance)
    try:
        if template is None:
            # What runs killed on this machine left behind ({base}_{pid}_…, {base}_template_{pid}).
            for (left,) in await conn.fetch(
                "SELECT datname FROM pg_database WHERE datname LIKE $1", f"{base}\\_%"
            ):
                pid = left.removeprefix(f"{base}_").removeprefix("template_").split("_")[0]
                if pid.isdigit() and not _alive(int(pid)):
                    await conn.execute(f'DROP DATABASE IF EXISTS "{left}" WITH (FORCE)')
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        clause = ""
        if template:
            # FILE_COPY (PostgreSQL 15) copies a small database's files at once, where the
            # default WAL_LOG writes every page to the WAL: about half the time.
            fast = conn.get_server_version().major >= 15
            clause = f' TEMPLATE "{template}"' + (" STRATEGY FILE_COPY" if fast else "")
        await conn.execute(f'CREATE DATABASE "{name}"{clause}')
    finally:
        await conn.close()


async def _migrate(url: str) -> None:
    async with Database(url) as db:
        await db.migrate()


def fresh_database() -> str:
    """The URL of a new, migrated database, for one test."""
    global _template
    maintenance, base = _base()
    if _template is None:
        template = f"{base}_template_{os.getpid()}"
        run(_create(template, None))
        run(_migrate(_with_name(maintenance, template)))
        _template = template
    name = f"{base}_{os.getpid()}_{next(_numbers)}"
    run(_create(name, _template))
    return _with_name(maintenance, name)


async def _drop(name: str) -> None:
    maintenance, _ = _base()
    conn = await asyncpg.connect(maintenance)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def drop(url: str) -> None:
    run(_drop(urlsplit(url).path.lstrip("/")))


def drop_template() -> None:
    if _template is not None:
        run(_drop(_template))
