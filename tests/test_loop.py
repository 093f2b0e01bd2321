"""The closed loop through four people: citizen, officer, enterprise contact, supervisor."""

from __future__ import annotations

import re

import pytest

from bot import questions
from bot.accounts import Account
from bot.errors import NotThisStep
from bot.invites import InviteSpec, create_invite
from bot.vocabulary.lifecycle import Status
from bot.vocabulary.roles import Role
from fakebotapi import FakeUser, SentMessage
from tests.conftest import Bot
from tests.images import has_metadata, jpeg

LAOCHENG = (30.28, 120.19)
NUMBER = re.compile(r"YH-\d{8}-\d{4}")


async def staff(bot: Bot, spec: InviteSpec, *, language: str = "en", **kwargs: str) -> FakeUser:
    user = bot.user(language=language, **kwargs)
    code = await create_invite(bot.db, spec, bot.clock.now())
    await user.send(f"/join {code}")
    assert await bot.db.read.users.memberships(user.user_id), user.last.plain  # joined
    return user


async def enterprise_named(bot: Bot, name: str, code: str) -> int:
    async with bot.db.transaction() as tx:
        return await tx.enterprises.add(name, code, "laocheng", "8 Market Lane", bot.clock.now())


def since(user: FakeUser, mark: int) -> list[SentMessage]:
    return user.transcript[mark:]


def texts(messages: list[SentMessage]) -> str:
    return "\n---\n".join(m.plain for m in messages if m.plain)


async def report(citizen: FakeUser, *, photo_seed: int = 1) -> str:
    await citizen.send("/report")
    await citizen.press("Fire safety")
    await citizen.send_location(*LAOCHENG)
    await citizen.send("The emergency exit of the Golden Dragon restaurant is locked.")
    await citizen.send_photo(jpeg(seed=photo_seed))
    await citizen.press("Done")
    await citizen.press("Real name")
    await citizen.send("Chen Jing")
    await citizen.send_contact("13912345678")
    if citizen.last.has_button("Mine is different"):
        await citizen.press("Mine is different")
    await citizen.press("Submit")
    match = NUMBER.search(citizen.last.plain)
    assert match
    return match.group(0)


async def test_a_case_from_report_to_closing(bot: Bot) -> None:
    enterprise_id = await enterprise_named(bot, "Golden Dragon Restaurant", "91330100MA27XL0T4C")
    officer = await staff(bot, InviteSpec(Role.OFFICER, "fire"))
    other_officer = await staff(bot, InviteSpec(Role.OFFICER, "housing"))
    contact = await staff(
        bot, InviteSpec(Role.ENTERPRISE, enterprise_id=enterprise_id), username="dragon_safety"
    )
    supervisor = await staff(bot, InviteSpec(Role.SUPERVISOR))
    citizen = bot.user(language="en", first_name="Jing", username="chenjing88")

    # 1. The citizen reports; the fire department's officer gets it with photo and place.
    number = await report(citizen)
    mark_o = len(officer.transcript)
    await bot.drain()
    new = since(officer, mark_o)
    assert [m.method for m in new] == ["sendPhoto", "sendLocation", "sendMessage"]
    assert not has_metadata(new[0].photo or b"")
    assert new[1].location == LAOCHENG
    card = new[2]
    assert f"New report {number}" in card.plain
    assert "Reporter: Chen Jing, 13912345678" in card.plain  # real name: officers may see it
    for label in ("Accept", "Reject", "Transfer", "Duplicate", "Ask the reporter"):
        assert card.has_button(label)
    assert other_officer.transcript[-1].plain.startswith("You are now")  # housing heard nothing

    # 2. A question relayed both ways, neither side seeing the other's account.
    await officer.press("Ask the reporter", message=card)
    await officer.send("Which floor is the locked exit on?")
    assert "Your question was passed on" in officer.last.plain
    mark_c = len(citizen.transcript)
    await bot.drain()
    asked = since(citizen, mark_c)
    assert len(asked) == 1
    assert f"The department handling your report {number} asks:" in asked[0].plain
    assert "Which floor is the locked exit on?" in asked[0].plain
    assert str(officer.user_id) not in asked[0].plain
    await citizen.press("Answer")
    await citizen.send("The second floor, behind the kitchen.")
    assert "Your answer about" in citizen.last.plain
    mark_o = len(officer.transcript)
    await bot.drain()
    answered = texts(since(officer, mark_o))
    assert f"The reporter of {number} answered your question." in answered
    assert "The second floor, behind the kitchen." in answered
    assert str(citizen.user_id) not in answered
    assert "chenjing88" not in answered

    # 3. Accept: colour, then level; the reporter is told.
    await officer.press("Accept", message=card)
    await officer.press("orange", message=card)
    await officer.press("general hazard", message=card)
    assert "Status: accepted" in card.plain
    assert card.has_button("Order an enterprise to fix it")
    mark_c = len(citizen.transcript)
    await bot.drain()
    assert f"Your report {number} was accepted by Fire and Rescue Detachment" in texts(
        since(citizen, mark_c)
    )

    # 4. Order the enterprise, found by name, with the orange default deadline (15 days).
    await officer.press("Order an enterprise to fix it", message=card)
    await officer.send("golden dragon")
    choice = officer.last
    assert "Golden Dragon Restaurant" in choice.plain
    assert "open 0, overdue 0, closed 0" in choice.plain
    await officer.press("Golden Dragon Restaurant", message=choice)
    await officer.press("15 days", message=choice)
    assert "Status: being rectified" in choice.plain
    assert "Deadline: 2026-12-07" in choice.plain
    mark_e, mark_c = len(contact.transcript), len(citizen.transcript)
    await bot.drain()
    order = since(contact, mark_e)
    assert [m.method for m in order] == ["sendPhoto", "sendLocation", "sendMessage"]
    assert f"Rectification order (整改通知) for case {number}" in order[-1].plain
    assert "by 2026-12-07" in order[-1].plain
    assert order[-1].has_button("Submit the fix")
    assert f"Rectification of your report {number} was ordered, to be done by 2026-12-07" in texts(
        since(citizen, mark_c)
    )
    await citizen.send(f"/status {number}")
    assert "Department: Fire and Rescue Detachment\nDeadline: 2026-12-07" in citizen.last.plain

    # 5. The enterprise asks for more time; the officer grants it.
    await contact.press("Ask for more time", message=order[-1])
    await contact.send("2026-12-20")
    await contact.send("The fire door must be ordered from the factory.")
    assert "Your request for more time" in contact.last.plain
    mark_o = len(officer.transcript)
    await bot.drain()
    request = since(officer, mark_o)[-1]
    assert f"Extension requested for case {number}" in request.plain
    assert "The fire door must be ordered from the factory." in request.plain
    await officer.press("Grant the extension", message=request)
    mark_e, mark_c = len(contact.transcript), len(citizen.transcript)
    await bot.drain()
    assert "the new deadline is 2026-12-20" in texts(since(contact, mark_e))
    assert f"The deadline to fix {number} was extended to 2026-12-20" in texts(
        since(citizen, mark_c)
    )

    # 6. A fix with the hazard photo itself is flagged; the officer returns it.
    await contact.send("/tasks")
    task = contact.last
    assert number in task.plain
    await contact.press("Submit the fix", message=task)
    await contact.send_photo(jpeg(seed=1))  # the same scene as the report photo
    await contact.send("Unlocked the door.")
    assert "was sent to the department for checking" in contact.last.plain
    mark_o, mark_c = len(officer.transcript), len(citizen.transcript)
    await bot.drain()
    fix_card = since(officer, mark_o)[-1]
    assert f"Fix submitted for case {number}" in fix_card.plain
    assert "A fix photo looks the same as the hazard photo." in fix_card.plain
    assert "Fix note: Unlocked the door." in fix_card.plain
    assert f"The fix of {number} was submitted and is being checked." in texts(
        since(citizen, mark_c)
    )
    await officer.press("Not fixed: return it", message=fix_card)
    await officer.send("The photo shows the locked door again.")
    await officer.press("15 days")
    mark_e, mark_c = len(contact.transcript), len(citizen.transcript)
    await bot.drain()
    returned = texts(since(contact, mark_e))
    assert f"The fix of case {number} was not accepted." in returned
    assert "Reason: The photo shows the locked door again." in returned
    assert "it must be fixed again by" in texts(since(citizen, mark_c))

    # 7. A real fix; the officer closes; the reporter says it is not fixed; closed again.
    await contact.send("/tasks")
    await contact.press("Submit the fix", message=contact.last)
    mark_e = len(contact.transcript)
    await contact.send_photo(jpeg(seed=99))
    await contact.send_photo(jpeg(seed=98))
    # One "photo n received" stays, under the newest photo.
    assert [m.plain for m in since(contact, mark_e) if not m.deleted] == [
        "Photo 2 received. Send more, or type a short note of what was done."
    ]
    await contact.send("Replaced the lock with a panic bar.")
    await bot.drain()
    fix_card = officer.last
    assert fix_card.has_button("Verified: close the case")
    assert "A fix photo looks" not in fix_card.plain
    await officer.press("Verified: close the case", message=fix_card)
    # A citizen's genuine report can earn a reward: the officer records the outcome first.
    await officer.press("Genuine", message=fix_card)
    await officer.press("No fine", message=fix_card)
    assert "Status: closed" in fix_card.plain
    mark_c, mark_e = len(citizen.transcript), len(contact.transcript)
    await bot.drain()
    closed = since(citizen, mark_c)[-1]
    assert "Is the hazard really gone?" in closed.plain
    assert "was verified as fixed and closed" in texts(since(contact, mark_e))
    await citizen.press("No, it is not fixed", message=closed)
    await citizen.send("The panic bar is chained again at night.")
    assert "is back with the department, marked as not fixed" in citizen.last.plain
    mark_o = len(officer.transcript)
    await bot.drain()
    reopened = since(officer, mark_o)[-1]
    assert f"The reporter says case {number} is not fixed" in reopened.plain
    assert "The panic bar is chained again at night." in reopened.plain
    await officer.send("/queue")
    assert number in officer.last.plain
    assert "⚠️" in officer.last.plain
    await officer.press("Verified: close the case", message=reopened)
    mark_c = len(citizen.transcript)
    await bot.drain()
    again = texts(since(citizen, mark_c))
    assert "was verified as fixed and closed" in again
    assert "Is the hazard really gone?" not in again  # asked once only

    # 8. The supervisor sees the whole timeline, without the reporter's identity.
    await supervisor.send(f"/case {number}")
    timeline = supervisor.last.plain
    for step in (
        "Reported",
        "The department asked the reporter a question",
        "The reporter answered",
        "Accepted by the department",
        "Rectification ordered",
        "Extension requested",
        "Extension granted",
        "Fix submitted for review",
        "Fix not accepted, returned",
        "Fix verified, case closed",
        "Reporter says it is not fixed",
    ):
        assert step in timeline, step
    assert "Chen Jing" not in timeline
    assert "13912345678" not in timeline
    case = await bot.db.read.cases.by_number(number)
    assert case is not None
    assert case.status is Status.CLOSED

    # Nothing of the reporter ever reached the enterprise.
    everything = texts(contact.transcript)
    for secret in ("Chen Jing", "13912345678", "chenjing88", str(citizen.user_id), "Jing"):
        assert secret not in everything
    for message in contact.transcript:
        if message.photo:
            assert not has_metadata(message.photo)


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
    events = await bot.db.read.cases.events(
        (await bot.db.read.cases.by_number(number)).id  # type: ignore[union-attr]
    )
    assert [e.kind for e in events] == ["submit", "accept"]


async def test_enterprise_self_report(bot: Bot) -> None:
    enterprise_id = await enterprise_named(bot, "Riverside Chemicals", "91330100MA27XL0T4C")
    contact = await staff(bot, InviteSpec(Role.ENTERPRISE, enterprise_id=enterprise_id))
    officer = await staff(bot, InviteSpec(Role.OFFICER, "emergency"))
    await contact.send("/report")
    assert "Is this hazard at your own enterprise?" in contact.last.plain
    await contact.press("Our enterprise: Riverside Chemicals")
    await contact.press("Hazardous chemicals")
    await contact.send_location(*LAOCHENG)
    await contact.send("Solvent drums stored next to the boiler room, no partition wall.")
    await contact.press("No photo")
    await contact.press("Go on without a photo")
    assert "How serious is it?" in contact.last.plain
    await contact.press("Major hazard")
    await contact.press("30 days")
    assert "rectification plan" in contact.last.plain
    await contact.send(
        "Move the drums to the licensed store by 12-01; build a fire wall; "
        "budget 80,000 yuan; responsible: the plant manager; daily patrols meanwhile."
    )
    summary = contact.last.plain
    assert "self-report of your enterprise, major hazard, to be fixed by 2026-12-22" in summary
    await contact.press("Submit")
    number = NUMBER.search(contact.last.plain)
    assert number
    await bot.drain()
    card = officer.last
    assert f"New self-reported hazard {number.group(0)}" in card.plain
    assert "Proposed deadline: 2026-12-22" in card.plain
    assert "Rectification plan: Move the drums" in card.plain
    assert "Reporter: the enterprise itself" in card.plain
    assert not card.has_button("Ask the reporter")  # nothing to ask: they are the enterprise
    await officer.press("Set another deadline", message=card)
    await officer.press("15 days", message=card)
    assert "Status: being rectified" in card.plain
    await bot.drain()
    order = contact.last
    assert "Rectification order (整改通知)" in order.plain
    assert "Deadline: 2026-12-07" in order.plain
    case = await bot.db.read.cases.by_number(number.group(0))
    assert case is not None
    assert (case.self_reported, case.enterprise_id, case.level) == (True, enterprise_id, "major")
    assert case.anonymous is False
    assert case.reporter_name is None


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
    await bot.drain()
    await citizen.press("No, it is not fixed", message=citizen.last)
    await citizen.send_photo(jpeg(seed=63), caption="Still locked")
    await bot.drain()
    photos = [m for m in officer.transcript[-3:] if m.photo]
    assert len(photos) == 1
    assert not has_metadata(photos[0].photo or b"")
    assert "Still locked" in officer.last.plain


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
    case = await bot.db.read.cases.by_number(number)
    assert case is not None
    row = await bot.db.read.users.get(officer.user_id)
    assert row is not None
    actor = Account(row, await bot.db.read.users.memberships(officer.user_id))
    services = bot.app.bot_data.services  # type: ignore[union-attr]
    with pytest.raises(NotThisStep):
        await questions.ask_reporter(services, actor, case.id, "Which floor was it?")
