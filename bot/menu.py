"""The commands each role has, for /start, /help and Telegram's command menu."""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass

from bot.i18n import N_
from bot.vocabulary.roles import Role

EVERYONE = frozenset(Role)
ADMINS = frozenset({Role.ADMIN})
SUPERVISORS = frozenset({Role.SUPERVISOR})


@dataclass(frozen=True)
class Command:
    name: str
    description: str  # a catalogue msgid
    roles: frozenset[Role] = EVERYONE


COMMANDS: tuple[Command, ...] = (
    Command("report", N_("Report a safety hazard")),
    Command("my", N_("Your reports and the cases you follow")),
    Command("status", N_("Show one case: /status NUMBER")),
    Command("subscribe", N_("Get safety-day reminders and warnings")),
    Command("unsubscribe", N_("Stop safety-day reminders and warnings")),
    Command(
        "tasks", N_("Open rectification orders of your enterprise"), frozenset({Role.ENTERPRISE})
    ),
    Command(
        "queue",
        N_("Cases that need your department: /queue [overdue|red|a district…]"),
        frozenset({Role.OFFICER}),
    ),
    Command(
        "case",
        N_("A case with its history, by its number or words: /case TEXT"),
        frozenset({Role.OFFICER, Role.SUPERVISOR, Role.ENTERPRISE}),
    ),
    Command(
        "stats",
        N_("Hazards found and rectified: /stats [today|week|month|year|last-month|YYYY-MM]"),
        frozenset({Role.OFFICER, Role.SUPERVISOR}),
    ),
    Command("overdue", N_("Cases past their deadline"), frozenset({Role.OFFICER, Role.SUPERVISOR})),
    Command(
        "export", N_("The hazard ledger (隐患台账) as XLSX and CSV: /export [period]"), SUPERVISORS
    ),
    Command("rewards", N_("Whistleblower rewards in your scope"), SUPERVISORS),
    Command("rewardledger", N_("The reward ledger as a file, for payouts"), SUPERVISORS),
    Command("paid", N_("Mark a reward paid: /paid CODE"), SUPERVISORS),
    Command(
        "identitylog",
        N_("Who was shown a case's reporter: /identitylog NUMBER"),
        frozenset({Role.SUPERVISOR, Role.ADMIN}),
    ),
    Command("start", N_("Start and show the menu")),
    Command("help", N_("What this bot can do for you")),
    Command("language", N_("Change the language")),
    Command("join", N_("Join as staff with an invite code")),
    Command("cancel", N_("Cancel what you are doing")),
    Command("invite", N_("Make a one-time invite code for staff"), ADMINS),
    Command("members", N_("Staff members and their roles"), ADMINS),
    Command("enterprises", N_("Find enterprises by name or credit code"), ADMINS),
    Command("addenterprise", N_("Register an enterprise"), ADMINS),
    Command("editenterprise", N_("Correct an enterprise's details"), ADMINS),
    Command("departments", N_("The departments, their officers and group chats"), ADMINS),
    Command("broadcast", N_("Send a warning to subscribers"), ADMINS),
)


def commands_for(roles: Set[Role]) -> list[Command]:
    """The commands a user with these roles may use, in menu order."""
    return [c for c in COMMANDS if c.roles & roles]
