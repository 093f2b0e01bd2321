"""Putting a case under supervision (挂牌督办): once per case, by the reminders (overdue, not
accepted in time) or at the order of a red case.

It takes effect when it is due, at any hour (the event and the case's mark). Who is told, and
when: a red case is urgent, so everyone at once. Otherwise the supervisors at once only if the
city file says so (``reminders.supervisors_at_once``), else in the sending window; the officers
and the enterprise in the sending window, told by the reminder ladder when it opens (the
"supervised" rung of bot/reminders.py, through :func:`tell_parties`) so that a case fixed or
accepted in the night is not told in the morning to hurry.
"""

from __future__ import annotations

from bot import notices
from bot.i18n import N_
from bot.notify import Notifier
from bot.quiet import is_quiet
from bot.services import Services
from bot.vocabulary.grading import Colour
from bot.vocabulary.lifecycle import Status
from bot.vocabulary.models import Case

# Why, by the kind of escalation: stored as the event's note, translated where shown.
_REASONS = {
    "escalate": N_("overdue"),
    "triage-escalate": N_("not accepted in time"),
    "red": N_("red (major) risk"),
}


def urgent(case: Case) -> bool:
    """A red case's escalation goes out at any hour."""
    return case.colour is Colour.RED


def parties_wait(services: Services, case: Case) -> bool:
    """Whether the officers and the enterprise of a case escalated at its ``escalated_at``
    were left to be told when the sending window opened."""
    if case.escalated_at is None or urgent(case):
        return False
    return is_quiet(case.escalated_at, services.city.quiet_hours, services.settings.zone)


async def escalate(
    services: Services, notifier: Notifier, case: Case, kind: str, *, parties: bool = True
) -> int:
    """Put the case under supervision (挂牌督办): an event, and who is told now. Without
    ``parties`` the officers are told otherwise (a department's daily summary of reports
    waiting to be accepted marks it)."""
    now, tx = notifier.now, notifier.tx
    if not await tx.cases.mark_escalated(case.id, now):
        return 0
    reason = _REASONS[kind]
    await tx.cases.add_event(case.id, now, None, "escalate", note=reason)
    updated = await tx.cases.get(case.id)
    assert updated is not None
    card = notices.supervision_card(services, updated, reason, now)
    at_once = urgent(updated) or services.city.reminders.supervisors_at_once
    sent = await notifier.supervisors(updated.department, f"esc:{case.id}", card, quiet=not at_once)
    if parties and not parties_wait(services, updated):
        sent += await tell_parties(services, notifier, updated)
    return sent


async def tell_parties(services: Services, notifier: Notifier, case: Case) -> int:
    """The officers (the case's card, once) and the enterprise of a case now under
    supervision."""
    key = f"esc:{case.id}"
    sent = await notifier.officers(case, key, notices.supervised(services, case))
    if case.enterprise_id is not None and case.status is Status.ASSIGNED:
        sent += await notifier.enterprise(case, key, notices.supervision_notice(case))
    return sent
