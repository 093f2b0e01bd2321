"""Review (复核): a reporter whose case was not accepted, or found not genuine when it was closed,
asks once for a supervisor to look at it again; the supervisor upholds or reopens, and the
reporter is told. The race of two requests and of two decisions is in tests/test_races.py.
"""

from __future__ import annotations

import pytest

from bot import rectification, review, rewards
from bot.i18n import Language
from bot.invites import InviteSpec
from bot.vocabulary.grading import Colour
from bot.vocabulary.lifecycle import Level, Status
from bot.vocabulary.models import ReviewDecision, ReviewGround
from bot.vocabulary.roles import Role
from fakebotapi import FakeUser, SentMessage
from tests.support.cases import accepted_and_ordered, enterprise_named, plan_if_owed, report
from tests.support.chat import Bot, since, texts
from tests.support.people import account, member, staff
from tests.support.races import no_apology

LANGUAGE_BUTTONS = {"zh-hans": "简体中文", "zh-hant": "繁體中文", "en": "English"}
CATALOGUES = {"zh-hans": Language.ZH_HANS, "zh-hant": Language.ZH_HANT, "en": Language.EN}
REASON = "The exit is still chained every night; the staff use it as a store room."

# What the reporter and the supervisor read, in each language.
WORDS = {
    "en": {
        "offer": "you may ask once for a review (复核) by a supervisor",
        "button": "Ask for a review",
        "prompt": "why should a supervisor review it?",
        "sent": "was sent to a supervisor. I will tell you the outcome.",
        "card": "Review (复核) asked for case",
        "reopen": "Reopen the case",
        "uphold": "Uphold the decision",
        "decided": "Review decided: the case was reopened. The reporter is told.",
        "reopened": "and reopened it: the department will look at it again",
        "upheld": "and upheld the department's decision",
        "not genuine": "the department found your report not genuine (不属实)",
    },
    "zh-hans": {
        "offer": "您可以申请一次由督办人员复核",
        "button": "申请复核",
        "prompt": "为什么需要督办人员复核？",
        "sent": "的复核申请已提交督办人员。我会告诉您复核结果。",
        "card": "申请复核",
        "reopen": "重新办理",
        "uphold": "维持原决定",
        "decided": "复核已决定：案件重新办理。已通知举报人。",
        "reopened": "决定重新办理：部门将重新处理",
        "upheld": "维持部门的原决定",
        "not genuine": "销号时认定您的举报不属实",
    },
    "zh-hant": {
        "offer": "您可以申請一次由督辦人員複核",
        "button": "申請複核",
        "prompt": "為什麼需要督辦人員複核？",
        "sent": "的複核申請已提交督辦人員。我會告訴您複核結果。",
        "card": "申請複核",
        "reopen": "重新辦理",
        "uphold": "維持原決定",
        "decided": "複核已決定：案件重新辦理。已通知檢舉人。",
        "reopened": "決定重新辦理：部門將重新處理",
        "upheld": "維持部門的原決定",
        "not genuine": "銷號時認定您的檢舉不屬實",
    },
}


async def speaks(citizen: FakeUser, language: str) -> None:
    await citizen.send("/language")
    await citizen.press(LANGUAGE_BUTTONS[language])


def with_button(user: FakeUser, label: str) -> SentMessage:
    return next(m for m in reversed(user.transcript) if m.has_button(label))


@pytest.mark.parametrize("language", ["zh-hans", "zh-hant", "en"])
async def test_a_report_not_accepted_is_reviewed_and_reopened(bot: Bot, language: str) -> None:
    words = WORDS[language]
    officer = await staff(bot, InviteSpec(Role.OFFICER, "fire"))
    supervisor = await member(bot, Role.SUPERVISOR, "fire", language=language)
    city_supervisor = await staff(bot, InviteSpec(Role.SUPERVISOR))
    citizen = bot.user(language="en")
    number = await report(citizen)
    await speaks(citizen, language)
    await bot.drain()
    card = officer.last
    await officer.press("Reject", message=card)
    await officer.press("not a safety hazard", message=card)
    await officer.press("Yes, do not accept it", message=card)
    await bot.drain()

    # The notice that it was not accepted offers the review.
    notice = citizen.last
    assert number in notice.plain
    assert words["offer"] in notice.plain
    await citizen.press(words["button"], message=notice)
    assert words["prompt"] in citizen.last.plain
    await citizen.send(REASON)
    assert words["sent"] in citizen.last.plain
    assert number in citizen.last.plain

    # It goes to the department's supervisor (not the city's, as the department has one).
    city_mark, officer_mark = len(city_supervisor.transcript), len(officer.transcript)
    await bot.drain()
    assert not since(city_supervisor, city_mark)
    asked = supervisor.last
    assert words["card"] in asked.plain
    assert number in asked.plain
    assert REASON in asked.plain
    await supervisor.press(words["reopen"], message=asked)
    assert supervisor.callback_answers[-1]["text"] == words["decided"]
    assert words["decided"] in asked.plain  # the card says what was decided …
    assert not asked.has_button(words["uphold"])  # … and can be decided no more

    # The reporter is told; the case is back in the department's queue, flagged.
    await bot.drain()
    assert words["reopened"] in citizen.last.plain
    back = texts(since(officer, officer_mark))
    assert f"Case {number} was reopened on review (复核) by a supervisor" in back
    assert "⚠️ Reopened on review (复核)" in back
    assert REASON in back
    assert officer.last.has_button("Accept")
    case = await bot.db.read.cases.by_number(number)
    assert case is not None
    assert (case.status, case.reopened, case.reviewed) == (Status.SUBMITTED, True, True)
    await officer.send("/queue")
    assert f"{number} · " in officer.last.plain
    # Asked once: /status offers it no more.
    await citizen.send(f"/status {number}")
    assert not citizen.last.has_button(words["button"])
    no_apology(bot, citizen, supervisor, officer)


async def closed_not_genuine(
    bot: Bot, language: str = "en"
) -> tuple[FakeUser, FakeUser, FakeUser, str]:
    """A major hazard ordered to an enterprise, fixed, and closed as not genuine (through the
    core: the officer's chat of closing is tested elsewhere); its reporter reads ``language``.
    Returns the officer, the enterprise's contact, the reporter and the case's number."""
    enterprise_id = await enterprise_named(bot, "Golden Dragon Restaurant", "91330100MA27XL0T4C")
    officer = await staff(bot, InviteSpec(Role.OFFICER, "fire"))
    contact = await staff(bot, InviteSpec(Role.ENTERPRISE, enterprise_id=enterprise_id))
    citizen = bot.user(language="en")
    number = await report(citizen)
    await speaks(citizen, language)
    case = await accepted_and_ordered(
        bot, officer, number, enterprise_id, colour=Colour.ORANGE, days=7, level=Level.MAJOR
    )
    contact_account = await account(bot, contact)
    case = await plan_if_owed(bot, contact_account, case)
    case = await rectification.submit_fix(
        bot.services, contact_account, case.id, [], "Chain removed."
    )
    await rewards.close_case(
        bot.services,
        await account(bot, officer),
        case.id,
        case.version,
        rewards.Outcome(genuine=False),
    )
    return officer, contact, citizen, number


@pytest.mark.parametrize("language", ["zh-hans", "zh-hant", "en"])
async def test_a_report_found_not_genuine_is_reviewed_and_upheld(bot: Bot, language: str) -> None:
    words = WORDS[language]
    supervisor = await member(bot, Role.SUPERVISOR, None, language=language)  # city-wide
    _officer, contact, citizen, number = await closed_not_genuine(bot, language)
    await bot.drain()
    told = with_button(citizen, words["button"])
    assert words["not genuine"] in told.plain
    assert words["offer"] in told.plain

    # /status offers it too.
    await citizen.send(f"/status {number}")
    status = citizen.last
    await citizen.press(words["button"], message=status)
    await citizen.send(REASON)
    assert words["sent"] in citizen.last.plain
    await bot.drain()
    asked = supervisor.last
    assert words["card"] in asked.plain
    await supervisor.press(words["uphold"], message=asked)
    await bot.drain()

    assert words["upheld"] in citizen.last.plain
    case = await bot.db.read.cases.by_number(number)
    assert case is not None
    assert case.status is Status.CLOSED
    reward = await bot.db.read.rewards.for_case(case.id)
    assert reward is not None
    assert not reward.genuine
    # The old buttons ask again no more; the enterprise never reads of the review.
    await citizen.press_data(status.buttons[0][0][1], status)
    assert number in citizen.callback_answers[-1]["text"]
    await contact.send(f"/case {number}")
    assert "(复核)" not in contact.last.plain
    assert "Fix verified, case closed" in contact.last.plain
    no_apology(bot, citizen, supervisor)


@pytest.mark.parametrize("language", ["zh-hans", "zh-hant", "en"])
async def test_a_report_found_not_genuine_is_not_asked_whether_the_hazard_is_gone(
    bot: Bot, language: str
) -> None:
    """Not genuine (不属实) is no fix: its reporter is told so, never thanked for a fix nor asked
    whether the hazard is really gone."""
    _officer, _contact, citizen, number = await closed_not_genuine(bot, language)
    mark = len(citizen.transcript) - 1
    await bot.drain()
    told = since(citizen, mark)
    assert WORDS[language]["not genuine"] in texts(told)
    tr = bot.services.catalogs.translator(CATALOGUES[language])
    question = tr.gettext(
        "Your report {number} was fixed, checked by the department and closed (销号). "
        "Thank you! Is the hazard really gone?"
    ).format(number=number)
    fixed = tr.gettext("Case {number} was verified as fixed and closed (销号). Thank you.")
    assert question not in texts(told)
    assert fixed.format(number=number) not in texts(told)
    assert not any(m.has_button(tr.gettext("👍 Yes, it is fixed")) for m in citizen.transcript)


async def test_a_case_reopened_on_review_starts_again(bot: Bot) -> None:
    """Reopened, a case found not genuine loses its deadline, its enterprise and the outcome
    recorded at its closing: the next closing asks again whether the report was genuine."""
    supervisor = await staff(bot, InviteSpec(Role.SUPERVISOR))
    officer, contact, citizen, number = await closed_not_genuine(bot)
    case = await bot.db.read.cases.by_number(number)
    assert case is not None
    reporter = await account(bot, citizen)
    await review.start(bot.services, reporter, case.id)
    await review.request(bot.services, reporter, case.id, REASON)
    asked = await bot.db.read.reviews.for_case(case.id)
    assert asked is not None

    decided, reopened = await review.decide(
        bot.services, await account(bot, supervisor), asked.id, ReviewDecision.REOPENED
    )

    assert decided.decision is ReviewDecision.REOPENED
    assert reopened.status is Status.SUBMITTED
    assert (reopened.enterprise_id, reopened.deadline, reopened.closed_at) == (None, None, None)
    assert await bot.db.read.rewards.for_case(case.id) is None
    assert await rewards.should_ask(bot.services, reopened)
    # The enterprise's contact no longer sees it; the reporter cannot ask again.
    await contact.send(f"/case {number}")
    assert "There is no case" in contact.last.plain
    with pytest.raises(review.ReviewAsked):
        await review.start(bot.services, reporter, case.id)
    await officer.send(f"/case {number}")
    assert "The reporter asked for a review (复核)" in officer.last.plain

    # Closed again, genuine this time: now the reporter is asked whether it is really gone.
    enterprise_id = (await bot.db.read.enterprises.search("Golden Dragon"))[0].id
    again = await accepted_and_ordered(
        bot, officer, number, enterprise_id, colour=Colour.ORANGE, days=7, level=Level.MAJOR
    )
    contact_account = await account(bot, contact)
    again = await plan_if_owed(bot, contact_account, again)
    again = await rectification.submit_fix(bot.services, contact_account, again.id, [], "Done.")
    mark = len(citizen.transcript)
    await rewards.close_case(
        bot.services,
        await account(bot, officer),
        again.id,
        again.version,
        rewards.Outcome(genuine=True),
    )
    await bot.drain()
    assert "Is the hazard really gone?" in texts(since(citizen, mark))


async def test_only_the_reporter_may_ask_and_only_what_was_turned_down(bot: Bot) -> None:
    officer = await staff(bot, InviteSpec(Role.OFFICER, "fire"))
    citizen, other = bot.user(language="en"), bot.user(language="en")
    number = await report(citizen)
    await bot.drain()
    case = await bot.db.read.cases.by_number(number)
    assert case is not None
    # Not rejected: nothing to review, and no button on /status.
    with pytest.raises(review.ReviewNotOpen):
        await review.start(bot.services, await account(bot, citizen), case.id)
    await citizen.send(f"/status {number}")
    assert not citizen.last.has_button("Ask for a review")
    card = officer.last
    await officer.press("Reject", message=card)
    await officer.press("not a safety hazard", message=card)
    await officer.press("Yes, do not accept it", message=card)
    await bot.drain()
    # Someone else pressing the reporter's button (forged) is refused.
    notice = with_button(citizen, "Ask for a review")
    data = notice.buttons[0][0][1]
    await other.send("/start")
    await other.press_data(data, notice)
    assert other.callback_answers[-1]["text"] == "You are not allowed to do that."
    assert await bot.db.read.inputs.newest(other.user_id) is None
    # No supervisor at all: the reporter is told, and may ask later.
    await citizen.press("Ask for a review", message=notice)
    await citizen.send(REASON)
    assert f"No supervisor can review case {number} yet." in citizen.last.plain
    assert await bot.db.read.reviews.for_case(case.id) is None


async def test_an_enterprises_self_report_is_not_reviewed(bot: Bot) -> None:
    """复核 is the whistleblower's: a self-report (隐患自查自报) turned down has none."""
    number = await report(bot.user(language="en"))
    case = await bot.db.read.cases.by_number(number)
    assert case is not None
    turned_down = case.model_copy(update={"status": Status.REJECTED})
    assert await review.ground_of(bot.db.read, turned_down) is ReviewGround.REJECTED
    own = turned_down.model_copy(update={"self_reported": True})
    assert await review.ground_of(bot.db.read, own) is None
