"""Whole conversations through four people: citizen, officer, enterprise contact, supervisor.

tests/test_loop.py runs them as tests; tests/test_confidentiality.py runs them again to check
what reached the enterprise.
"""

from __future__ import annotations

from bot.invites import InviteSpec
from bot.vocabulary.lifecycle import Status
from bot.vocabulary.roles import Role
from tests.support import tables
from tests.support.cases import LAOCHENG, enterprise_named, report
from tests.support.chat import NUMBER, Bot, map_points, since, texts
from tests.support.images import has_metadata, jpeg
from tests.support.people import staff


async def a_case_from_report_to_closing(bot: Bot) -> None:
    """Report, question and answer, accept, order, extension, a returned fix, closing, a
    reporter who says it is not fixed, closing again, the supervisor's timeline."""
    enterprise_id = await enterprise_named(bot, "Golden Dragon Restaurant", "91330100MA27XL0T4C")
    officer = await staff(bot, InviteSpec(Role.OFFICER, "fire"))
    other_officer = await staff(bot, InviteSpec(Role.OFFICER, "housing"))
    contact = await staff(
        bot, InviteSpec(Role.ENTERPRISE, enterprise_id=enterprise_id), username="dragon_safety"
    )
    supervisor = await staff(bot, InviteSpec(Role.SUPERVISOR))
    citizen = bot.user(language="en", first_name="Jing", username="chenjing88")

    # 1. The citizen reports; the fire department's officer gets it in one message: the photo
    # with the card as its caption, the place a link to the map, the buttons.
    number = await report(citizen)
    mark_o = len(officer.transcript)
    await bot.drain()
    new = since(officer, mark_o)
    assert [m.method for m in new] == ["sendPhoto"]
    card = new[0]
    assert not has_metadata(card.photo or b"")
    assert map_points(card) == [LAOCHENG]
    assert f"New report {number}" in card.plain
    # Real name: the card says so, and the officer is shown who it is on request, logged.
    assert "Reporter: real name (👤 shows who; every look is logged)" in card.plain
    assert "Chen Jing" not in card.plain
    assert "13912345678" not in card.plain
    for label in ("Accept", "Reject", "Transfer", "Duplicate", "Ask the reporter"):
        assert card.has_button(label)
    assert other_officer.transcript[-1].plain.startswith("You are now")  # housing heard nothing
    reported = await bot.db.read.cases.by_number(number)
    assert reported is not None
    case_id = reported.id
    assert tables.identity_reads(bot.db, case_id) == []
    await officer.press("Who reported it", message=card)
    assert officer.last.plain.startswith(f"Case {number} was reported by: Chen Jing, 13912345678")
    assert "Your look is in the case's log." in officer.last.plain
    assert tables.identity_reads(bot.db, case_id) == [(officer.user_id, "case")]

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
    assert [m.method for m in order] == ["sendPhoto"]  # the order is the photo's caption
    assert map_points(order[0]) == [LAOCHENG]
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
    await officer.press("Yes, close it", message=fix_card)
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
    assert "Are you sure?" in reopened.plain  # asked once more: it ends the case
    await officer.press("Yes, close it", message=reopened)
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
    # …and who was shown it: the officer, once, to handle the case.
    assert "Shown who reported it:\n2026-11-22 10:00 · Test · an officer of the case" in timeline
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


async def an_enterprise_self_report(bot: Bot) -> None:
    """An enterprise contact reports a hazard of their own enterprise, with a plan; the officer
    sets another deadline."""
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
    assert tables.reporter_of(bot.db, case.id)["name"] is None
