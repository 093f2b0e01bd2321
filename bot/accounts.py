"""A user as the bot sees them on one update: their settings, roles and language."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from bot.i18n import Language, resolve_language
from bot.vocabulary.models import Membership, User
from bot.vocabulary.roles import Role


@dataclass(frozen=True)
class Account:
    user: User
    memberships: list[Membership] = field(default_factory=list)
    default_language: Language = Language.ZH_HANS

    @property
    def id(self) -> int:
        return self.user.id

    @cached_property  # asked for every text of an update; an Account lives for one update
    def language(self) -> Language:
        return resolve_language(
            self.user.language, self.user.telegram_language, self.default_language
        )

    @cached_property
    def roles(self) -> frozenset[Role]:
        return frozenset({Role.CITIZEN, *(m.role for m in self.memberships)})

    def has(self, role: Role) -> bool:
        return role in self.roles

    @property
    def is_staff(self) -> bool:
        return bool(self.roles - {Role.CITIZEN})

    def departments(self, role: Role = Role.OFFICER) -> set[str]:
        return {m.department for m in self.memberships if m.role is role and m.department}

    def enterprises(self) -> set[int]:
        return {
            m.enterprise_id
            for m in self.memberships
            if m.role is Role.ENTERPRISE and m.enterprise_id is not None
        }
