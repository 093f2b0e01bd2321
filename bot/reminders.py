"""Deadline and triage ladders: reminders before a deadline, notices after, escalation (挂牌督办).

The sweep works out from each case what should have been queued by now and queues what was not,
so a restart or a week of downtime is caught up by the next sweep. Each rung is recorded in
``case_reminders`` in the same transaction as its messages, so it is queued once. When several
rungs of a case fell due while the bot was down, only the latest is sent ("1 day left" makes
"3 days left" pointless); the earlier ones are recorded as superseded.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from bot.escalation import escalate
from bot.notices import deadline_reminder, triage_reminder
from bot.notify import Notifier
from bot.quiet import allowed_from
from bot.services import Services
from bot.vocabulary.lifecycle import Status
from bot.vocabulary.models import Case
from storage.db import to_db

DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class Rung:
    key: str  # unique per case; includes the deadline, so a new deadline starts a new ladder
    due_at: dt.datetime
    kind: str  # "before", "today", "overdue", "escalate", "triage", "triage-escalate"
    days: int = 0
    urgent: bool = False  # escalations go out at once, even in quiet hours


def local_at(services: Services, date: dt.date, time: dt.time) -> dt.datetime:
    zone = services.settings.zone
    return dt.datetime.combine(date, time, tzinfo=zone).astimezone(dt.UTC)


def quiet(services: Services, rung: Rung) -> Rung:
    """A reminder due in quiet hours is due when the sending window opens: it is queued then,
    so a case closed in the night gets no stale reminder in the morning."""
    due = allowed_from(rung.due_at, services.city.quiet_hours, services.settings.zone)
    return Rung(rung.key, due, rung.kind, rung.days, rung.urgent)


def deadline_rungs(services: Services, case: Case) -> list[Rung]:
    """The ladder of an assigned case, from its deadline and the city's reminder settings."""
    assert case.deadline is not None
    settings = services.city.reminders
    zone = services.settings.zone
    stamp = to_db(case.deadline)
    day = case.deadline.astimezone(zone).date()
    rungs = [
        Rung(
            f"deadline:{stamp}:-{n}",
            local_at(services, day - n * DAY, settings.remind_time),
            "before",
            n,
        )
        for n in settings.days_before
    ]
    rungs.append(
        Rung(f"deadline:{stamp}:0", local_at(services, day, settings.remind_time), "today")
    )
    rungs.append(
        Rung(f"deadline:{stamp}:overdue", case.deadline + dt.timedelta(seconds=1), "overdue")
    )
    # Reminders meant for before the deadline was given do not apply (a 1-day deadline gets
    # no "3 days left").
    given = case.deadline_set_at or case.assigned_at or case.created_at
    rungs = [quiet(services, r) for r in rungs if r.due_at >= given]
    if case.escalated_at is None:
        after = case.deadline + settings.escalate_after_days * DAY
        rungs.append(Rung("escalate", after, "escalate", urgent=True))
    return rungs


def triage_rungs(services: Services, case: Case) -> list[Rung]:
    """A case nobody accepted: remind the department, then escalate at twice the limit."""
    limit = dt.timedelta(hours=services.city.limits.acceptance_hours)
    start = case.routed_at or case.created_at
    stamp = to_db(start)
    rungs = [quiet(services, Rung(f"triage:{stamp}", start + limit, "triage"))]
    if case.escalated_at is None:
        rungs.append(Rung("escalate", start + 2 * limit, "triage-escalate", urgent=True))
    return rungs


# A case with no rung ahead is looked at again only when it changes (which resets the mark).
NEVER = "9999-12-31T00:00:00.000000Z"


async def sweep_deadlines(services: Services, now: dt.datetime) -> int:
    """Queue the deadline reminders and escalations that have come due."""
    cases = await services.db.read.sweep.due_for_check(Status.ASSIGNED.value, now)
    return await _climb(services, now, cases, deadline_rungs)


async def sweep_triage(services: Services, now: dt.datetime) -> int:
    """Queue the acceptance reminders and escalations that have come due."""
    cases = await services.db.read.sweep.due_for_check(Status.SUBMITTED.value, now)
    return await _climb(services, now, cases, triage_rungs)


Ladder = Callable[[Services, Case], list[Rung]]


async def _climb(services: Services, now: dt.datetime, cases: list[Case], ladder: Ladder) -> int:
    """Queue the due rungs of these cases, then note when each must be looked at next."""
    if not cases:
        return 0
    done = await services.db.read.reminders.rungs([c.id for c in cases])
    queued = 0
    checks: list[tuple[int, int, str]] = []
    for case in cases:
        rungs = ladder(services, case) if case.deadline or ladder is triage_rungs else []
        due = [r for r in rungs if r.due_at <= now and (case.id, r.key) not in done]
        if due:
            sent = await _queue_due(services, now, case, due)
            if sent is None:
                continue  # the case changed meanwhile: its mark was reset, the next sweep sees it
            queued += sent
            done.update((case.id, r.key) for r in due)
        ahead = [r.due_at for r in rungs if r.due_at > now and (case.id, r.key) not in done]
        checks.append((case.id, case.version, to_db(min(ahead)) if ahead else NEVER))
    async with services.db.transaction() as tx:
        await tx.sweep.set_next_checks(checks)
    return queued


async def _queue_due(
    services: Services, now: dt.datetime, case: Case, due: list[Rung]
) -> int | None:
    """Record and queue the due rungs in one transaction; None if the case changed first."""
    escalations = [r for r in due if r.urgent]
    notices = [r for r in due if not r.urgent]
    queued = 0
    async with services.db.transaction() as tx:
        fresh = await tx.cases.get(case.id)
        if fresh is None or fresh.status != case.status or fresh.version != case.version:
            return None
        notifier = Notifier(tx, services, now)
        latest = max(notices, key=lambda r: r.due_at) if notices else None
        past_deadline = fresh.deadline is not None and fresh.deadline < now
        for rung in notices:
            # After downtime, only the newest rung is worth sending, and "n days left" or
            # "today is the deadline" not at all once the deadline has passed.
            stale = past_deadline and rung.kind in ("before", "today")
            superseded = rung is not latest or stale
            if not await tx.reminders.record(case.id, rung.key, rung.due_at, now, superseded):
                continue
            if not superseded:
                queued += await remind(services, notifier, fresh, rung)
        for rung in escalations:
            if await tx.reminders.record(case.id, rung.key, rung.due_at, now, False):
                queued += await escalate(services, notifier, fresh, rung.kind)
    return queued


async def remind(services: Services, notifier: Notifier, case: Case, rung: Rung) -> int:
    """A reminder to whoever must act: the enterprise, or the department doing it itself."""
    key = f"rem:{case.id}:{rung.key}"
    if rung.kind == "triage":
        card = triage_reminder(services, case)
        return await notifier.officers(case, key, card, quiet=True)
    render = deadline_reminder(services, case, rung.kind, rung.days)
    if case.enterprise_id is not None:
        return await notifier.enterprise(case, key, render, quiet=True)
    return await notifier.officers(case, key, render, quiet=True)
