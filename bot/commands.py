"""What run_bot.py's subcommands do; run_bot.py itself only parses the command line."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path

from bot.city import CityConfig
from bot.clock import SystemClock
from bot.enterprises import EnterpriseRow, parse_enterprise_csv
from bot.invites import InviteSpec, create_invite
from bot.partners import PartnerKeyError, add_key, key_secret, revoke_key
from bot.settings import Settings
from bot.vocabulary.models import ApiKey, Enterprise
from bot.vocabulary.roles import Role
from storage.db import Database, backup

log = logging.getLogger(__name__)


class CommandError(Exception):
    """A command-line mistake, reported as one line."""


def configure_logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level_number,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # httpx logs every request at INFO, which drowns the bot's own lines while polling.
    logging.getLogger("httpx").setLevel(max(logging.WARNING, settings.log_level_number))


async def _migrate(where: Path | str) -> list[str]:
    async with Database(where) as db:
        return await db.migrate()


def migrate(settings: Settings) -> list[str]:
    return asyncio.run(_migrate(settings.database))


def check_invite(city: CityConfig, spec: InviteSpec) -> None:
    if spec.role is Role.OFFICER and not spec.department:
        raise CommandError("an officer invite needs --department CODE")
    if spec.role is Role.ENTERPRISE and spec.enterprise_id is None:
        raise CommandError("an enterprise invite needs --enterprise ID")
    if spec.role in (Role.ADMIN, Role.OFFICER, Role.SUPERVISOR) and spec.enterprise_id is not None:
        raise CommandError(f"--enterprise does not apply to the {spec.role} role")
    if spec.role in (Role.ADMIN, Role.ENTERPRISE) and spec.department:
        raise CommandError(f"--department does not apply to the {spec.role} role")
    if spec.department and city.department(spec.department) is None:
        known = ", ".join(d.code for d in city.departments)
        raise CommandError(f"unknown department {spec.department!r}; known: {known}")


async def _invite(settings: Settings, spec: InviteSpec) -> str:
    async with Database(settings.database) as db:
        await db.migrate()
        enterprise_id = spec.enterprise_id
        if enterprise_id is not None and await db.read.enterprises.get(enterprise_id) is None:
            raise CommandError(f"no enterprise with id {spec.enterprise_id}")
        return await create_invite(db, spec, SystemClock().now())


def invite(settings: Settings, city: CityConfig, spec: InviteSpec) -> str:
    """Make a one-time invite code for a role."""
    check_invite(city, spec)
    return asyncio.run(_invite(settings, spec))


def backup_database(settings: Settings, target: Path) -> None:
    """SQLite's online backup of the file, or pg_dump's custom format for PostgreSQL."""
    source = settings.database
    if isinstance(source, Path) and target.resolve() == source.resolve():
        raise CommandError("the backup target is the live database itself")
    try:
        backup(source, target)
    except FileNotFoundError as exc:
        if isinstance(source, Path):
            raise CommandError(f"no database at {source}") from None
        raise CommandError(str(exc)) from None
    except RuntimeError as exc:
        raise CommandError(str(exc)) from None


@dataclass(frozen=True)
class ImportResult:
    new: int
    updated: int
    enterprises: list[Enterprise]  # as stored, in the file's order

    @property
    def total(self) -> int:
        return self.new + self.updated


async def _import_enterprises(settings: Settings, rows: list[EnterpriseRow]) -> ImportResult:
    async with Database(settings.database) as db:
        await db.migrate()
        now = SystemClock().now()
        new = 0
        stored: list[Enterprise] = []
        # One transaction: a failure on any row leaves the database as it was.
        async with db.transaction(bulk=True) as tx:
            for row in rows:
                existing = await tx.enterprises.by_credit_code(row.credit_code)
                # An empty cell (or a missing column) keeps what an earlier import stored.
                district = row.district or (existing.district if existing else None)
                address = row.address or (existing.address if existing else None)
                if await tx.enterprises.upsert(row.name, row.credit_code, district, address, now):
                    new += 1
                enterprise = await tx.enterprises.by_credit_code(row.credit_code)
                assert enterprise is not None
                stored.append(enterprise)
        return ImportResult(new=new, updated=len(rows) - new, enterprises=stored)


def import_enterprises(settings: Settings, city: CityConfig, path: Path) -> ImportResult:
    """Add or update (by credit code) the enterprises of a CSV file, all or nothing.

    Raises EnterpriseFileError naming every bad line, or CommandError when there is no file.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise CommandError(f"no file at {path}") from None
    except OSError as exc:
        raise CommandError(f"cannot read {path}: {exc.strerror or exc}") from None
    rows = parse_enterprise_csv(data, city)
    return asyncio.run(_import_enterprises(settings, rows))


async def _apikey_add(settings: Settings, name: str, webhook: str | None, all_cases: bool) -> str:
    async with Database(settings.database) as db:
        await db.migrate()
        return await add_key(
            db, key_secret(settings), name, SystemClock().now(), webhook, all_cases
        )


def apikey_add(settings: Settings, name: str, webhook: str | None, all_cases: bool) -> str:
    """A new partner key for the Open311 API, shown once."""
    try:
        return asyncio.run(_apikey_add(settings, name, webhook, all_cases))
    except PartnerKeyError as exc:
        raise CommandError(str(exc)) from None


async def _apikey_list(settings: Settings) -> list[ApiKey]:
    async with Database(settings.database) as db:
        await db.migrate()
        return await db.read.partners.every()


def apikey_list(settings: Settings) -> list[ApiKey]:
    return asyncio.run(_apikey_list(settings))


async def _apikey_revoke(settings: Settings, name: str) -> None:
    async with Database(settings.database) as db:
        await db.migrate()
        await revoke_key(db, name, SystemClock().now())


def apikey_revoke(settings: Settings, name: str) -> None:
    try:
        asyncio.run(_apikey_revoke(settings, name))
    except PartnerKeyError as exc:
        raise CommandError(str(exc)) from None
