"""Notifications queued in the outbox of a transaction: each rendered in its reader's language,
channel-neutral (text, photo ids, buttons as label and data); the adapter of a channel sends
them. Who is told what is the caller's; where it goes (users, a department, its group chat, the
supervisors, an enterprise's contacts, a case's participants) and when (quiet hours) is here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from bot.cards import Outgoing
from bot.i18n import Translator, resolve_language
from bot.quiet import allowed_from
from bot.services import Services
from bot.vocabulary.models import Case
from bot.vocabulary.roles import Role
from storage.db import Session

Render = Callable[[Translator], Outgoing]


class Notifier:
    """Queues messages in the outbox of the transaction, each in its reader's language."""

    def __init__(self, tx: Session, services: Services, now: dt.datetime) -> None:
        self.tx, self.services, self.now = tx, services, now
        self._default = services.city.city.default_language

    def send_time(self, quiet: bool, not_before: dt.datetime | None = None) -> dt.datetime:
        """When a message may go: at once, or (``quiet``) inside the city's sending window."""
        moment = max(self.now, not_before or self.now)
        if not quiet:
            return moment
        city, zone = self.services.city, self.services.settings.zone
        return allowed_from(moment, city.quiet_hours, zone)

    async def user(
        self,
        user_id: int,
        key: str,
        render: Render,
        *,
        not_before: dt.datetime | None = None,
        quiet: bool = False,
        broadcast_id: int | None = None,
    ) -> bool:
        """Queue a message to one user in their language; False if blocked or already queued."""
        row = await self.tx.users.get(user_id)
        if row is None or row.blocked_at is not None:
            return False
        language = resolve_language(row.language, row.telegram_language, self._default)
        message = render(self.services.catalogs.translator(language))
        return await self.tx.outbox.add(
            user_id,
            message.payload(),
            f"{key}:{user_id}",
            self.now,
            self.send_time(quiet, not_before),
            broadcast_id=broadcast_id,
            quiet=quiet,
        )

    async def group(self, chat_id: int, key: str, render: Render, *, quiet: bool = False) -> None:
        """A group chat, in the city's default language."""
        message = render(self.services.catalogs.translator(self._default))
        await self.tx.outbox.add(
            chat_id,
            message.payload(),
            f"{key}:{chat_id}",
            self.now,
            self.send_time(quiet),
            quiet=quiet,
        )

    async def department(self, code: str, key: str, render: Render, *, quiet: bool = False) -> int:
        """Every officer of a department, and its group chat if it has one."""
        officers = await self.tx.users.members(Role.OFFICER.value, department=code)
        for user_id in officers:
            await self.user(user_id, key, render, quiet=quiet)
        group = await self.department_group(code)
        if group is not None:
            await self.group(group, key, render, quiet=quiet)
        return len(officers)

    async def department_group(self, code: str) -> int | None:
        """The department's group chat: bound in chat (/setgroup), else from the city file."""
        return self.services.city.group_chat(code, await self.tx.departments.group_chat(code))

    async def officers(self, case: Case, key: str, render: Render, *, quiet: bool = False) -> int:
        return await self.department(case.department, key, render, quiet=quiet)

    async def supervisors(
        self, department: str, key: str, render: Render, *, quiet: bool = False
    ) -> int:
        """City-wide supervisors and those of the department."""
        supervisors = await self.tx.users.supervisors_for(department)
        for user_id in supervisors:
            await self.user(user_id, key, render, quiet=quiet)
        return len(supervisors)

    async def enterprise(self, case: Case, key: str, render: Render, *, quiet: bool = False) -> int:
        """The contacts of the case's enterprise."""
        if case.enterprise_id is None:
            return 0
        contacts = await self.tx.users.members(
            Role.ENTERPRISE.value, enterprise_id=case.enterprise_id
        )
        for user_id in contacts:
            await self.user(user_id, key, render, quiet=quiet)
        return len(contacts)

    async def participants(
        self, case: Case, key: str, render: Render, *, quiet: bool = True
    ) -> None:
        """The reporter and the co-reporters following the case: news of their case waits
        for the city's sending window, like every message that is not urgent."""
        for user_id in await self.tx.cases.participants(case.id):
            await self.user(user_id, key, render, quiet=quiet)
