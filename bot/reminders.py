"""Deadline and triage ladders: reminders before a deadline, notices after, escalation (挂牌督办),
reminders while a case stays overdue under supervision, and a major hazard's measures and plan.

The sweep works out from each case what should have been queued by now and queues what was not,
so a restart or a week of downtime is caught up by the next sweep. Each rung is recorded in
``case_reminders`` in the same transaction as its messages, so it is queued once. When several
rungs of one track of a case fell due while the bot was down, only the latest is sent ("1 day
left" makes "3 days left" pointless); the earlier ones are recorded as superseded.

A notice due in quiet hours is due when the sending window opens, and is queued then: a case
fixed in the night is not told in the morning to hurry. An escalation takes effect when due, at
any hour; bot/escalation.py says who is told at once, and the "told" rung tells the officers and
the enterprise when the window opens.

Officers get one message per reminder of a case (its card, the place a map link). A department
with more than ``reminders.summary_above`` reports waiting past the acceptance limit gets one
summary of them a day instead of a reminder per report (:func:`sweep_triage_summary`).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from bot import notices
from bot.escalation import escalate, parties_wait, tell_parties
from bot.notify import Notifier
from bot.plans import measures_due, owes_measures, owes_plan, plan_due
from bot.quiet import allowed_from, is_quiet
from bot.rectification import enterprise_name
from bot.services import Services
from bot.vocabulary.lifecycle import Status
from bot.vocabulary.models import Case
from storage.db import Session, to_db

DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class Rung:
    key: str  # unique per case; includes the deadline, so a new deadline starts a new ladder
    due_at: dt.datetime
    # "before", "today", "overdue", "told", "supervised", "measures", "plan", "triage";
    # "escalate", "triage-escalate" (urgent)
    kind: str
    days: int = 0
    urgent: bool = False  # an escalation: it takes effect when due, even in quiet hours
    track: str = "deadline"  # after downtime, only the latest notice of a track is sent


def local_at(services: Services, date: dt.date, time: dt.time) -> dt.datetime:
    zone = services.settings.zone
    return dt.datetime.combine(date, time, tzinfo=zone).astimezone(dt.UTC)


def window(services: Services, moment: dt.datetime) -> dt.datetime:
    """The moment, or when the sending window next opens."""
    return allowed_from(moment, services.city.quiet_hours, services.settings.zone)


def quiet(services: Services, rung: Rung) -> Rung:
    """A reminder due in quiet hours is due when the sending window opens: it is queued then,
    so a case closed in the night gets no stale reminder in the morning."""
    due = window(services, rung.due_at)
    return Rung(rung.key, due, rung.kind, rung.days, rung.urgent, rung.track)


def repeated(
    services: Services,
    first: Rung,
    every_days: int,
    now: dt.datetime,
    until: dt.datetime | None = None,
) -> list[Rung]:
    """``first``, then the same reminder every ``every_days`` days at the reminder time, as far
    as ``now`` and the next one after it (none from ``until`` on)."""
    if until is not None and first.due_at >= until:
        return []
    rungs = [first]
    if every_days <= 0:
        return rungs
    start = first.due_at.astimezone(services.settings.zone).date()
    time = services.city.reminders.remind_time
    n = 1
    while rungs[-1].due_at <= now:
        due = local_at(services, start + n * every_days * DAY, time)
        if until is not None and due >= until:
            break
        rungs.append(Rung(f"{first.key}:{n}", due, first.kind, track=first.track))
        n += 1
    return rungs


def told_rung(services: Services, case: Case, since: dt.datetime) -> list[Rung]:
    """The officers and the enterprise of a case escalated in quiet hours (since ``since``)
    are told when the window opens."""
    if case.escalated_at is None or case.escalated_at < since or not parties_wait(services, case):
        return []
    return [Rung("esc-told", window(services, case.escalated_at), "told")]


def deadline_rungs(services: Services, case: Case, now: dt.datetime) -> list[Rung]:
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
    escalation = case.deadline + settings.escalate_after_days * DAY
    if case.escalated_at is None:
        rungs.append(Rung("escalate", escalation, "escalate", urgent=True))
    rungs += told_rung(services, case, case.assigned_at or given)
    # Under supervision and still overdue: again every few days from the day the parties were
    # told of the escalation (in the sending window after it).
    told = window(services, escalation).astimezone(zone).date()
    first = local_at(services, told + settings.supervised_every_days * DAY, settings.remind_time)
    if settings.supervised_every_days > 0:
        rung = Rung(f"deadline:{stamp}:sup", first, "supervised")
        rungs += repeated(services, rung, settings.supervised_every_days, now)
    return rungs + major_rungs(services, case, now)


def major_rungs(services: Services, case: Case, now: dt.datetime) -> list[Rung]:
    """A major hazard's interim control measures and plan, while owed: when due, then again
    every few days up to the deadline."""
    every = services.city.majors.remind_every_days
    rungs: list[Rung] = []
    stamp = to_db(case.assigned_at or case.created_at)
    measures = measures_due(services, case)
    if owes_measures(case) and measures is not None:
        first = Rung(f"measures:{stamp}", window(services, measures), "measures", track="measures")
        rungs += repeated(services, first, every, now, case.deadline)
    plan = plan_due(services, case)
    if owes_plan(case) and plan is not None:
        first = Rung(f"plan:{stamp}", window(services, plan), "plan", track="plan")
        rungs += repeated(services, first, every, now, case.deadline)
    return rungs


def triage_rungs(services: Services, case: Case, now: dt.datetime) -> list[Rung]:
    """A case nobody accepted: remind the department, then escalate at twice the limit."""
    limit = dt.timedelta(hours=services.city.limits.acceptance_hours)
    start = case.routed_at or case.created_at
    stamp = to_db(start)
    rungs = [quiet(services, Rung(f"triage:{stamp}", start + limit, "triage"))]
    if case.escalated_at is None:
        rungs.append(Rung("escalate", start + 2 * limit, "triage-escalate", urgent=True))
    return rungs + told_rung(services, case, start)


# A case with no rung ahead is looked at again only when it changes (which resets the mark).
NEVER = "9999-12-31T00:00:00.000000Z"


async def sweep_deadlines(services: Services, now: dt.datetime) -> int:
    """Queue the deadline reminders and escalations that have come due."""
    cases = await services.db.read.sweep.due_for_check(Status.ASSIGNED.value, now)
    return await _climb(services, now, [c for c in cases if c.deadline], deadline_rungs)


async def sweep_triage(services: Services, now: dt.datetime) -> int:
    """Queue the acceptance reminders and escalations that have come due."""
    cases = await services.db.read.sweep.due_for_check(Status.SUBMITTED.value, now)
    return await _climb(services, now, cases, triage_rungs)


Ladder = Callable[[Services, Case, dt.datetime], list[Rung]]


async def _climb(services: Services, now: dt.datetime, cases: list[Case], ladder: Ladder) -> int:
    """Queue the due rungs of these cases, then note when each must be looked at next."""
    if not cases:
        return 0
    done = await services.db.read.reminders.rungs([c.id for c in cases])
    queued = 0
    checks: list[tuple[int, int, str]] = []
    for case in cases:
        rungs = ladder(services, case, now)
        due = [r for r in rungs if r.due_at <= now and (case.id, r.key) not in done]
        if due:
            outcome = await _queue_due(services, now, case, due)
            if outcome is None:
                continue  # the case changed meanwhile: its mark was reset, the next sweep sees it
            sent, case = outcome
            queued += sent
            done.update((case.id, r.key) for r in due)
            # An escalation adds the rung that tells the parties in the morning.
            rungs = ladder(services, case, now)
        ahead = [r.due_at for r in rungs if r.due_at > now and (case.id, r.key) not in done]
        checks.append((case.id, case.version, to_db(min(ahead)) if ahead else NEVER))
    async with services.db.transaction() as tx:
        await tx.sweep.set_next_checks(checks)
    return queued


def latest_of_each_track(rungs: list[Rung]) -> set[str]:
    """The keys of the notices worth sending after downtime: the latest of each track (of two
    due at once, the later in the ladder)."""
    latest: dict[str, tuple[dt.datetime, int, str]] = {}
    for index, rung in enumerate(rungs):
        mark = (rung.due_at, index, rung.key)
        if rung.track not in latest or mark > latest[rung.track]:
            latest[rung.track] = mark
    return {mark[2] for mark in latest.values()}


async def _queue_due(
    services: Services, now: dt.datetime, case: Case, due: list[Rung]
) -> tuple[int, Case] | None:
    """Record and queue the due rungs in one transaction, and return how many messages were
    queued and the case as it is now; None if the case changed first."""
    escalations = [r for r in due if r.urgent]
    notices_due = [r for r in due if not r.urgent]
    queued = 0
    async with services.db.transaction() as tx:
        fresh = await tx.cases.get(case.id)
        if fresh is None or fresh.status != case.status or fresh.version != case.version:
            return None
        notifier = Notifier(tx, services, now)
        latest = latest_of_each_track(notices_due)
        past_deadline = fresh.deadline is not None and fresh.deadline < now
        for rung in notices_due:
            # After downtime, only the newest rung is worth sending, and "n days left" or
            # "today is the deadline" not at all once the deadline has passed.
            stale = past_deadline and rung.kind in ("before", "today")
            superseded = rung.key not in latest or stale
            superseded = superseded or not await _applies(tx, services, now, fresh, rung)
            if not await tx.reminders.record(case.id, rung.key, rung.due_at, now, superseded):
                continue
            if not superseded:
                queued += await remind(services, notifier, fresh, rung)
        for rung in escalations:
            if await tx.reminders.record(case.id, rung.key, rung.due_at, now, False):
                parties = rung.kind != "triage-escalate" or not await summarised(
                    tx, services, now, fresh.department
                )
                queued += await escalate(services, notifier, fresh, rung.kind, parties=parties)
        updated = await tx.cases.get(case.id)
    assert updated is not None
    return queued, updated


async def _applies(
    tx: Session, services: Services, now: dt.datetime, case: Case, rung: Rung
) -> bool:
    """Whether a due notice still says something: a reminder under supervision needs the case
    under it; a report's own reminder (and the officers' notice that it went under
    supervision) gives way to the department's daily summary."""
    if rung.kind == "supervised":
        return case.escalated_at is not None
    if rung.kind == "triage" or (rung.kind == "told" and case.status is Status.SUBMITTED):
        return not await summarised(tx, services, now, case.department)
    return True


async def summarised(tx: Session, services: Services, now: dt.datetime, department: str) -> bool:
    """Whether the department has more reports waiting past the limit than the city's "a few":
    they are in its daily summary, not reminded one by one."""
    limit = dt.timedelta(hours=services.city.limits.acceptance_hours)
    waiting = await tx.sweep.waiting_acceptance(now - limit, department)
    return len(waiting) > services.city.reminders.summary_above


async def remind(services: Services, notifier: Notifier, case: Case, rung: Rung) -> int:
    """A reminder to whoever must act: the enterprise, or the department doing it itself; the
    officers hear of an enterprise's case again while it stays overdue under supervision."""
    key = f"rem:{case.id}:{rung.key}"
    if rung.kind == "triage":
        card = notices.triage_reminder(services, case)
        return await notifier.officers(case, key, card, quiet=True)
    if rung.kind == "told":
        return await tell_parties(services, notifier, case)
    if rung.kind in ("measures", "plan"):
        due = measures_due(services, case) if rung.kind == "measures" else plan_due(services, case)
        assert due is not None
        render = notices.major_step_reminder(services, case, rung.kind, due)
        return await notifier.enterprise(case, key, render, quiet=True)
    days = rung.days
    if rung.kind == "supervised":
        assert case.deadline is not None
        zone = services.settings.zone
        days = (notifier.now.astimezone(zone).date() - case.deadline.astimezone(zone).date()).days
    sent = 0
    if case.enterprise_id is not None:
        render = notices.deadline_reminder(services, case, rung.kind, days)
        sent += await notifier.enterprise(case, key, render, quiet=True)
    if case.enterprise_id is None or rung.kind == "supervised":
        name = await enterprise_name(notifier.tx, case)
        card = notices.reminder_card(services, case, rung.kind, days, name)
        sent += await notifier.officers(case, key, card, quiet=True)
    return sent


# The daily summary of reports waiting to be accepted -------------------------------------------


async def sweep_triage_summary(services: Services, now: dt.datetime) -> int:
    """Once a day, from the reminder time, each department with more than a few reports
    waiting past the acceptance limit gets one summary of them (key ``tsum:{date}:{dept}``)."""
    settings = services.city.reminders
    zone = services.settings.zone
    today = now.astimezone(zone).date()
    if now < local_at(services, today, settings.remind_time) or is_quiet(
        now, services.city.quiet_hours, zone
    ):
        return 0
    limit = dt.timedelta(hours=services.city.limits.acceptance_hours)
    read = services.db.read
    waiting: dict[str, list[Case]] = defaultdict(list)
    for case in await read.sweep.waiting_acceptance(now - limit):
        waiting[case.department].append(case)
    queued = 0
    for department, cases in sorted(waiting.items()):
        key = f"tsum:{today.isoformat()}:{department}"
        if len(cases) <= settings.summary_above or await read.broadcasts.any_queued(key + ":"):
            continue
        async with services.db.transaction() as tx:
            if await tx.broadcasts.any_queued(key + ":"):
                continue  # another sweep was first
            render = notices.triage_summary(services, department, cases, now)
            queued += await Notifier(tx, services, now).department(
                department, key, render, quiet=True
            )
    return queued
