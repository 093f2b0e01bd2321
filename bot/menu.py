"""The commands each role has, for /start, /help and Telegram's command menu."""

from __future__ import annotations

from dataclasses import dataclass

from bot.i18n import N_
from bot.roles import Role

EVERYONE = frozenset(Role)


@dataclass(frozen=True)
class Command:
    name: str
    description: str  # a catalogue msgid
    roles: frozenset[Role] = EVERYONE


COMMANDS: tuple[Command, ...] = (
    Command("report", N_("Report a safety hazard")),
    Command("my", N_("Your reports and the cases you follow")),
    Command("status", N_("Show one case: /status NUMBER")),
    Command("start", N_("Start and show the menu")),
    Command("help", N_("What this bot can do for you")),
    Command("language", N_("Change the language")),
    Command("join", N_("Join as staff with an invite code")),
    Command("cancel", N_("Cancel what you are doing")),
)


def commands_for(roles: set[Role]) -> list[Command]:
    """The commands a user with these roles may use, in menu order."""
    return [c for c in COMMANDS if c.roles & roles]
