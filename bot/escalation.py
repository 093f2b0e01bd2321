"""Putting a case under supervision (挂牌督办): once per case, by the reminders (overdue, not
accepted in time) or at the order of a red case; told at once to the supervisors, the officers
and the enterprise."""

from __future__ import annotations

from bot import notices
from bot.i18n import N_
from bot.notify import Notifier
from bot.services import Services
from bot.vocabulary.lifecycle import Status
from bot.vocabulary.models import Case

# Why, by the kind of escalation: stored as the event's note, translated where shown.
_REASONS = {
    "escalate": N_("overdue"),
    "triage-escalate": N_("not accepted in time"),
    "red": N_("red (major) risk"),
}


async def escalate(services: Services, notifier: Notifier, case: Case, kind: str) -> int:
    """Put the case under supervision (挂牌督办): an event, and notices sent at once."""
    now, tx = notifier.now, notifier.tx
    if not await tx.cases.mark_escalated(case.id, now):
        return 0
    reason = _REASONS[kind]
    await tx.cases.add_event(case.id, now, None, "escalate", note=reason)
    updated = await tx.cases.get(case.id)
    assert updated is not None
    key = f"esc:{case.id}"
    card = notices.supervision_card(services, updated, reason, now)
    sent = await notifier.supervisors(updated.department, key, card)
    sent += await notifier.officers(updated, key, notices.supervised(services, updated))
    if updated.enterprise_id is not None and updated.status is Status.ASSIGNED:
        sent += await notifier.enterprise(updated, key, notices.supervision_notice(updated))
    return sent
