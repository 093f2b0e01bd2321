"""Sixty simulated days of deadlines, with restarts and crashes: every reminder goes out once.

Cases are ordered with deadlines that fall on weekends and at any hour; some are closed early,
some extended, some run over. The bot is stopped cleanly or "killed" at random moments: a kill
leaves the message Telegram had just accepted unmarked in the outbox, as SIGKILL would (that
one message may arrive twice). The expected reminders are worked out from the rules in
DESIGN.md, independently of bot/reminders.py, and compared with what the fake Bot API received.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from dataclasses import dataclass, field

from bot import dates, rectification, triage, verification
from bot.enterprises import check_character
from bot.invites import InviteSpec
from bot.tg.app import outbox_worker
from bot.tg.delivery import Limits, OutboxWorker
from bot.vocabulary.grading import Colour
from bot.vocabulary.lifecycle import Level
from bot.vocabulary.roles import Role
from fakebotapi import FakeUser
from tests.support.cases import report
from tests.support.chat import Bot
from tests.support.moments import SHANGHAI
from tests.support.people import account, staff

STEP = dt.timedelta(hours=1)
DAYS = 60
CASES = 36


class Killed(BaseException):
    """Raised inside the fake Bot API after it accepted a message: the bot dies right there."""


@dataclass
class Plan:
    number: str
    case_id: int
    enterprise_id: int
    contact: FakeUser
    colour: Colour
    assign_at: dt.datetime
    days: int
    fate: str  # early, over, extend, late
    fix_at: dt.datetime | None = None
    extend_at: dt.datetime | None = None
    extend_days: int = 0
    # (deadline, given at, ended at) of each deadline the case had
    deadlines: list[list[dt.datetime | None]] = field(default_factory=list)
    state: str = "submitted"


def in_window(moment: dt.datetime) -> bool:
    local = moment.astimezone(SHANGHAI).time()
    return dt.time(8, 0) <= local < dt.time(21, 0)


def expected_rungs(deadline: dt.datetime, given: dt.datetime, ended: dt.datetime) -> list[str]:
    """What the enterprise must have been told for one deadline, by DESIGN.md's ladder."""
    day = deadline.astimezone(SHANGHAI).date()
    out = []
    for label, date in (("3", day - dt.timedelta(days=3)), ("1", day - dt.timedelta(days=1)),
                        ("0", day)):  # fmt: skip
        due = dt.datetime.combine(date, dt.time(9), tzinfo=SHANGHAI)
        if given <= due < ended:
            out.append(label)
    # Overdue from the deadline on, told when the sending window next opens (08:00).
    told = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(8), tzinfo=SHANGHAI)
    if given <= deadline and told < ended:
        out.append("overdue")
    return out


async def test_sixty_days_with_restarts(bot: Bot) -> None:
    rng = random.Random(20261122)
    start = bot.clock.now()
    end = start + dt.timedelta(days=DAYS)
    officer = await staff(bot, InviteSpec(Role.OFFICER, "fire"))
    supervisor = await staff(bot, InviteSpec(Role.SUPERVISOR))
    contacts = []
    for n in range(6):
        code = f"91330100MA27XL{n:02d}T"
        async with bot.db.transaction() as tx:
            enterprise_id = await tx.enterprises.add(
                f"Plant {n}", code + check_character(code), None, None, start
            )
        contact = await staff(bot, InviteSpec(Role.ENTERPRISE, enterprise_id=enterprise_id))
        contacts.append((enterprise_id, contact))
    plans: list[Plan] = []
    for n in range(CASES):
        number = await report(bot.user(language="en"), photo_seed=1000 + n)
        case = await bot.db.read.cases.by_number(number)
        assert case is not None
        enterprise_id, contact = rng.choice(contacts)
        assign_at = start + dt.timedelta(minutes=rng.randrange(0, 40 * 24 * 60, 17))
        days = rng.randint(1, 16)
        fate = rng.choice(["early", "over", "extend", "late", "early"])
        colour = rng.choice([Colour.ORANGE, Colour.YELLOW, Colour.BLUE])
        plan = Plan(number, case.id, enterprise_id, contact, colour, assign_at, days, fate)
        plan.deadlines = []
        deadline_day = assign_at + dt.timedelta(days=days)
        if fate == "early":
            plan.fix_at = assign_at + (deadline_day - assign_at) * rng.uniform(0.1, 0.9)
        elif fate == "late":
            plan.fix_at = deadline_day + dt.timedelta(hours=rng.randint(30, 120))
        elif fate == "extend":
            plan.extend_at = assign_at + (deadline_day - assign_at) * rng.uniform(0.2, 0.8)
            plan.extend_days = days + rng.randint(3, 10)
        plans.append(plan)
    await bot.drain()

    officer_account = await account(bot, officer)
    kills = clean_restarts = 0
    in_flight: list[str] = []

    def new_worker() -> OutboxWorker:
        assert bot.app is not None
        base = outbox_worker(bot.app)
        # One request at a time, so a kill leaves exactly one message in flight.
        return OutboxWorker(base.bot, base.db, base.clock, base.photos_dir,
                            Limits(overall_per_second=30, concurrency=1))  # fmt: skip

    sender = new_worker()
    armed = False  # a kill waits for the next message actually being sent
    contact_accounts = {c.user_id: await account(bot, c) for _e, c in contacts}

    def dead(method: str, params: dict[str, object]) -> dict[str, object] | None:
        raise Killed  # the process is gone: it sends nothing more

    def kill(method: str, params: dict[str, object]) -> None:
        if method != "sendMessage":
            return
        bot.api.after_call = None
        bot.api.chaos = dead
        in_flight.append(bot.api.sent[-1].plain)
        raise Killed

    while bot.clock.now() < end:
        now = bot.clock.now()
        for plan in plans:
            if plan.state == "submitted" and now >= plan.assign_at:
                case = await bot.db.read.cases.get(plan.case_id)
                assert case is not None
                case = await triage.accept(
                    bot.services, officer_account, case.id, case.version, plan.colour, Level.GENERAL
                )
                deadline = dates.end_of_day(bot.services, plan.days)
                await triage.assign(
                    bot.services,
                    officer_account,
                    case.id,
                    case.version,
                    plan.enterprise_id,
                    deadline,
                )
                plan.deadlines.append([deadline, now, None])
                plan.state = "assigned"
            elif plan.state == "assigned" and plan.extend_at and now >= plan.extend_at:
                contact_account = contact_accounts[plan.contact.user_id]
                until = dates.end_of_day(bot.services, plan.extend_days)
                await rectification.request_extension(
                    bot.services, contact_account, plan.case_id, until, "Parts are on order."
                )
                fresh = await bot.db.read.cases.get(plan.case_id)
                assert fresh is not None
                await rectification.decide_extension(
                    bot.services, officer_account, plan.case_id, fresh.version, grant=True
                )
                plan.deadlines[-1][2] = now
                plan.deadlines.append([until, now, None])
                plan.extend_at = None
                plan.fix_at = until - dt.timedelta(days=2) if rng.random() < 0.5 else None
            elif plan.state == "assigned" and plan.fix_at and now >= plan.fix_at:
                contact_account = contact_accounts[plan.contact.user_id]
                await rectification.submit_fix(
                    bot.services, contact_account, plan.case_id, [], "Fixed."
                )
                fresh = await bot.db.read.cases.get(plan.case_id)
                assert fresh is not None
                await verification.close(bot.services, officer_account, plan.case_id, fresh.version)
                plan.deadlines[-1][2] = now
                plan.state = "closed"
        await bot.sweep()
        roll = rng.random()
        if roll < 0.01 and not armed:
            # SIGKILL while sending: Telegram got the message, the bot never marked it sent.
            bot.api.after_call = kill
            armed = True
        elif roll < 0.015:
            await bot.restart()
            clean_restarts += 1
            sender = new_worker()
        try:
            await sender.drain()
        except Killed:
            kills += 1
            armed = False
            bot.api.chaos = None
            await crash_restart(bot)
            sender = new_worker()
            await sender.drain()
        bot.clock.advance(STEP)

    assert kills >= 2
    assert clean_restarts >= 2
    await check(bot, plans, end, in_flight)
    escalations = [m for m in supervisor.transcript if "now under supervision" in m.plain]
    assert escalations  # some cases ran over


async def crash_restart(bot: Bot) -> None:
    """Start a new application on the same database without stopping the old one cleanly."""
    assert bot.app is not None
    await bot.app.bot_data.services.db.close()  # the process is gone: its connections too
    bot.app = None
    await bot.start()


async def check(bot: Bot, plans: list[Plan], end: dt.datetime, in_flight: list[str]) -> None:
    messages = [m for m in bot.api.sent if m.plain]
    deadlines = [d[0] for p in plans for d in p.deadlines if d[0] is not None]
    assert sum(d.astimezone(SHANGHAI).weekday() >= 5 for d in deadlines) >= 3  # weekends
    assert sum(len(p.deadlines) > 1 for p in plans) >= 3  # extended
    assert {p.fate for p in plans} == {"early", "over", "extend", "late"}
    checked = 0
    repeats = Counter((m.chat_id, m.plain) for m in messages)
    for (_chat, text), count in repeats.items():
        if count > 1:
            assert text in in_flight, f"sent twice without a crash: {text!r}"
    for plan in plans:
        to_contact = [m for m in messages if m.chat_id == plan.contact.user_id
                      and plan.number in m.plain]  # fmt: skip
        overdue = f"Case {plan.number} is overdue"
        reminders = [m for m in to_contact if m.plain.startswith(("Reminder", "Today", overdue))]
        for message in reminders:
            assert in_window(message.date), f"reminder in quiet hours: {message.plain!r}"
        expected: list[str] = []
        for deadline, given, ended in plan.deadlines:
            assert deadline is not None
            assert given is not None
            expected += expected_rungs(deadline, given, ended or end)
        got = []
        for message in reminders:
            if "(3 days left)" in message.plain:
                got.append("3")
            elif "(1 day left)" in message.plain:
                got.append("1")
            elif message.plain.startswith("Today"):
                got.append("0")
            elif "is overdue" in message.plain:
                got.append("overdue")
        dedup = [
            g for i, g in enumerate(got) if i == 0 or reminders[i].plain != reminders[i - 1].plain
        ]
        assert sorted(dedup) == sorted(expected), (plan.number, plan.fate, dedup, expected)
        checked += len(expected)
        case = await bot.db.read.cases.get(plan.case_id)
        assert case is not None
        # Escalation (挂牌督办): not accepted within twice the acceptance limit (48 h), or
        # still not fixed a day after the deadline; whichever comes first, once.
        triage_limit = case.created_at + dt.timedelta(hours=48)
        if plan.assign_at > triage_limit + STEP:
            assert case.escalated_at is not None, plan.number
            assert triage_limit <= case.escalated_at <= triage_limit + STEP, plan.number
            continue
        if not plan.deadlines:
            continue
        last_deadline, _given, ended = plan.deadlines[-1]
        assert last_deadline is not None
        escalate_at = last_deadline + dt.timedelta(days=1)
        if (ended or end) > escalate_at + STEP:
            assert case.escalated_at is not None, plan.number
            assert escalate_at <= case.escalated_at <= escalate_at + STEP, plan.number
        elif (ended or end) <= escalate_at and plan.assign_at <= triage_limit:
            assert case.escalated_at is None, plan.number
    assert checked >= 60  # reminders that had to go out, and did, once each
