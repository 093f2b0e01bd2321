"""Two people doing the same thing at the same moment: one effect, and the other is told.

Each race fires both updates through the real Application at once, over a fake Bot API a round
trip away (tests/support/races.py), then checks what everyone would notice: one change in the
case's history, one set of notifications, and the second presser's answer in their language,
with the case's card as it is now.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator

import pytest

from bot import (
    dates,
    notices,
    rectification,
    review,
    reward_notices,
    rewards,
    triage,
    verification,
)
from bot.buttons import Space, case_data, decode, decode_case, encode
from bot.cards import cards as card_texts
from bot.city import CityConfig
from bot.clock import ManualClock
from bot.errors import (
    AlreadyVerified,
    CaseLeft,
    CaseMoved,
    CaseMovedOn,
    InviteJoined,
    InviteUsed,
    ShaoziError,
)
from bot.i18n import Language, resolve_language
from bot.invites import InviteSpec, create_invite
from bot.labels import STATUS_LABELS
from bot.reports import AlreadyFollowing
from bot.settings import Settings
from bot.tracking import NotFixedNoted
from bot.vocabulary.grading import Colour
from bot.vocabulary.lifecycle import Level, Status
from bot.vocabulary.models import Case, ReviewDecision
from bot.vocabulary.roles import Role
from fakebotapi import FakeBotAPI, FakeUser, SentMessage
from tests.support import tables
from tests.support.cases import LAOCHENG, enterprise_named, plan_if_owed, report
from tests.support.chat import Bot, since, texts
from tests.support.confidentiality import check_confidentiality
from tests.support.images import jpeg
from tests.support.people import account, make_admin, staff, subscriber
from tests.support.races import (
    Marks,
    RoundTrip,
    answers,
    at_once,
    fresh,
    no_apology,
    said,
    translated,
)


@pytest.fixture
async def bot(
    api: FakeBotAPI, settings: Settings, clock: ManualClock, city: CityConfig
) -> AsyncIterator[Bot]:
    """The bot, its Bot API calls a round trip away, so that updates can overlap; none of them
    made while a database transaction was open."""
    trip = RoundTrip(api)
    running = Bot(api, settings, clock, city, request=trip)
    await running.start()
    trip.db = running.db
    yield running
    if running.app is not None:
        await check_confidentiality(running)
    await running.stop()
    assert not trip.in_transaction, trip.in_transaction


@pytest.fixture(autouse=True)
def _no_errors(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """No race ends in an error the handlers did not expect (a traceback in the log)."""
    yield
    failures = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not failures, [r.getMessage() for r in failures]


async def case_of(bot: Bot, number: str) -> Case:
    case = await bot.db.read.cases.by_number(number)
    assert case is not None
    return case


def winner_and_loser(
    bot: Bot, first: FakeUser, second: FakeUser, lost: ShaoziError
) -> tuple[FakeUser, FakeUser]:
    """The one of the two whose press worked, and the one told ``lost`` in their language."""
    told = [u for u in (first, second) if answers(u) and answers(u)[-1] == said(bot, u, lost)]
    assert len(told) == 1, (answers(first)[-1:], answers(second)[-1:])
    loser = told[0]
    return (second if loser is first else first), loser


async def two_officers(bot: Bot) -> tuple[FakeUser, FakeUser]:
    """Two officers of the fire department: one reads English, the other Traditional Chinese."""
    one = await staff(bot, InviteSpec(Role.OFFICER, "fire"))
    other = await staff(bot, InviteSpec(Role.OFFICER, "fire"), language="zh-hant")
    return one, other


def data_of(message: SentMessage, action: str) -> str:
    """The data of the message's first case button for ``action``."""
    for row in message.buttons:
        for _label, data in row:
            pressed = decode_case(data)
            if data and pressed and pressed.action == action:
                return data
    raise AssertionError(f"no {action!r} button in {message.buttons}")


def data_of_report(message: SentMessage, action: str, arg: str | None = None) -> str:
    """The data of the message's report button for ``action`` (and its argument)."""
    for row in message.buttons:
        for _label, data in row:
            pressed = decode(data)
            if data and pressed and pressed.action == action and arg in (None, *pressed.args):
                return data
    raise AssertionError(f"no {action!r} button in {message.buttons}")


def last_said(user: FakeUser) -> list[str]:
    """The texts of the messages the bot sent the user after their last action."""
    return [m.plain for m in user.new_messages()]


async def opened(officer: FakeUser, number: str) -> SentMessage:
    """The officer's card of the case as it is now (/case)."""
    await officer.send(f"/case {number}")
    return officer.last


# Two officers on one case -----------------------------------------------------------------------


class Workflow:
    """A fire department's case with two officers on it, an enterprise with its contact, and
    the reporter; moved through the core up to the step the race is about."""

    async def setup(self, bot: Bot) -> Workflow:
        self.bot = bot
        self.enterprise_id = await enterprise_named(
            bot, "Golden Dragon Restaurant", "91330100MA27XL0T4C"
        )
        self.one, self.other = await two_officers(bot)
        self.contact = await staff(
            bot, InviteSpec(Role.ENTERPRISE, enterprise_id=self.enterprise_id)
        )
        self.citizen = bot.user(language="en")
        self.number = await report(self.citizen)
        await bot.drain()
        return self

    @property
    def officers(self) -> tuple[FakeUser, FakeUser]:
        return self.one, self.other

    async def case(self) -> Case:
        return await case_of(self.bot, self.number)

    async def accepted(self, level: Level = Level.GENERAL) -> Case:
        case = await self.case()
        actor = await account(self.bot, self.one)
        return await triage.accept(
            self.bot.services, actor, case.id, case.version, Colour.ORANGE, level
        )

    async def ordered(self, level: Level = Level.GENERAL) -> Case:
        await self.accepted(level)
        case = await self.case()
        deadline = dates.end_of_day(self.bot.services, 15)
        actor = await account(self.bot, self.one)
        return await triage.assign(
            self.bot.services, actor, case.id, case.version, self.enterprise_id, deadline
        )

    async def fixed(self, level: Level = Level.GENERAL) -> Case:
        case = await self.ordered(level)
        contact = await account(self.bot, self.contact)
        case = await plan_if_owed(self.bot, contact, case)
        return await rectification.submit_fix(self.bot.services, contact, case.id, [], "Fixed.")

    async def extension_asked(self) -> Case:
        case = await self.ordered()
        contact = await account(self.bot, self.contact)
        until = dates.end_of_day(self.bot.services, 30)
        return await rectification.request_extension(
            self.bot.services, contact, case.id, until, "Waiting for parts."
        )

    async def cards(self) -> dict[FakeUser, SentMessage]:
        """Each officer's card of the case as it is now."""
        await self.bot.drain()
        return {officer: await opened(officer, self.number) for officer in self.officers}

    def loser(self, status: Status) -> tuple[FakeUser, FakeUser]:
        """The officer whose press changed the case, and the one told it had moved on."""
        moved = CaseMovedOn(status=STATUS_LABELS[status])
        return winner_and_loser(self.bot, self.one, self.other, moved)


async def test_two_officers_accept_a_case_at_once(bot: Bot) -> None:
    flow = await Workflow().setup(bot)
    cards = {officer: officer.last for officer in flow.officers}  # the new case's card
    for officer, card in cards.items():
        await officer.press(data_of(card, "acc"), message=card)  # which colour?
        await officer.press(data_of(card, "acc"), message=card)  # red; which level?
    marks, mark_c = Marks(bot), len(flow.citizen.transcript)

    await at_once(*(o.press(data_of(card, "acc"), message=card) for o, card in cards.items()))

    assert marks.events() == ["accept"]
    assert marks.recipients() == [flow.citizen.user_id]
    now = await flow.case()
    assert (now.status, now.colour) == (Status.ACCEPTED, Colour.RED)
    winner, loser = flow.loser(Status.ACCEPTED)
    assert fresh(bot, loser, cards[loser], now)  # the case as it is now, not as it was
    assert fresh(bot, winner, cards[winner], now)
    await bot.drain()
    accepted = f"Your report {flow.number} was accepted"
    assert texts(since(flow.citizen, mark_c)).count(accepted) == 1
    no_apology(bot, *flow.officers, flow.citizen)


async def test_two_officers_order_the_fix_at_once(bot: Bot) -> None:
    flow = await Workflow().setup(bot)
    case = await flow.accepted()
    cards = await flow.cards()
    choices = {}
    for officer, card in cards.items():
        await officer.press(data_of(card, "asg"), message=card)
        await officer.send("golden dragon")
        choice = officer.last
        await officer.press(data_of(choice, "asge"), message=choice)
        choices[officer] = choice
    marks = Marks(bot)

    await at_once(*(o.press(data_of(m, "ordd"), message=m) for o, m in choices.items()))

    assert marks.events() == ["assign"]
    assert sorted(marks.recipients()) == sorted([flow.contact.user_id, flow.citizen.user_id])
    now = await flow.case()
    assert (now.status, now.version) == (Status.ASSIGNED, case.version + 1)
    _winner, loser = flow.loser(Status.ASSIGNED)
    assert fresh(bot, loser, choices[loser], now)
    no_apology(bot, *flow.officers)


async def test_two_officers_close_a_case_at_once(bot: Bot) -> None:
    flow = await Workflow().setup(bot)
    supervisor = await staff(bot, InviteSpec(Role.SUPERVISOR))
    await flow.fixed(Level.MAJOR)
    cards = await flow.cards()
    for officer, card in cards.items():
        await officer.press(data_of(card, "cls"), message=card)  # was it genuine?
        await officer.press(data_of(card, "cls"), message=card)  # yes; and the fine?
        await officer.press(data_of(card, "cls"), message=card)  # none; are you sure?
    marks = Marks(bot)

    await at_once(*(o.press(data_of(card, "cls"), message=card) for o, card in cards.items()))

    assert marks.events() == ["close"]
    # The enterprise and the reporter hear of it, the supervisor gets one reward proposal.
    assert sorted(marks.recipients()) == sorted(
        [flow.contact.user_id, flow.citizen.user_id, supervisor.user_id]
    )
    now = await flow.case()
    assert now.status is Status.CLOSED
    assert tables.count(bot.db, "rewards") == 1
    _winner, loser = flow.loser(Status.CLOSED)
    assert fresh(bot, loser, cards[loser], now)
    no_apology(bot, *flow.officers)


async def test_two_officers_return_a_fix_at_once(bot: Bot) -> None:
    flow = await Workflow().setup(bot)
    await flow.fixed()
    cards = await flow.cards()
    deadlines = {}
    for officer, card in cards.items():
        await officer.press(data_of(card, "ret"), message=card)
        await officer.send("The exit is still chained.")
        deadlines[officer] = officer.last
    marks = Marks(bot)

    await at_once(*(o.press(data_of(m, "dl"), message=m) for o, m in deadlines.items()))

    assert marks.events() == ["return"]
    assert sorted(marks.recipients()) == sorted([flow.contact.user_id, flow.citizen.user_id])
    now = await flow.case()
    assert now.status is Status.ASSIGNED
    _winner, loser = flow.loser(Status.ASSIGNED)
    assert fresh(bot, loser, deadlines[loser], now)
    no_apology(bot, *flow.officers)


async def test_two_officers_transfer_a_case_at_once(bot: Bot) -> None:
    flow = await Workflow().setup(bot)
    housing = await staff(bot, InviteSpec(Role.OFFICER, "housing"))
    case = await flow.case()
    cards = await flow.cards()
    for officer, card in cards.items():
        await officer.press(data_of(card, "trf"), message=card)
        await officer.press(case_data("trf", case.id, case.version, "housing"), message=card)
        officer.new_messages()
    marks = Marks(bot)

    await at_once(*(o.send("The crack is in the structure.") for o in flow.officers))

    assert marks.events() == ["transfer"]
    assert sorted(marks.recipients()) == sorted([housing.user_id, flow.citizen.user_id])
    now = await flow.case()
    assert (now.department, now.status) == ("housing", Status.SUBMITTED)
    # The case left the department: the one who typed second may no longer see it, and is
    # told so, not that they were never allowed.
    told = {o: last_said(o) for o in flow.officers}
    lost = [o for o in flow.officers if told[o] == [said(bot, o, CaseLeft())]]
    assert len(lost) == 1, told
    no_apology(bot, *flow.officers)


async def test_two_officers_merge_a_duplicate_at_once(bot: Bot) -> None:
    flow = await Workflow().setup(bot)
    first = bot.user(language="en")
    target = await report(first, photo_seed=7, description="The same locked exit, seen again.")
    await bot.drain()
    cards = await flow.cards()
    for officer, card in cards.items():
        await officer.press(data_of(card, "dup"), message=card)
        officer.new_messages()
    marks, mark_c = Marks(bot), len(flow.citizen.transcript)

    await at_once(*(o.send(target) for o in flow.officers))

    assert marks.events() == ["merge"]
    assert marks.recipients() == [flow.citizen.user_id]
    now = await flow.case()
    assert now.status is Status.MERGED
    target_case = await case_of(bot, target)
    assert await bot.db.read.cases.followers(target_case.id) == [flow.citizen.user_id]
    told = {o: last_said(o) for o in flow.officers}
    moved = [o for o in flow.officers if told[o][:1] == [said(bot, o, CaseMoved(now))]]
    assert len(moved) == 1, told
    # After the refusal, the case's card as it is now.
    loser = moved[0]
    assert len(told[loser]) == 2
    assert fresh(bot, loser, loser.last, now)
    await bot.drain()
    assert texts(since(flow.citizen, mark_c)).count(f"You now follow {target}") == 1
    no_apology(bot, *flow.officers)


@pytest.mark.parametrize(
    ("one_says", "other_says"),
    [
        pytest.param("exy", "exn", id="grant against refuse"),
        pytest.param("exy", "exy", id="grant twice"),
    ],
)
async def test_two_officers_decide_an_extension_at_once(
    bot: Bot, one_says: str, other_says: str
) -> None:
    flow = await Workflow().setup(bot)
    asked = await flow.extension_asked()
    cards = await flow.cards()
    marks, mark_e = Marks(bot), len(flow.contact.transcript)

    await at_once(
        flow.one.press(data_of(cards[flow.one], one_says), message=cards[flow.one]),
        flow.other.press(data_of(cards[flow.other], other_says), message=cards[flow.other]),
    )

    [decision] = marks.events()
    assert decision in ("grant_extension", "refuse_extension")
    granted = decision == "grant_extension"
    # The enterprise hears the decision; the reporter only of a longer deadline.
    expected = [flow.contact.user_id] + ([flow.citizen.user_id] if granted else [])
    assert sorted(marks.recipients()) == sorted(expected)
    now = await flow.case()
    assert now.extension_until is None
    assert now.deadline == (asked.extension_until if granted else asked.deadline)
    _winner, loser = flow.loser(Status.ASSIGNED)
    assert fresh(bot, loser, cards[loser], now)
    await bot.drain()
    assert len(since(flow.contact, mark_e)) == 1
    no_apology(bot, *flow.officers)


# Corrections: each typed reason sent by two officers at once ------------------------------------


async def both_typing(
    flow: Workflow, presses: list[tuple[str, ...]]
) -> dict[FakeUser, SentMessage]:
    """Each officer opens the case's card and presses the buttons of ``presses`` (the action
    and its arguments, on the case as it is), until the bot asks them to type; their cards."""
    cards = await flow.cards()
    case = await flow.case()
    for officer, card in cards.items():
        for action, *args in presses:
            await officer.press_data(case_data(action, case.id, case.version, *args), card)
        officer.new_messages()
    return cards


async def test_two_officers_pass_an_order_to_another_enterprise_at_once(bot: Bot) -> None:
    flow = await Workflow().setup(bot)
    other = await enterprise_named(bot, "Silver Phoenix Hotel", "91350100M000100Y43")
    new_contact = await staff(bot, InviteSpec(Role.ENTERPRISE, enterprise_id=other))
    await flow.ordered()
    await both_typing(flow, [("rea", str(other))])
    marks = Marks(bot)

    await at_once(*(o.send("The hotel runs these premises.") for o in flow.officers))

    assert marks.events() == ["reassign"]
    # The old enterprise is told once that its order is withdrawn, the new one gets it once.
    assert sorted(marks.recipients()) == sorted([flow.contact.user_id, new_contact.user_id])
    now = await flow.case()
    assert now.enterprise_id == other
    told = {o: last_said(o) for o in flow.officers}
    moved = [o for o in flow.officers if told[o][:1] == [said(bot, o, CaseMoved(now))]]
    assert len(moved) == 1, told
    assert fresh(bot, moved[0], moved[0].last, now)
    no_apology(bot, *flow.officers)


async def test_two_officers_change_the_deadline_at_once(bot: Bot) -> None:
    flow = await Workflow().setup(bot)
    await flow.ordered()
    await both_typing(flow, [("rdl",), ("rdl", "30")])
    marks = Marks(bot)

    await at_once(*(o.send("The inspection found more to do.") for o in flow.officers))

    assert marks.events() == ["change_deadline"]
    assert marks.recipients() == [flow.contact.user_id]  # told of the new deadline once
    now = await flow.case()
    assert now.deadline == dates.end_of_day(bot.services, 30)
    told = {o: last_said(o) for o in flow.officers}
    moved = [o for o in flow.officers if told[o][:1] == [said(bot, o, CaseMoved(now))]]
    assert len(moved) == 1, told
    assert fresh(bot, moved[0], moved[0].last, now)
    no_apology(bot, *flow.officers)


async def test_two_officers_change_the_category_at_once(bot: Bot) -> None:
    flow = await Workflow().setup(bot)
    street = await staff(bot, InviteSpec(Role.OFFICER, "laocheng_office"))
    await flow.accepted()
    # Crowded venues in Laocheng are its street office's: the case leaves the fire service.
    await both_typing(flow, [("rct",), ("rct", "crowded_venues")])
    marks, mark_c = Marks(bot), len(flow.citizen.transcript)

    await at_once(*(o.send("A karaoke bar, not a restaurant.") for o in flow.officers))

    assert marks.events() == ["change_category"]
    assert sorted(marks.recipients()) == sorted([street.user_id, flow.citizen.user_id])
    now = await flow.case()
    assert (now.category, now.department, now.status) == (
        "crowded_venues",
        "laocheng_office",
        Status.ACCEPTED,
    )
    told = {o: last_said(o) for o in flow.officers}
    lost = [o for o in flow.officers if told[o] == [said(bot, o, CaseLeft())]]
    assert len(lost) == 1, told
    await bot.drain()
    assert texts(since(flow.citizen, mark_c)).count("was corrected to") == 1
    no_apology(bot, *flow.officers)


async def test_two_officers_confirm_not_accepting_a_case_at_once(bot: Bot) -> None:
    flow = await Workflow().setup(bot)
    cards = await both_typing(flow, [("rej",), ("rej", "not_hazard")])
    marks, mark_c = Marks(bot), len(flow.citizen.transcript)

    await at_once(
        *(o.press(data_of(card, "rej"), message=card) for o, card in cards.items())  # yes
    )

    assert marks.events() == ["reject"]
    assert marks.recipients() == [flow.citizen.user_id]
    now = await flow.case()
    assert now.status is Status.REJECTED
    _winner, loser = flow.loser(Status.REJECTED)
    assert fresh(bot, loser, cards[loser], now)
    await bot.drain()
    assert texts(since(flow.citizen, mark_c)).count("was not accepted") == 1
    no_apology(bot, *flow.officers)


# Rewards ----------------------------------------------------------------------------------------


async def a_proposed_reward(bot: Bot) -> tuple[Workflow, FakeUser, FakeUser, rewards.Reward]:
    """A major hazard's case closed as genuine with a fine: its reward awaits two supervisors."""
    flow = await Workflow().setup(bot)
    one = await staff(bot, InviteSpec(Role.SUPERVISOR))
    other = await staff(bot, InviteSpec(Role.SUPERVISOR), language="zh-hans")
    case = await flow.fixed(Level.MAJOR)
    officer = await account(bot, flow.one)
    outcome = rewards.Outcome(genuine=True, fine=50_000)
    _closed, reward = await rewards.close_case(
        bot.services, officer, case.id, case.version, outcome
    )
    assert reward is not None
    await bot.drain()
    return flow, one, other, reward


async def test_two_supervisors_approve_a_reward_at_once(bot: Bot) -> None:
    flow, one, other, reward = await a_proposed_reward(bot)
    approve = reward_notices.reward_data("ok", reward)
    proposals = {s: s.last for s in (one, other)}
    marks = Marks(bot)

    await at_once(*(s.press(approve, message=m) for s, m in proposals.items()))

    assert marks.recipients() == [flow.citizen.user_id]  # told of the reward once
    approved = await bot.db.read.rewards.for_case(reward.case_id)
    assert approved is not None
    assert approved.status is rewards.RewardStatus.APPROVED
    decided = rewards.RewardDecided(
        status=reward_notices.STATUS_LABELS[rewards.RewardStatus.APPROVED]
    )
    winner, loser = winner_and_loser(bot, one, other, decided)
    assert approved.approved_by == winner.user_id
    assert not proposals[loser].buttons  # nothing left to decide on the loser's proposal
    no_apology(bot, one, other)


async def test_a_claim_code_used_twice_at_once(bot: Bot) -> None:
    flow, one, other, reward = await a_proposed_reward(bot)
    await rewards.approve(bot.services, await account(bot, one), reward.id)
    reporter = await account(bot, flow.citizen)
    _before, case, code = await rewards.issue_code(bot.services, reporter, reward.id)
    await bot.drain()
    for supervisor in (one, other):
        supervisor.new_messages()
    marks = Marks(bot)

    await at_once(*(s.send(f"/paid {code}") for s in (one, other)))

    assert marks.recipients() == [flow.citizen.user_id]  # told of the payment once
    paid = await bot.db.read.rewards.for_case(reward.case_id)
    assert paid is not None
    assert paid.status is rewards.RewardStatus.PAID
    winner = one if paid.paid_by == one.user_id else other
    loser = other if winner is one else one
    [won] = last_said(winner)
    assert case.number in won
    paid_on = card_texts(bot.services).date(paid.paid_at)
    used = rewards.ClaimCodeUsed(number=case.number, date=paid_on)
    assert last_said(loser) == [said(bot, loser, used)]
    no_apology(bot, one, other)


# Invites, broadcasts --------------------------------------------------------------------------


async def test_an_invite_code_used_by_two_people_at_once(bot: Bot) -> None:
    code = await create_invite(bot.db, InviteSpec(Role.OFFICER, "fire"), bot.clock.now())
    one, other = bot.user(language="en"), bot.user(language="zh-hant")

    await at_once(*(u.send(f"/join {code}") for u in (one, other)))

    members = tables.rows(bot.db, "SELECT user_id FROM memberships")
    assert len(members) == 1
    winner = one if members[0]["user_id"] == one.user_id else other
    loser = other if winner is one else one
    [joined] = [m.plain for m in winner.transcript]
    assert translated(bot, winner, "What you can do:") in joined
    assert [m.plain for m in loser.transcript] == [said(bot, loser, InviteUsed())]
    no_apology(bot, one, other)


async def test_an_invite_code_sent_twice_at_once(bot: Bot) -> None:
    code = await create_invite(bot.db, InviteSpec(Role.OFFICER, "fire"), bot.clock.now())
    user = bot.user(language="zh-hant")

    await at_once(user.send(f"/join {code}"), user.send(f"/join {code}"))

    assert tables.count(bot.db, "memberships") == 1
    told = [m.plain for m in user.transcript]
    assert len(told) == 2
    assert said(bot, user, InviteJoined()) in told  # not "used already: ask for a new one"
    no_apology(bot, user)


async def test_a_broadcast_confirmed_twice_at_once(bot: Bot) -> None:
    admin = await make_admin(bot)
    readers = [await subscriber(bot, language) for language in ("en", "zh-hant")]
    await admin.send("/broadcast")
    await admin.send("Typhoon warning: stay indoors tonight.")
    await admin.press("All subscribers", message=admin.last)
    preview = admin.last
    confirm = preview.buttons[0][0][1]
    assert confirm is not None
    marks = Marks(bot)

    await at_once(admin.press(confirm, message=preview), admin.press(confirm, message=preview))

    assert sorted(marks.recipients()) == sorted(r.user_id for r in readers)
    sent = translated(bot, admin, "This broadcast has been sent already.")
    assert answers(admin)[-2:].count(sent) == 1
    await bot.drain()
    for reader in readers:
        assert len([m for m in reader.transcript if m.plain.startswith("📢")]) == 1
    no_apology(bot, admin, *readers)


# A citizen's own buttons ------------------------------------------------------------------------


async def offered_to_follow(citizen: FakeUser, number: str) -> SentMessage:
    """The citizen reports the same hazard again; the bot offers to follow case ``number``."""
    await citizen.send("/report")
    await citizen.press(data_of_report(citizen.last, "cat", "fire"))
    await citizen.send_location(*LAOCHENG)
    await citizen.send("The exit is locked again.")
    await citizen.send_photo(jpeg(seed=1))
    await citizen.press(data_of_report(citizen.last, "done"))
    await citizen.press(data_of_report(citizen.last, "anon"))
    offer = citizen.last
    assert any(number in label for row in offer.buttons for label, _data in row), offer.buttons
    return offer


async def test_i_see_this_too_pressed_twice_at_once(bot: Bot) -> None:
    flow = await Workflow().setup(bot)
    case = await flow.case()
    citizen = bot.user(language="zh-hant")
    offer = await offered_to_follow(citizen, flow.number)
    follow = data_of_report(offer, "dup")
    marks = Marks(bot)
    citizen.new_messages()

    await at_once(citizen.press(follow, message=offer), citizen.press(follow, message=offer))

    assert marks.events() == ["follow"]
    assert await bot.db.read.cases.followers(case.id) == [citizen.user_id]
    told = last_said(citizen)
    thanks = translated(
        bot,
        citizen,
        "Thank you. You now follow case {number} and will get its updates; "
        "your own draft was discarded. See /my.",
    ).format(number=flow.number)
    assert told.count(thanks) == 1, told
    already = said(bot, citizen, AlreadyFollowing(number=flow.number))
    # The other press is told so once: as a message when it got past the check of the draft
    # before the first press had dropped it, else as the button's alert.
    assert [*told, *answers(citizen)].count(already) == 1, (told, answers(citizen))
    # A third press (from a copy still showing the button), after both: the same answer.
    await citizen.press_data(follow, offer)
    assert answers(citizen)[-1] == already
    no_apology(bot, citizen)


async def test_two_citizens_follow_one_case_at_once(bot: Bot) -> None:
    flow = await Workflow().setup(bot)
    case = await flow.case()
    citizens = [bot.user(language="en"), bot.user(language="zh-hans")]
    offers = {c: await offered_to_follow(c, flow.number) for c in citizens}
    marks = Marks(bot)

    await at_once(*(c.press(data_of_report(m, "dup"), message=m) for c, m in offers.items()))

    assert marks.events() == ["follow", "follow"]
    followers = await bot.db.read.cases.followers(case.id)
    assert sorted(followers) == sorted(c.user_id for c in citizens)
    for citizen in citizens:
        await citizen.send("/my")
        assert flow.number in citizen.last.plain
    no_apology(bot, *citizens)


async def test_not_fixed_pressed_twice_at_once(bot: Bot) -> None:
    flow = await Workflow().setup(bot)
    case = await flow.fixed()
    officer = await account(bot, flow.one)
    await verification.close(bot.services, officer, case.id, case.version)
    await bot.drain()
    question = flow.citizen.last
    not_fixed = encode(Space.VERIFY, "no", case.id)
    flow.citizen.new_messages()

    # "No, it is not fixed", twice: asked once what is still wrong.
    await at_once(*(flow.citizen.press(not_fixed, message=question) for _ in range(2)))

    prompts = last_said(flow.citizen)
    assert len(prompts) == 1, prompts
    assert answers(flow.citizen)[-2:].count(said(bot, flow.citizen, NotFixedNoted())) == 1
    prompt = flow.citizen.last
    marks, officer_marks = Marks(bot), {o: len(o.transcript) for o in flow.officers}

    # "Send it back without details", twice: back with the department once.
    send_back = prompt.buttons[0][0][1]
    assert send_back is not None
    await at_once(*(flow.citizen.press(send_back, message=prompt) for _ in range(2)))

    assert marks.events() == ["reopen"]
    assert sorted(marks.recipients()) == sorted(o.user_id for o in flow.officers)
    now = await flow.case()
    assert (now.status, now.reopened) == (Status.FIX_SUBMITTED, True)
    told = last_said(flow.citizen)
    assert len(told) == 2, told
    already = said(bot, flow.citizen, AlreadyVerified())
    assert already in told
    # Either button once more (from a copy still showing it), after both: the same answer.
    for again, message in ((send_back, prompt), (not_fixed, question)):
        await flow.citizen.press_data(again, message)
        assert answers(flow.citizen)[-1] == already
    await bot.drain()
    for o in flow.officers:
        headline = translated(bot, o, "The reporter says case {number} is not fixed")
        news = texts(since(o, officer_marks[o]))
        assert news.count(headline.format(number=flow.number)) == 1, news
    no_apology(bot, flow.citizen)


async def test_two_contacts_send_a_major_hazards_measures_at_once(bot: Bot) -> None:
    """Two contacts of the enterprise type its interim control measures (临时管控措施) at once:
    one is kept and shown to the officers, the other is told it was sent already."""
    flow = await Workflow().setup(bot)
    second = await staff(bot, InviteSpec(Role.ENTERPRISE, enterprise_id=flow.enterprise_id))
    case = await flow.ordered(Level.MAJOR)
    await bot.drain()
    contacts = (flow.contact, second)
    for contact in contacts:
        order = next(m for m in contact.transcript if m.has_button("interim control measures"))
        await contact.press(data_of(order, "msr"), message=order)
    marks = Marks(bot)
    measures = ("The exit is cordoned off.", "A guard stands at the exit day and night.")

    await at_once(*(c.send(text) for c, text in zip(contacts, measures, strict=True)))

    assert marks.events() == ["measures"]
    assert sorted(marks.recipients()) == sorted(o.user_id for o in flow.officers)
    now = await flow.case()
    assert now.measures in measures
    assert now.version == case.version + 1
    replies = [c.last.plain for c in contacts]
    assert sum("were sent to the department" in text for text in replies) == 1
    assert sum("have been sent already" in text for text in replies) == 1
    no_apology(bot, *contacts)


# A review (复核): asked for once, decided once --------------------------------------------------


async def rejected(bot: Bot) -> tuple[Workflow, SentMessage]:
    """The workflow's case not accepted; the notice that offers its reporter a review."""
    flow = await Workflow().setup(bot)
    case = await flow.case()
    actor = await account(bot, flow.one)
    await triage.reject(bot.services, actor, case.id, case.version, "@not_hazard")
    await bot.drain()
    notice = flow.citizen.last
    assert notice.has_button("Ask for a review")
    return flow, notice


async def test_a_review_asked_for_twice_at_once(bot: Bot) -> None:
    flow, notice = await rejected(bot)
    await staff(bot, InviteSpec(Role.SUPERVISOR, "fire"))
    citizen = flow.citizen
    await citizen.send(f"/status {flow.number}")
    status = citizen.last
    ask = notice.buttons[0][0][1]
    assert ask is not None
    citizen.new_messages()

    # The button on the notice and the one in /status, at once: asked once for the reason.
    await at_once(citizen.press(ask, message=notice), citizen.press(ask, message=status))

    prompts = last_said(citizen)
    assert len(prompts) == 1, prompts
    owed = said(bot, citizen, review.ReviewReasonOwed(number=flow.number))
    assert answers(citizen)[-2:].count(owed) == 1
    marks = Marks(bot)
    await citizen.send("The exit is chained every night.")
    assert marks.events() == ["request_review"]

    no_apology(bot, citizen)


async def test_a_review_requested_through_the_core_twice_at_once(bot: Bot) -> None:
    flow, _notice = await rejected(bot)
    supervisor = await staff(bot, InviteSpec(Role.SUPERVISOR))
    case = await flow.case()
    reporter = await account(bot, flow.citizen)
    marks = Marks(bot)

    results = await asyncio.gather(
        *(review.request(bot.services, reporter, case.id, f"Reason {n}.") for n in range(2)),
        return_exceptions=True,
    )

    assert sorted(type(r).__name__ for r in results) == ["Case", "ReviewAsked"], results
    assert marks.events() == ["request_review"]
    assert marks.recipients() == [supervisor.user_id]


async def test_two_supervisors_decide_a_review_at_once(bot: Bot) -> None:
    flow, notice = await rejected(bot)
    one = await staff(bot, InviteSpec(Role.SUPERVISOR, "fire"))
    other = await staff(bot, InviteSpec(Role.SUPERVISOR, "fire"), language="zh-hant")
    await flow.citizen.press("Ask for a review", message=notice)
    await flow.citizen.send("The exit is chained every night.")
    await bot.drain()
    cards = {supervisor: supervisor.last for supervisor in (one, other)}
    presses = {
        one: data_of_report(cards[one], "ro"),  # reopen …
        other: data_of_report(cards[other], "up"),  # … and uphold, at the same moment
    }
    marks, mark_c = Marks(bot), len(flow.citizen.transcript)

    await at_once(*(s.press(data, message=cards[s]) for s, data in presses.items()))

    events = marks.events()
    assert events in (["review_reopen"], ["uphold"]), events
    case = await flow.case()
    decided = await bot.db.read.reviews.for_case(case.id)
    assert decided is not None
    assert decided.decision is not None
    reopened = decided.decision is ReviewDecision.REOPENED
    assert case.status is (Status.SUBMITTED if reopened else Status.REJECTED)
    winner, _loser = winner_and_loser(bot, one, other, review.ReviewDecided(decided))
    assert decided.decided_by == winner.user_id
    for supervisor, card in cards.items():  # both cards say what was decided, and no more
        language = resolve_language(None, supervisor.language_code, Language.ZH_HANS)
        tr = bot.services.catalogs.translator(language)
        assert notices.review_decided_line(tr, decided.decision) in card.plain
        assert not any((d or "").startswith("rv:") for row in card.buttons for _l, d in row)
    await bot.drain()
    told = texts(since(flow.citizen, mark_c))
    outcome = "and reopened it" if reopened else "and upheld the department's decision"
    assert told.count(outcome) == 1, told
    no_apology(bot, flow.citizen)


@pytest.mark.parametrize(
    "first", [ReviewDecision.UPHELD, ReviewDecision.REOPENED], ids=["uphold", "reopen"]
)
async def test_both_decisions_of_a_review_through_the_core_at_once(
    bot: Bot, first: ReviewDecision
) -> None:
    """Whichever decision the database takes first, the other is refused as decided: the
    reopened case is in no state to be upheld; the upheld review is decided already (fired in
    both orders)."""
    flow, _notice = await rejected(bot)
    supervisors = [await staff(bot, InviteSpec(Role.SUPERVISOR, "fire")) for _ in range(2)]
    case = await flow.case()
    reporter = await account(bot, flow.citizen)
    await review.request(bot.services, reporter, case.id, "The exit is chained.")
    asked = await bot.db.read.reviews.for_case(case.id)
    assert asked is not None
    second = next(d for d in ReviewDecision if d is not first)
    actors = [await account(bot, s) for s in supervisors]
    marks = Marks(bot)

    results = await asyncio.gather(
        review.decide(bot.services, actors[0], asked.id, first),
        review.decide(bot.services, actors[1], asked.id, second),
        return_exceptions=True,
    )

    won = [n for n, r in enumerate(results) if not isinstance(r, BaseException)]
    assert len(won) == 1, results
    assert isinstance(results[1 - won[0]], review.ReviewDecided), results
    assert len(marks.events()) == 1
    decided = await bot.db.read.reviews.for_case(case.id)
    assert decided is not None
    assert decided.decision is (first, second)[won[0]]
    assert decided.decided_by == supervisors[won[0]].user_id
