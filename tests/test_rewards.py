"""Whistleblower rewards: the policy, then the way from closing to payout in chat."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest

from bot import (
    rectification,
    reward_policy,
    rewards,
)
from bot.city import RewardPolicy
from bot.errors import InputMistake
from bot.invites import InviteSpec, create_invite
from bot.reward_policy import Basis, Facts, propose
from bot.rewards import Outcome
from bot.vocabulary.grading import Colour
from bot.vocabulary.lifecycle import Level, Status
from bot.vocabulary.models import Case
from bot.vocabulary.roles import Role
from fakebotapi import FakeUser, SentMessage
from storage.rewards import RewardStatus
from tests.support import tables
from tests.support.cases import accepted_and_ordered, enterprise_named, plan_if_owed, report
from tests.support.chat import INVITE_CODE, Bot
from tests.support.images import jpeg
from tests.support.moments import SHANGHAI
from tests.support.people import account, staff

POLICY = RewardPolicy(
    major_percent_of_fine=Decimal(15),
    major_minimum=3000,
    major_maximum=300000,
    ordinary_fixed=500,
    ordinary_monthly_cap=1000,
)
MAJOR, GENERAL = Level.MAJOR, Level.GENERAL


# The policy, table-driven -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("facts", "policy", "amount", "basis"),
    [
        pytest.param(
            Facts(MAJOR, True, 50_000), POLICY, 7_500, Basis.PERCENT, id="15% of the fine"
        ),
        pytest.param(Facts(MAJOR, True, 10_000), POLICY, 3_000, Basis.MINIMUM, id="under minimum"),
        pytest.param(Facts(MAJOR, True, 20_000), POLICY, 3_000, Basis.PERCENT, id="at minimum"),
        pytest.param(
            Facts(MAJOR, True, 3_000_000), POLICY, 300_000, Basis.MAXIMUM, id="over maximum"
        ),
        pytest.param(Facts(MAJOR, True, 33_333), POLICY, 5_000, Basis.PERCENT, id="rounded"),
        pytest.param(Facts(MAJOR, True, None), POLICY, 3_000, Basis.NO_FINE, id="no fine"),
        pytest.param(Facts(MAJOR, True, 0), POLICY, 3_000, Basis.NO_FINE, id="fine of zero"),
        pytest.param(Facts(GENERAL, True, None), POLICY, 500, Basis.ORDINARY, id="ordinary fixed"),
        pytest.param(
            Facts(GENERAL, True, 80_000), POLICY, 500, Basis.ORDINARY, id="ordinary with a fine"
        ),
        pytest.param(Facts(None, True, None), POLICY, 500, Basis.ORDINARY, id="no level: ordinary"),
        pytest.param(
            Facts(GENERAL, True, None, paid_this_month=500),
            POLICY,
            500,
            Basis.ORDINARY,
            id="under the monthly cap",
        ),
        pytest.param(
            Facts(GENERAL, True, None, paid_this_month=800),
            POLICY,
            200,
            Basis.MONTHLY_CAP,
            id="the rest of the monthly cap",
        ),
        pytest.param(
            Facts(GENERAL, True, None, paid_this_month=1_000),
            POLICY,
            None,
            Basis.CAP_REACHED,
            id="monthly cap reached",
        ),
        pytest.param(
            Facts(MAJOR, True, 50_000, paid_this_month=5_000),
            POLICY,
            7_500,
            Basis.PERCENT,
            id="the cap is for ordinary hazards only",
        ),
        pytest.param(
            Facts(GENERAL, True, None, paid_this_month=9_000),
            POLICY.model_copy(update={"ordinary_monthly_cap": 0}),
            500,
            Basis.ORDINARY,
            id="cap 0 means no cap",
        ),
        pytest.param(
            Facts(GENERAL, True, None),
            POLICY.model_copy(update={"ordinary_fixed": 0}),
            None,
            Basis.NO_ORDINARY,
            id="no fixed amount for ordinary hazards",
        ),
        pytest.param(
            Facts(MAJOR, True, 50_000, first_reporter=False),
            POLICY,
            None,
            Basis.NOT_FIRST,
            id="second reporter",
        ),
        pytest.param(
            Facts(MAJOR, True, 50_000, enterprise_contact=True),
            POLICY,
            None,
            Basis.ENTERPRISE_CONTACT,
            id="the enterprise's own contact",
        ),
        pytest.param(
            Facts(MAJOR, True, 50_000, enterprise_contact=True),
            POLICY.model_copy(update={"enterprise_contacts_eligible": True}),
            7_500,
            Basis.PERCENT,
            id="the enterprise's contact where the city allows it",
        ),
        pytest.param(
            Facts(MAJOR, False, 50_000), POLICY, None, Basis.NOT_GENUINE, id="not genuine"
        ),
        pytest.param(
            Facts(GENERAL, False, None), POLICY, None, Basis.NOT_GENUINE, id="ordinary not genuine"
        ),
        pytest.param(
            Facts(MAJOR, True, 50_000, self_reported=True),
            POLICY,
            None,
            Basis.SELF_REPORTED,
            id="self-report",
        ),
        pytest.param(
            Facts(MAJOR, True, 50_000),
            POLICY.model_copy(update={"enabled": False}),
            None,
            Basis.DISABLED,
            id="rewards turned off",
        ),
        pytest.param(
            Facts(MAJOR, True, 50_000),
            POLICY.model_copy(update={"major_percent_of_fine": Decimal("12.5")}),
            6_250,
            Basis.PERCENT,
            id="another city's share",
        ),
    ],
)
def test_the_policy(facts: Facts, policy: RewardPolicy, amount: int | None, basis: Basis) -> None:
    assert propose(policy, facts) == reward_policy.Proposal(amount, basis)


@pytest.mark.parametrize(
    ("facts", "policy", "asked"),
    [
        (Facts(MAJOR, False, None), POLICY, True),
        (Facts(GENERAL, False, None), POLICY, True),
        (Facts(GENERAL, False, None), POLICY.model_copy(update={"ordinary_fixed": 0}), False),
        (Facts(GENERAL, False, None, paid_this_month=1_000), POLICY, False),
        (Facts(MAJOR, False, None, paid_this_month=1_000), POLICY, True),
        (Facts(MAJOR, False, None, self_reported=True), POLICY, False),
        (Facts(MAJOR, False, None, enterprise_contact=True), POLICY, False),
    ],
)
def test_the_officer_is_asked_only_when_a_reward_is_possible(
    facts: Facts, policy: RewardPolicy, asked: bool
) -> None:
    assert reward_policy.could_reward(policy, facts) is asked


@pytest.mark.parametrize(
    ("typed", "value"),
    [
        ("50000", 50_000),
        ("50,000", 50_000),
        ("50 000 元", 50_000),
        ("¥50000", 50_000),
        ("5万", 50_000),
        ("1.5万元", 15_000),
        ("0", 0),
        ("50000 yuan", 50_000),
    ],
)
def test_typed_amounts(typed: str, value: int) -> None:
    assert rewards.parse_yuan(typed) == value


@pytest.mark.parametrize("typed", ["fifty", "-5", "1.5", "", "1e9", "99999999999"])
def test_typed_amounts_that_are_not(typed: str) -> None:
    with pytest.raises(InputMistake):
        rewards.parse_yuan(typed)


# Helpers ---------------------------------------------------------------------------------------


async def anonymous_report(citizen: FakeUser, *, seed: int) -> str:
    description = f"The fire exit of shop {seed} in the night market is chained shut."
    return await report(citizen, photo_seed=seed, description=description, anonymous=True)


class City:
    """A fire department with an officer, an enterprise contact and supervisors."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def setup(self) -> City:
        bot = self.bot
        self.enterprise_id = await enterprise_named(
            bot, "Golden Dragon Restaurant", "91330100MA27XL0T4C"
        )
        self.officer = await staff(bot, InviteSpec(Role.OFFICER, "fire"))
        self.contact = await staff(
            bot, InviteSpec(Role.ENTERPRISE, enterprise_id=self.enterprise_id)
        )
        self.supervisor = await staff(bot, InviteSpec(Role.SUPERVISOR))
        self.fire_head = await staff(bot, InviteSpec(Role.SUPERVISOR, "fire"))
        self.housing_head = await staff(bot, InviteSpec(Role.SUPERVISOR, "housing"))
        return self

    async def fixed(self, number: str, level: Level = MAJOR) -> Case:
        """Accept, order and fix the case through the workflow (the chat is tested elsewhere)."""
        case = await accepted_and_ordered(
            self.bot,
            self.officer,
            number,
            self.enterprise_id,
            colour=Colour.ORANGE,
            days=15,
            level=level,
        )
        contact = await account(self.bot, self.contact)
        case = await plan_if_owed(self.bot, contact, case)
        case = await rectification.submit_fix(self.bot.services, contact, case.id, [], "Fixed.")
        await self.bot.drain()
        return case

    async def closed(
        self, number: str, outcome: Outcome, level: Level = MAJOR
    ) -> rewards.Reward | None:
        case = await self.fixed(number, level)
        officer = await account(self.bot, self.officer)
        _case, reward = await rewards.close_case(
            self.bot.services, officer, case.id, case.version, outcome
        )
        await self.bot.drain()
        return reward


async def case_of(bot: Bot, number: str) -> Case:
    case = await bot.db.read.cases.by_number(number)
    assert case is not None
    return case


def proposal_for(user: FakeUser, number: str) -> SentMessage:
    return next(
        m for m in reversed(user.transcript) if f"Reward proposal for case {number}" in m.plain
    )


async def everything_stored(bot: Bot) -> str:
    """Every value of every table, as text."""
    values: list[str] = []
    for table in tables.names(bot.db):
        for row in tables.rows(bot.db, f"SELECT * FROM {table}"):
            values.extend(str(v) for v in row)
    return "\n".join(values)


# An anonymous reporter, end to end -------------------------------------------------------------


async def test_an_anonymous_report_earns_a_reward_claimed_with_its_code(bot: Bot) -> None:
    city = await City(bot).setup()
    officer, contact, supervisor = city.officer, city.contact, city.supervisor
    citizen = bot.user(language="en", first_name="Wei", username="weiwei_hz")

    # Reported anonymously; accepted as a major hazard; ordered; fixed.
    number = await anonymous_report(citizen, seed=71)
    await bot.drain()
    card = officer.last
    await officer.press("Accept", message=card)
    await officer.press("orange", message=card)
    await officer.press("major hazard", message=card)
    await officer.press("Order an enterprise to fix it", message=card)
    await officer.send("golden dragon")
    await officer.press("Golden Dragon Restaurant", message=officer.last)
    await officer.press("15 days", message=officer.last)
    await bot.drain()
    await contact.send("/tasks")
    # A major hazard: its rectification plan (治理方案) before the fix.
    await contact.press("Send the rectification plan", message=contact.last)
    await contact.send("Goal: an exit that opens. New lock, 500 yuan, Manager Li, in a week.")
    await contact.send("/tasks")
    await contact.press("Submit the fix", message=contact.last)
    await contact.send_photo(jpeg(seed=72))
    await contact.send("The chains are gone; the exit opens from inside.")
    await bot.drain()

    # Closing asks the outcome first: genuine, and the fine imposed.
    fix_card = officer.last
    await officer.press("Verified: close the case", message=fix_card)
    assert "Was the report genuine" in officer.callback_answers[-1]["text"]
    assert "Status: fix awaiting review" in fix_card.plain  # nothing closed yet
    await officer.press("Genuine", message=fix_card)
    assert "Fine imposed on the enterprise, in yuan?" in officer.last.plain
    assert fix_card.has_button("No fine")
    await officer.send("fifty thousand")
    assert "Please type a whole number of yuan" in officer.last.plain
    await officer.send("50,000")
    assert (
        f"Are you sure? Case {number} will be closed (销号) as fixed, and its report recorded "
        "as genuine, with a fine of 50,000 yuan."
    ) in officer.last.plain
    assert "Status: fix awaiting review" in officer.last.plain  # asked once more first
    await officer.press("Yes, close it", message=officer.last)
    assert "Closed (销号)" in officer.callback_answers[-1]["text"]
    assert (
        "A reward of 7,500 yuan was proposed; a supervisor decides."
        in (officer.callback_answers[-1]["text"])
    )
    assert "Status: closed" in officer.last.plain
    assert "Reward: proposed, awaiting approval, 7,500 yuan" in officer.last.plain
    case = await bot.db.read.cases.by_number(number)
    assert case is not None
    assert case.status is Status.CLOSED
    reward = await bot.db.read.rewards.for_case(case.id)
    assert reward is not None
    assert (reward.status, reward.fine, reward.amount_proposed) == ("proposed", 50_000, 7_500)

    # Supervisors of the case's scope get the proposal, without the reporter.
    marks = {u: len(u.transcript) for u in (supervisor, city.fire_head, city.housing_head)}
    mark_c = len(citizen.transcript)
    await bot.drain()
    proposal = proposal_for(supervisor, number)
    for line in (
        "Hazard level: major hazard",
        "Fine: 50,000 yuan",
        "Proposed reward: 7,500 yuan (share of the fine: 15%)",
    ):
        assert line in proposal.plain
    for secret in ("Wei", "weiwei_hz", str(citizen.user_id), "Reporter"):
        assert secret not in proposal.plain
    assert proposal_for(city.fire_head, number)
    assert len(city.housing_head.transcript) == marks[city.housing_head]
    assert "reward" not in " ".join(m.plain for m in citizen.transcript[mark_c:]).lower()

    # Approved: the reporter is told the amount, where and until when, and gets a code once.
    await supervisor.press("Approve", message=proposal)
    assert "Approved: 7,500 yuan" in supervisor.callback_answers[-1]["text"]
    assert not proposal.buttons
    await city.fire_head.press("Approve", message=proposal_for(city.fire_head, number))
    assert (
        "decided already (it is now: approved, not yet claimed)"
        in (city.fire_head.callback_answers[-1]["text"])
    )
    await bot.drain()
    notice = citizen.last
    assert f"A reward for your report {number}" in notice.plain
    assert "A reward of 7,500 yuan was approved" in notice.plain
    assert "Reporting Centre of the Sample City Emergency Management Bureau" in notice.plain
    assert "Claim it by 2027-01-21" in notice.plain
    assert not INVITE_CODE.search(notice.plain)
    forged = f"rw:1:code:{reward.id}"
    await supervisor.press_data(forged, notice)  # only the reporter may see the code
    assert supervisor.callback_answers[-1]["text"] == "You are not allowed to do that."
    await citizen.press("Show my claim code", message=notice)
    found = INVITE_CODE.search(notice.plain)
    assert found, notice.plain
    code = found.group(0)
    assert "A reward of 7,500 yuan was approved" in notice.plain
    assert not notice.buttons
    stored = await everything_stored(bot)
    assert code not in stored
    assert code.replace("-", "") not in stored  # only its hash is kept

    # A wrong code, a code from outside one's scope, and people who may not pay.
    await supervisor.send("/paid ABCD-EFGH-JKMN")
    assert "No reward in your scope has this claim code" in supervisor.last.plain
    await city.housing_head.send(f"/paid {code}")
    assert "No reward in your scope has this claim code" in city.housing_head.last.plain
    for intruder in (officer, contact, citizen):
        await intruder.send(f"/paid {code}")
        assert intruder.last.plain == "You are not allowed to do that."
    approved = await bot.db.read.rewards.for_case(case.id)
    assert approved is not None
    assert approved.status is RewardStatus.APPROVED

    # The right code, typed loosely: paid, and the reporter is told.
    await supervisor.send(f"/paid {code.lower().replace('-', ' ')}")
    assert f"Paid: 7,500 yuan for case {number}" in supervisor.last.plain
    await bot.drain()
    assert f"The reward of 7,500 yuan for your report {number} was paid" in citizen.last.plain
    await supervisor.send(f"/paid {code}")
    assert "This claim code was used already" in supervisor.last.plain
    assert f"case {number} was paid on 2026-11-22" in supervisor.last.plain
    paid = await bot.db.read.rewards.for_case(case.id)
    assert paid is not None
    assert paid.status is RewardStatus.PAID
    assert paid.paid_by == supervisor.user_id
    await citizen.press_data(forged, notice)
    assert "was paid already" in citizen.callback_answers[-1]["text"]

    # Officers see the reward on the case, supervisors too; the enterprise does not.
    await officer.send(f"/case {number}")
    assert "Reward: paid, 7,500 yuan" in officer.last.plain
    await supervisor.send(f"/case {number}")
    assert "Reward: paid, 7,500 yuan" in supervisor.last.plain
    await contact.send(f"/case {number}")
    assert "eward" not in contact.last.plain
    assert all("eward" not in m.plain for m in contact.transcript)


async def test_a_reward_unclaimed_is_reminded_then_lapses(bot: Bot) -> None:
    city = await City(bot).setup()
    citizen = bot.user(language="en")
    number = await anonymous_report(citizen, seed=81)
    await city.closed(number, Outcome(genuine=True, fine=None))
    proposal = proposal_for(city.supervisor, number)
    assert "Proposed reward: 3,000 yuan (the minimum for a major hazard without a fine)" in (
        proposal.plain
    )
    await city.supervisor.press("Approve", message=proposal)
    await bot.drain()
    notice = citizen.last
    assert "Claim it by 2027-01-21" in notice.plain

    async def at(when: dt.datetime) -> list[str]:
        mark = len(citizen.transcript)
        bot.clock.set(when)
        await bot.sweep()
        await bot.drain()
        return [m.plain for m in citizen.transcript[mark:]]

    # A week before the last day, at the reminders' hour; once.
    assert await at(dt.datetime(2027, 1, 14, 8, 59, tzinfo=SHANGHAI)) == []
    reminded = await at(dt.datetime(2027, 1, 14, 9, 0, tzinfo=SHANGHAI))
    assert len(reminded) == 1
    assert (
        f"the reward of 3,000 yuan for your report {number} must be claimed by 2027-01-21"
        in (reminded[0])
    )
    assert citizen.last.has_button("Show my claim code")  # not asked for yet
    assert await at(dt.datetime(2027, 1, 14, 9, 1, tzinfo=SHANGHAI)) == []
    assert await at(dt.datetime(2027, 1, 21, 23, 59, tzinfo=SHANGHAI)) == []

    # Codes can be asked for until the last day; a new one voids the one shown before.
    reminder = citizen.last
    await citizen.press("Show my claim code", message=reminder)
    found = INVITE_CODE.search(reminder.plain)
    assert found
    old_code = found.group(0)
    assert "replaces" not in reminder.plain
    await citizen.press("Show my claim code", message=notice)
    found = INVITE_CODE.search(notice.plain)
    assert found
    code = found.group(0)
    assert code != old_code
    assert "It replaces the code shown before, which no longer works." in notice.plain
    await city.supervisor.send(f"/paid {old_code}")
    assert "No reward in your scope has this claim code" in city.supervisor.last.plain

    # Just after midnight it lapses, and the reporter is told in the morning (quiet hours).
    assert await at(dt.datetime(2027, 1, 22, 0, 1, tzinfo=SHANGHAI)) == []
    case = await bot.db.read.cases.by_number(number)
    assert case is not None
    lapsed = await bot.db.read.rewards.for_case(case.id)
    assert lapsed is not None
    assert lapsed.status is RewardStatus.EXPIRED
    told = await at(dt.datetime(2027, 1, 22, 8, 0, tzinfo=SHANGHAI))
    assert told == [
        f"The reward of 3,000 yuan for your report {number} was not claimed by 2027-01-21 "
        "and has lapsed."
    ]
    assert await at(dt.datetime(2027, 1, 23, 9, 0, tzinfo=SHANGHAI)) == []
    await city.supervisor.send(f"/paid {code}")
    assert f"The reward for case {number} lapsed on 2027-01-21" in city.supervisor.last.plain
    again = await bot.db.read.rewards.for_case(case.id)
    assert again is not None
    assert again.status is RewardStatus.EXPIRED
    await citizen.press_data(f"rw:1:code:{lapsed.id}", notice)  # a replayed press
    assert "lapsed on 2027-01-21" in citizen.callback_answers[-1]["text"]
    assert INVITE_CODE.search(notice.plain)  # the message was left as it was


async def test_a_lapsed_reward_is_caught_up_after_downtime_without_a_stale_reminder(
    bot: Bot,
) -> None:
    city = await City(bot).setup()
    citizen = bot.user(language="en")
    number = await anonymous_report(citizen, seed=85)
    await city.closed(number, Outcome(genuine=True, fine=200_000))
    await city.supervisor.press("Approve", message=proposal_for(city.supervisor, number))
    await bot.drain()
    mark = len(citizen.transcript)
    bot.clock.set(dt.datetime(2027, 2, 1, 10, 0, tzinfo=SHANGHAI))  # down since November
    assert (await bot.sweep())["sweep_rewards"] == 1
    await bot.drain()
    told = [m.plain for m in citizen.transcript[mark:]]
    assert len(told) == 1
    assert "30,000 yuan" in told[0]
    assert "has lapsed" in told[0]


async def test_a_refusal_and_a_changed_amount(bot: Bot) -> None:
    city = await City(bot).setup()
    supervisor = city.supervisor
    first, second = bot.user(language="en"), bot.user(language="en")
    one = await anonymous_report(first, seed=91)
    two = await anonymous_report(second, seed=92)
    await city.closed(one, Outcome(genuine=True, fine=50_000))
    await city.closed(two, Outcome(genuine=True, fine=50_000))

    # Refused with a reason: nothing changes for the reporter, the ledger keeps the reason.
    mark_first = len(first.transcript)
    await supervisor.press("Refuse", message=proposal_for(supervisor, one))
    assert "why is the reward refused?" in supervisor.last.plain
    await supervisor.send("The department had found the hazard before the report.")
    assert f"The reward for case {one} was refused" in supervisor.last.plain
    await bot.drain()
    assert first.transcript[mark_first:] == []
    case_one = await bot.db.read.cases.by_number(one)
    assert case_one is not None
    refused = await bot.db.read.rewards.for_case(case_one.id)
    assert refused is not None
    assert refused.status is RewardStatus.NONE
    assert refused.decision_note == "The department had found the hazard before the report."
    assert refused.refused_by == supervisor.user_id
    await city.fire_head.press("Approve", message=proposal_for(city.fire_head, one))
    assert "it is now: no reward" in city.fire_head.callback_answers[-1]["text"]
    again = await bot.db.read.rewards.for_case(case_one.id)
    assert again == refused

    # Another amount, with its reason.
    await supervisor.press("Change amount", message=proposal_for(supervisor, two))
    assert "type the reward in yuan (proposed: 7,500)" in supervisor.last.plain
    await supervisor.send("500000")
    assert "Please give an amount from 1 to 300,000 yuan" in supervisor.last.plain
    await supervisor.send("8000")
    assert "Why 8,000 yuan?" in supervisor.last.plain
    await supervisor.send("The report also named a second locked exit.")
    assert f"Approved: 8,000 yuan for case {two}" in supervisor.last.plain
    await bot.drain()
    assert "A reward of 8,000 yuan was approved" in second.last.plain
    case_two = await bot.db.read.cases.by_number(two)
    assert case_two is not None
    changed = await bot.db.read.rewards.for_case(case_two.id)
    assert changed is not None
    assert (changed.amount_proposed, changed.amount_approved) == (7_500, 8_000)
    assert changed.decision_note == "The report also named a second locked exit."

    # Others cannot decide: an officer, a citizen, a supervisor of another department.
    three = await anonymous_report(bot.user(language="en"), seed=93)
    await city.closed(three, Outcome(genuine=True, fine=50_000))
    proposal = proposal_for(supervisor, three)
    case_three = await bot.db.read.cases.by_number(three)
    assert case_three is not None
    reward = await bot.db.read.rewards.for_case(case_three.id)
    assert reward is not None
    for intruder in (city.officer, city.contact, city.housing_head, first):
        await intruder.send("/start")
        for action in ("ok", "chg", "no", "open", "code"):
            await intruder.press_data(f"rw:1:{action}:{reward.id}", intruder.last)
            assert intruder.callback_answers[-1]["text"] == "You are not allowed to do that."
        assert await bot.db.read.inputs.newest(intruder.user_id) is None
    assert await bot.db.read.rewards.for_case(case_three.id) == reward
    assert proposal.has_button("Approve")


async def test_the_outcome_questions_only_when_a_reward_is_possible(bot: Bot) -> None:
    city = await City(bot).setup()
    services = bot.services
    citizen = bot.user(language="en")

    # Not genuine: closed, recorded without a reward, no supervisor bothered.
    number = await anonymous_report(citizen, seed=101)
    await city.fixed(number, GENERAL)
    await city.officer.send(f"/case {number}")
    card = city.officer.last
    await city.officer.press("Verified: close the case", message=card)
    await city.officer.press("Not genuine", message=card)
    assert "recorded as not genuine (不属实): its reporter will get no reward." in card.plain
    assert "Status: fix awaiting review" in card.plain  # asked once more first
    await city.officer.press("Yes, close it", message=card)
    assert "Status: closed" in card.plain
    assert "No reward: the report was not genuine." in city.officer.callback_answers[-1]["text"]
    assert "Reward: no reward" in card.plain
    await bot.drain()
    assert not any("Reward proposal" in m.plain for m in city.supervisor.transcript)

    # Ordinary hazards: 500 each until the monthly cap of 1,000; then no questions at all.
    for seed in (102, 103):
        other = await anonymous_report(citizen, seed=seed)
        reward = await city.closed(other, Outcome(genuine=True), GENERAL)
        assert reward is not None
        assert reward.amount_proposed == 500
    capped = await anonymous_report(citizen, seed=104)
    case = await city.fixed(capped, GENERAL)
    assert not await rewards.should_ask(services, case)
    await city.officer.send(f"/case {capped}")
    card = city.officer.last
    await city.officer.press("Verified: close the case", message=card)
    await city.officer.press("Yes, close it", message=card)
    assert "Status: closed" in card.plain
    assert await bot.db.read.rewards.for_case(case.id) is None
    # The next month the cap starts again.
    bot.clock.set(dt.datetime(2026, 12, 1, 10, 0, tzinfo=SHANGHAI))
    december = await anonymous_report(citizen, seed=105)
    assert await rewards.should_ask(services, await city.fixed(december, GENERAL))

    # The enterprise's own safety officer reported it: no reward, so no questions.
    insider = bot.user(language="en")
    own = await report(insider, photo_seed=106)
    code = await create_invite(
        bot.db, InviteSpec(Role.ENTERPRISE, enterprise_id=city.enterprise_id), bot.clock.now()
    )
    await insider.send(f"/join {code}")
    case = await city.fixed(own, MAJOR)
    assert not await rewards.should_ask(services, case)
    await city.officer.send(f"/case {own}")
    card = city.officer.last
    await city.officer.press("Verified: close the case", message=card)
    await city.officer.press("Yes, close it", message=card)
    assert "Status: closed" in card.plain


async def test_a_stale_outcome_closes_nothing_twice(bot: Bot) -> None:
    city = await City(bot).setup()
    colleague = await staff(bot, InviteSpec(Role.OFFICER, "fire"))
    citizen = bot.user(language="en")
    number = await anonymous_report(citizen, seed=111)
    await city.fixed(number)
    await city.officer.send(f"/case {number}")
    mine = city.officer.last
    # Back from the fine: a number typed afterwards closes nothing.
    await city.officer.press("Verified: close the case", message=mine)
    await city.officer.press("Genuine", message=mine)
    await city.officer.press("Back", message=mine)
    assert mine.has_button("Verified: close the case")
    await city.officer.send("50000")
    assert "I was not expecting that" in city.officer.last.plain
    fixed = await bot.db.read.cases.by_number(number)
    assert fixed is not None
    assert fixed.status is Status.FIX_SUBMITTED
    await colleague.send(f"/case {number}")
    theirs = colleague.last
    await city.officer.press("Verified: close the case", message=mine)
    await city.officer.press("Genuine", message=mine)  # now typing the fine
    await colleague.press("Verified: close the case", message=theirs)
    await colleague.press("Genuine", message=theirs)
    await colleague.press("No fine", message=theirs)
    await colleague.press("Yes, close it", message=theirs)
    assert "Status: closed" in theirs.plain
    await city.officer.press("No fine", message=mine)
    assert (
        "This case has moved on (it is now: closed)" in (city.officer.callback_answers[-1]["text"])
    )
    await city.officer.send("50000")
    assert "This case has moved on (it is now: closed)" in city.officer.transcript[-2].plain
    assert "Status: closed" in city.officer.last.plain  # and the case as it is now
    case = await bot.db.read.cases.by_number(number)
    assert case is not None
    events = [e.kind for e in await bot.db.read.cases.events(case.id)]
    assert events.count("close") == 1
    reward = await bot.db.read.rewards.for_case(case.id)
    assert reward is not None
    assert (reward.fine, reward.amount_proposed, reward.proposed_by) == (
        None,
        3_000,
        colleague.user_id,
    )
    # A forged outcome on the closed case changes nothing either.
    await city.officer.press_data(f"cs:1:cls:{case.id}:{case.version}:g1:nf", mine)
    assert (
        "This cannot be done while the case is closed"
        in (city.officer.callback_answers[-1]["text"])
    )
    assert await bot.db.read.rewards.for_case(case.id) == reward


async def test_the_ledger_names_only_real_name_reporters(bot: Bot) -> None:
    city = await City(bot).setup()
    anonymous = bot.user(language="en", first_name="Wei")
    named = bot.user(language="en", first_name="Jing", username="chenjing88")
    hidden = await anonymous_report(anonymous, seed=121)
    known = await report(named, photo_seed=122)
    await city.closed(hidden, Outcome(genuine=True, fine=50_000))
    await city.closed(known, Outcome(genuine=True, fine=100_000))
    # The proposal of the real-name report does not name its reporter either.
    assert "Chen Jing" not in proposal_for(city.supervisor, known).plain
    assert "13912345678" not in proposal_for(city.supervisor, known).plain
    # Awaiting approval, no money goes to the reporter: the ledger names nobody yet.
    await city.supervisor.send("/rewardledger")
    early = city.supervisor.last.document or b""
    assert "Chen Jing" not in early.decode("utf-8-sig")
    assert "real name, shown once the reward is approved" in early.decode("utf-8-sig")
    known_id = (await case_of(bot, known)).id
    assert tables.identity_reads(bot.db, known_id) == []
    await city.supervisor.press("Approve", message=proposal_for(city.supervisor, known))

    await city.supervisor.send("/rewards")
    listing = city.supervisor.last.plain
    assert f"{known} · approved, not yet claimed · 15,000 yuan · claim by 2027-01-21" in listing
    assert f"{hidden} · proposed, awaiting approval · 7,500 yuan" in listing
    assert "Chen Jing" not in listing
    assert city.supervisor.last.has_button(f"Decide {hidden}")
    await city.supervisor.press(f"Decide {hidden}", message=city.supervisor.last)
    assert f"Reward proposal for case {hidden}" in city.supervisor.last.plain
    assert city.supervisor.last.has_button("Approve")

    await city.supervisor.send("/rewardledger")
    sent = city.supervisor.last
    assert sent.method == "sendDocument"
    assert sent.document_name == "rewards-2026-11-22.csv"
    data = sent.document or b""
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    header, lines = rows[0], {row[0]: dict(zip(rows[0], row, strict=True)) for row in rows[1:]}
    assert header[0] == "Case"
    assert set(lines) == {hidden, known}
    assert (lines[known]["Reporter"], lines[known]["Phone"]) == ("Chen Jing", "13912345678")
    assert (lines[hidden]["Reporter"], lines[hidden]["Phone"]) == ("anonymous", "")
    # The payout's look at the reporter is in the case's audit log; the anonymous one has none.
    assert tables.identity_reads(bot.db, known_id) == [(city.supervisor.user_id, "payout")]
    assert tables.identity_reads(bot.db, (await case_of(bot, hidden)).id) == []
    assert lines[known]["Approved (yuan)"] == "15000"
    assert lines[hidden]["Fine (yuan)"] == "50000"
    for row in lines.values():
        assert "Wei" not in row.values()
        assert "chenjing88" not in ",".join(row.values())

    # A department's supervisor sees their department's rewards only.
    await city.housing_head.send("/rewards")
    assert city.housing_head.last.plain == "There are no rewards in your scope yet."
    await city.housing_head.send("/rewardledger")
    housing = city.housing_head.last.document or b""
    assert len(housing.decode("utf-8-sig").strip().splitlines()) == 1  # the header only
    assert tables.identity_reads(bot.db, known_id) == [(city.supervisor.user_id, "payout")]
    await city.fire_head.send("/rewards")
    assert known in city.fire_head.last.plain

    # Nobody else gets the list or the file.
    for intruder in (city.officer, city.contact, named, anonymous):
        for command in ("/rewards", "/rewardledger"):
            await intruder.send(command)
            assert intruder.last.plain == "You are not allowed to do that."
            assert intruder.last.method == "sendMessage"


async def test_supervisors_have_the_reward_commands_in_their_menu(bot: Bot) -> None:
    supervisor = await staff(bot, InviteSpec(Role.SUPERVISOR))
    officer = await staff(bot, InviteSpec(Role.OFFICER, "fire"))
    await supervisor.send("/help")
    for command in ("/rewards", "/rewardledger", "/paid"):
        assert command in supervisor.last.plain
    await officer.send("/help")
    assert "/rewards" not in officer.last.plain


async def test_a_supervisor_does_not_decide_or_pay_their_own_reward(bot: Bot) -> None:
    city = await City(bot).setup()
    number = await anonymous_report(city.supervisor, seed=131)  # as a citizen
    await city.closed(number, Outcome(genuine=True, fine=50_000))
    await city.supervisor.press("Approve", message=proposal_for(city.supervisor, number))
    assert city.supervisor.callback_answers[-1]["text"] == "You are not allowed to do that."
    await city.fire_head.press("Approve", message=proposal_for(city.fire_head, number))
    await bot.drain()
    await city.supervisor.press("Show my claim code", message=city.supervisor.last)
    found = INVITE_CODE.search(city.supervisor.last.plain)
    assert found
    await city.supervisor.send(f"/paid {found.group(0)}")
    assert city.supervisor.last.plain == "You are not allowed to do that."
    await city.fire_head.send(f"/paid {found.group(0)}")
    assert f"Paid: 7,500 yuan for case {number}" in city.fire_head.last.plain
