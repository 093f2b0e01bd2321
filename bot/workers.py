"""CPU work that would hold the bot's GIL for seconds (a year's ledger, charts), in a few worker
processes of its own.

A thread does not free the event loop from pure-Python work: openpyxl writing a year's ledger
held the GIL for 5–20 s, and every other user's update waited that long (bench/capacity.py). A
worker process gets plain, picklable values (the database path, a Translator, the city) and
returns plain values. The pool starts at the first job (most updates never need it) and ends
with the application; ``processes=0`` runs the jobs in a thread of the bot's own instead (tests:
starting processes is slow, and a thread sees the test's patches).
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import ParamSpec, TypeVar

log = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")


class Workers:
    """A small pool of worker processes (``processes`` of them), created at the first job."""

    def __init__(self, processes: int) -> None:
        self.processes = processes
        self._pool: ProcessPoolExecutor | None = None

    async def run(self, job: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """``job(*args, **kwargs)`` in a worker process (a thread when there are none)."""
        if self.processes == 0:
            return await asyncio.to_thread(job, *args, **kwargs)
        loop = asyncio.get_running_loop()
        pool = self._executor()
        try:
            return await loop.run_in_executor(pool, _call, job, args, kwargs)
        except BrokenProcessPool:
            # A worker died (killed, out of memory): this job fails, the next gets a new pool.
            if self._pool is pool:
                self._pool = None
            raise

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            # A fresh interpreter: fork would copy the bot's threads (the database's, httpx's)
            # mid-work; Python 3.11's fork server imports its modules before it applies the
            # bot's sys.path, so it could load another copy of the code than the bot runs.
            context = multiprocessing.get_context("spawn")
            self._pool = ProcessPoolExecutor(
                self.processes, mp_context=context, initializer=_watch_parent
            )
        return self._pool

    async def close(self) -> None:
        """End the workers (a job under way is waited for)."""
        pool, self._pool = self._pool, None
        if pool is not None:
            await asyncio.to_thread(pool.shutdown, wait=True, cancel_futures=True)


def _call(job: Callable[..., T], args: tuple[object, ...], kwargs: dict[str, object]) -> T:
    return job(*args, **kwargs)


def _watch_parent() -> None:
    """End this worker when the bot is gone: a bot killed outright (SIGKILL) cannot stop its
    pool, and an idle worker would otherwise wait for work forever."""
    bot = multiprocessing.parent_process()
    if bot is None:
        return

    def watch() -> None:
        bot.join()
        os._exit(0)

    threading.Thread(target=watch, name="watch-bot", daemon=True).start()
