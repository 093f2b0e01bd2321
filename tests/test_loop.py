"""The closed loop through four people: citizen, officer, enterprise contact, supervisor.

The two whole conversations are in tests/support/scenarios.py (tests/test_confidentiality.py
runs them too); the variations on them are here.
"""

from __future__ import annotations

import pytest

from bot import errors, questions, rectification, verification
from bot.invites import InviteSpec
from bot.vocabulary.grading import Colour
from bot.vocabulary.models import Photo
from bot.vocabulary.roles import Role
from fakebotapi import FakeUser, SentMessage
from tests.support.cases import accepted_and_ordered, enterprise_named, report
from tests.support.chat import Bot, map_points, since, texts
from tests.support.images import has_metadata, jpeg
from tests.support.people import account, staff
from tests.support.scenarios import a_case_from_report_to_closing, an_enterprise_self_report


async def test_a_case_from_report_to_closing(bot: Bot) -> None:
    await a_case_from_report_to_closing(bot)


async def test_stale_and_double_presses_change_nothing(bot: Bot) -> None:
    officer = await staff(bot, InviteSpec(Role.OFFICER, "fire"))
    colleague = await staff(bot, InviteSpec(Role.OFFICER, "fire"))
    citizen = bot.user(language="en")
    number = await report(citizen)
    await bot.drain()
    mine, theirs = officer.last, colleague.last
    await officer.press("Accept", message=mine)
    await officer.press("red", message=mine)
    await officer.press("major hazard", message=mine)
    # The colleague's copy of the card is now stale.
    await colleague.press("Reject", message=theirs)
    assert "This case has moved on (it is now: accepted)" in colleague.callback_answers[-1]["text"]
    assert "Status: accepted" in theirs.plain  # their card was refreshed
    case = await bot.db.read.cases.by_number(number)
    assert case is not None
    events = await bot.db.read.cases.events(case.id)
    assert [e.kind for e in events] == ["submit", "accept"]


async def test_enterprise_self_report(bot: Bot) -> None:
    await an_enterprise_self_report(bot)


async def test_transfer_and_duplicate_and_rejection(bot: Bot) -> None:
    fire = await staff(bot, InviteSpec(Role.OFFICER, "fire"))
    housing = await staff(bot, InviteSpec(Role.OFFICER, "housing"))
    first, second, third = (bot.user(language="en") for _ in range(3))
    one = await report(first, photo_seed=31)
    two = await report(second, photo_seed=32)
    three = await report(third, photo_seed=33)
    await bot.drain()
    cards = {
        n: m for m in fire.transcript for n in (one, two, three) if f"New report {n}" in m.plain
    }
    # Transfer one to housing with a reason: housing's officer gets it; the reporter is told.
    await fire.press("Transfer", message=cards[one])
    await fire.press("Housing", message=cards[one])
    await fire.send("The crack is in the building structure, not a fire exit.")
    await bot.drain()
    assert f"Case {one} was passed to your department" in housing.last.plain
    assert (
        "Passed on by Fire and Rescue Detachment: The crack is in the building structure, "
        "not a fire exit." in housing.last.plain
    )
    assert housing.last.has_button("Accept")
    assert f"Your report {one} was passed to Housing" in first.last.plain
    # Two duplicates three: the second reporter now follows three. Not into one, which is
    # housing's now: its reporter would follow (and read) another department's case.
    await fire.press("Duplicate", message=cards[two])
    await fire.send(one)
    assert f"cannot be merged into case {one}" in fire.last.plain
    await fire.send("YH-20991231-0001")
    assert "cannot be merged into case YH-20991231-0001" in fire.last.plain
    await fire.send(three)
    await bot.drain()
    assert f"You now follow {three}" in second.last.plain
    await second.send("/my")
    assert three in second.last.plain
    # Three is rejected with a listed reason; its reporter and its new follower are told.
    await fire.press("Reject", message=cards[three])
    await fire.press("not a safety hazard", message=cards[three])
    await fire.press("Yes, do not accept it", message=cards[three])
    await bot.drain()
    assert "was not accepted. The department's reason: This is not a safety hazard." in (
        third.last.plain
    )
    assert "This is not a safety hazard." in second.last.plain


async def order_golden_dragon(bot: Bot, officer: FakeUser, card: SentMessage) -> None:
    """Order the Golden Dragon Restaurant, found by its credit code, to fix it in 3 days."""
    await officer.press("Order an enterprise", message=card)
    await officer.send("91330100MA27XL0T4C")
    await officer.press("Golden Dragon", message=officer.last)
    await officer.press("3 days", message=officer.last)
    await bot.drain()


async def test_a_request_for_more_time_overtaken_by_the_fix_is_dropped(bot: Bot) -> None:
    enterprise_id = await enterprise_named(bot, "Golden Dragon Restaurant", "91330100MA27XL0T4C")
    officer = await staff(bot, InviteSpec(Role.OFFICER, "fire"))
    contact = await staff(bot, InviteSpec(Role.ENTERPRISE, enterprise_id=enterprise_id))
    number = await report(bot.user(language="en"), photo_seed=64)
    await bot.drain()
    card = officer.last
    await officer.press("Accept", message=card)
    await officer.press("blue", message=card)
    await officer.press("general hazard", message=card)
    await order_golden_dragon(bot, officer, card)
    await contact.press("Ask for more time", message=contact.last)
    await contact.send("12-20")
    await contact.send("Waiting for parts.")
    await bot.drain()
    extension_card = officer.last
    assert extension_card.has_button("Grant the extension")
    # A second request while the first waits would replace it: refused, the officer hears once.
    order = next(m for m in contact.transcript if m.has_button("Ask for more time"))
    await contact.press("Ask for more time", message=order)
    assert "is still waiting for the department's answer" in contact.callback_answers[-1]["text"]
    await bot.drain()
    assert officer.last is extension_card
    # The parts came sooner: the fix is in before the officer decides on the extension.
    await contact.send("/tasks")
    await contact.press("Submit the fix", message=contact.last)
    await contact.send_photo(jpeg(seed=65))
    await contact.send("Replaced the chain with a panic bar.")
    await bot.drain()
    fix_card = officer.last
    assert "Extension requested until" not in fix_card.plain
    await officer.press("Not fixed: return it", message=fix_card)
    await officer.send("The bar is fitted the wrong way round.")
    await officer.press("3 days")
    await bot.drain()
    # The old request's button changes nothing; the case shows no request any more.
    await officer.press("Grant the extension", message=extension_card)
    await officer.send(f"/case {number}")
    assert "Extension requested until" not in officer.last.plain
    assert not officer.last.has_button("Grant the extension")
    assert "Deadline: 2026-11-25" in officer.last.plain
    await contact.send("/tasks")
    assert "Extension requested until" not in contact.last.plain


async def test_refused_extension_reused_fix_photo_and_not_fixed_with_a_photo(bot: Bot) -> None:
    enterprise_id = await enterprise_named(bot, "Golden Dragon Restaurant", "91330100MA27XL0T4C")
    officer = await staff(bot, InviteSpec(Role.OFFICER, "fire"))
    contact = await staff(bot, InviteSpec(Role.ENTERPRISE, enterprise_id=enterprise_id))
    citizen, other = bot.user(language="en"), bot.user(language="en")
    number = await report(citizen, photo_seed=61)
    await report(other, photo_seed=62)  # another case, whose photo the fix will reuse
    await bot.drain()
    card = next(m for m in officer.transcript if f"New report {number}" in m.plain)
    await officer.press("Accept", message=card)
    await officer.press("blue", message=card)
    await officer.press("general hazard", message=card)
    await order_golden_dragon(bot, officer, card)
    await contact.press("Ask for more time", message=contact.last)
    await contact.send("2026-11-24")  # before the deadline: refused as a mistake, asked again
    assert "after the current deadline (2026-11-25)" in contact.last.plain
    await contact.send("12-15")
    await contact.send("Waiting for the landlord.")
    await bot.drain()
    await officer.press("Refuse it", message=officer.last)
    await bot.drain()
    assert "was refused: the deadline stays 2026-11-25" in contact.last.plain
    await contact.send("/tasks")
    await contact.press("Submit the fix", message=contact.last)
    await contact.send_photo(jpeg(seed=62))  # the other case's hazard photo
    await contact.send("Done.")
    await bot.drain()
    fix_card = officer.last
    assert "A fix photo looks like a photo of case" in fix_card.plain
    await officer.press("Verified: close the case", message=fix_card)
    await officer.press("Genuine", message=fix_card)
    await officer.press("No fine", message=fix_card)
    await officer.press("Yes, close it", message=fix_card)
    await bot.drain()
    await citizen.press("No, it is not fixed", message=citizen.last)
    await citizen.send_photo(jpeg(seed=63), caption="Still locked")
    await bot.drain()
    reopened = officer.last  # the reporter's photo, stripped, with the card as its caption
    assert reopened.photo is not None
    assert not has_metadata(reopened.photo)
    assert "The reporter says case" in reopened.plain
    assert "Still locked" in reopened.plain


async def test_a_long_history_fits_in_one_message(bot: Bot) -> None:
    officer = await staff(bot, InviteSpec(Role.OFFICER, "fire"))
    number = await report(bot.user(language="en"))
    case = await bot.db.read.cases.by_number(number)
    assert case is not None
    async with bot.db.transaction() as tx:  # sixty questions of 200 characters
        for n in range(60):
            note = f"Question {n}: " + "which door, which floor, since when? " * 5
            await tx.cases.add_event(
                case.id, bot.clock.now(), officer.user_id, "question", None, None, note
            )
    await officer.send(f"/case {number}")
    shown = officer.last.plain
    assert len(shown) <= 4096
    assert "History:\n2026-11-22 10:00 · Reported\n" in shown  # the first entry …
    assert "Question 59:" in shown  # … and the newest stay
    assert "… 47 more entries, not shown" in shown


async def test_a_report_begun_after_pressing_answer_is_not_taken_as_the_answer(bot: Bot) -> None:
    officer = await staff(bot, InviteSpec(Role.OFFICER, "fire"))
    citizen = bot.user(language="en")
    await report(citizen)
    await bot.drain()
    await officer.press("Ask the reporter", message=officer.last)
    await officer.send("Which floor is the locked exit on?")
    await bot.drain()
    await citizen.press("Answer")
    # They change their mind and report another hazard instead; its place is theirs alone.
    mark = len(officer.transcript)
    await citizen.send("/report")
    await citizen.press("Fire safety")
    await citizen.send_location(30.2812, 120.1934)
    assert "Step 3 of 6" in citizen.last.plain
    await bot.drain()
    assert not since(officer, mark)


async def test_news_of_a_case_reaches_its_reporter_in_the_sending_window(bot: Bot) -> None:
    officer = await staff(bot, InviteSpec(Role.OFFICER, "fire"))
    citizen = bot.user(language="en")
    number = await report(citizen)
    await bot.drain()
    bot.clock.advance(hours=12, minutes=30)  # 22:30 in the city: an officer working late
    card = officer.last
    await officer.press("Accept", message=card)
    await officer.press("blue", message=card)
    await officer.press("general hazard", message=card)
    mark = len(citizen.transcript)
    await bot.drain()
    assert not since(citizen, mark)  # not at 22:30 …
    bot.clock.advance(hours=9, minutes=30)  # 08:00
    await bot.drain()
    assert f"Your report {number} was accepted" in texts(since(citizen, mark))  # … at 08:00


async def test_a_reply_to_the_departments_question_is_the_answer(bot: Bot) -> None:
    officer = await staff(bot, InviteSpec(Role.OFFICER, "fire"))
    citizen = bot.user(language="en")
    number = await report(citizen)
    await bot.drain()
    await officer.press("Ask the reporter", message=officer.last)
    await officer.send("Which floor is the locked exit on?")
    await bot.drain()
    question = citizen.last
    # In the middle of another report, they use Telegram's Reply on the question.
    await citizen.send("/report")
    await citizen.press("Fire safety")
    await citizen.reply_to(question, "The second floor, behind the kitchen.")
    assert f"Your answer about {number} was passed on" in citizen.last.plain
    mark = len(officer.transcript)
    await bot.drain()
    assert "The second floor, behind the kitchen." in texts(since(officer, mark))
    draft = await bot.db.read.drafts.get(citizen.user_id)
    assert draft is not None
    assert draft.step == "location"  # the report waits where it was


async def test_a_rejected_case_asks_its_reporter_nothing_more(bot: Bot) -> None:
    officer = await staff(bot, InviteSpec(Role.OFFICER, "fire"))
    number = await report(bot.user(language="en"))
    await bot.drain()
    card = officer.last
    await officer.press("Reject", message=card)
    await officer.press("not a safety hazard", message=card)
    await officer.press("Yes, do not accept it", message=card)
    case = await bot.db.read.cases.by_number(number)
    assert case is not None
    actor = await account(bot, officer)
    with pytest.raises(errors.NotThisStep):
        await questions.ask_reporter(bot.services, actor, case.id, "Which floor was it?")


async def test_a_place_given_as_the_answer_reaches_the_officer_as_a_map_link(bot: Bot) -> None:
    officer = await staff(bot, InviteSpec(Role.OFFICER, "fire"))
    citizen = bot.user(language="en")
    number = await report(citizen)
    await bot.drain()
    await officer.press("Ask the reporter", message=officer.last)
    await officer.send("Where exactly is the exit?")
    await bot.drain()
    await citizen.press("Answer")
    await citizen.send_location(30.2812, 120.1934)
    mark = len(officer.transcript)
    await bot.drain()
    [answer] = since(officer, mark)
    assert f"The reporter of {number} answered your question." in answer.plain
    assert "Place: 30.28120, 120.19340" in answer.plain
    assert map_points(answer) == [(30.2812, 120.1934)]


async def test_an_answer_with_coordinates_off_the_earth_is_refused(bot: Bot) -> None:
    officer = await staff(bot, InviteSpec(Role.OFFICER, "fire"))
    citizen = bot.user(language="en")
    await report(citizen)
    await bot.drain()
    await officer.press("Ask the reporter", message=officer.last)
    await officer.send("Where exactly is the exit?")
    await bot.drain()
    await citizen.press("Answer")
    mark = len(officer.transcript)
    await citizen.send_location(95.0, 120.19)
    assert "That is not a place" in citizen.last.plain
    await bot.drain()
    assert not since(officer, mark)
    # The answer is still owed, and a real place is passed on.
    await citizen.send_location(30.2812, 120.1934)
    assert "Your answer about" in citizen.last.plain


@pytest.mark.parametrize(
    ("language", "lapsed"),
    [
        ("zh-hans", "已超过可退回的期限"),
        ("zh-hant", "已超過可退回的期限"),
        ("en", "it is too late to send it back"),
    ],
)
async def test_not_fixed_lapses_after_the_citys_period(
    bot: Bot, language: str, lapsed: str
) -> None:
    enterprise_id = await enterprise_named(bot, "Golden Dragon Restaurant", "91330100MA27XL0T4C")
    officer = await staff(bot, InviteSpec(Role.OFFICER, "fire"))
    contact = await staff(bot, InviteSpec(Role.ENTERPRISE, enterprise_id=enterprise_id))
    citizen = bot.user(language="en")
    number = await report(citizen)
    await citizen.send("/language")
    await citizen.press({"zh-hans": "简体中文", "zh-hant": "繁體中文", "en": "English"}[language])
    case = await accepted_and_ordered(
        bot, officer, number, enterprise_id, colour=Colour.YELLOW, days=7
    )
    case = await rectification.submit_fix(
        bot.services, await account(bot, contact), case.id, [], "Crates removed."
    )
    await verification.close(bot.services, await account(bot, officer), case.id, case.version)
    await bot.drain()
    question, no = next(
        (m, data)
        for m in reversed(citizen.transcript)
        for row in m.buttons
        for _label, data in row
        if data is not None and data.startswith("vf:1:no:")
    )
    bot.clock.advance(days=bot.city.limits.reopen_days + 1)
    await citizen.press_data(no, question)
    assert lapsed in citizen.callback_answers[-1]["text"]
    fresh = await bot.db.read.cases.get(case.id)
    assert fresh is not None
    assert fresh.status == "closed"


async def test_a_fix_photo_is_like_another_cases_photo_within_six_bits_of_its_hash(
    bot: Bot,
) -> None:
    """The reused-photo check compares with every other case's photos (in the database on
    PostgreSQL): six bits apart is the same picture, seven is not; the case's own photos do
    not count. A hash with its top bit set is stored negative and still compares."""
    first = await report(bot.user(language="en"))
    second = await report(bot.user(language="en"), photo_seed=2)
    cases = {n: await bot.db.read.cases.by_number(n) for n in (first, second)}
    one, two = (cases[n] for n in (first, second))
    assert one is not None
    assert two is not None
    base, now = 0xF0F0_F0F0_F0F0_F0F0, bot.clock.now()
    async with bot.db.transaction() as tx:
        await tx.photos.add(
            Photo(sha256="f" * 64, thumb_sha256="f" * 64, phash=base, width=9, height=9, size=9),
            now,
        )
        await tx.cases.add_photo(one.id, "report", 5, "f" * 64, None, now)
        like = tx.cases.cases_with_photos_like
        six, seven = await like(two.id, [base ^ 0b111111], 6), await like(two.id, [base ^ 0x7F], 6)
        either = await like(two.id, [base ^ 0x7F, base ^ 1], 6)
        own = await like(one.id, [base], 6)
    assert first in six
    assert first in either
    assert first not in seven
    assert first not in own
