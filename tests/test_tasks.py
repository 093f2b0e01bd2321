"""An enterprise safety officer's /tasks with many orders, and the fix started from it."""

from __future__ import annotations

from bot.invites import InviteSpec
from bot.vocabulary.grading import Colour
from bot.vocabulary.lifecycle import Status
from bot.vocabulary.roles import Role
from fakebotapi import FakeUser, SentMessage
from tests.support.cases import accepted_and_ordered, assigned_case, enterprise_named, report
from tests.support.chat import NOT_ALLOWED, SORRY, Bot, case_buttons, listed, pages, since
from tests.support.generated import DAY, Made, insert_cases
from tests.support.images import jpeg
from tests.support.people import staff

HARMLESS = {NOT_ALLOWED, "This button is no longer valid."}


def order(
    bot: Bot, ident: int, enterprise_id: int, deadline_days: float, status: str = "assigned"
) -> Made:
    """A fire case ordered to ``enterprise_id``, due ``deadline_days`` from now."""
    now = bot.clock.now()
    return Made(
        id=ident,
        number=f"YH-20261122-{ident:04d}",
        department="fire",
        category="fire",
        district="laocheng",
        colour="yellow",
        status=status,
        self_reported=False,
        created_at=now - DAY * 20,
        accepted_at=now - DAY * 19,
        assigned_at=now - DAY * 18,
        deadline=now + DAY * deadline_days,
        closed_at=None,
        escalated_at=None,
        enterprise_id=enterprise_id,
    )


async def contact_of(bot: Bot, *enterprises: int) -> FakeUser:
    contact = await staff(bot, InviteSpec(Role.ENTERPRISE, enterprise_id=enterprises[0]))
    async with bot.db.transaction() as tx:
        for enterprise_id in enterprises[1:]:
            await tx.users.add_membership(
                contact.user_id, Role.ENTERPRISE.value, None, enterprise_id, None, bot.clock.now()
            )
    return contact


def line_of(message: SentMessage, number: str) -> str:
    return next(line for line in message.plain.splitlines() if number in line)


def nothing_went_wrong(user: FakeUser) -> None:
    assert not any(SORRY in str(a.get("text")) for a in user.callback_answers)
    assert not any(SORRY in text for text in user.texts())


async def reported_and_ordered(bot: Bot, officer: FakeUser, enterprise_id: int, days: int) -> str:
    """A citizen's report, accepted and ordered to the enterprise by ``officer``."""
    number = await report(bot.user(language="en"), photo_seed=40 + days)
    await accepted_and_ordered(bot, officer, number, enterprise_id, colour=Colour.YELLOW, days=days)
    await bot.drain()
    return number


# The tests ----------------------------------------------------------------------------------


async def test_25_orders_are_one_list_due_first_and_every_order_opens_with_a_way_back(
    bot: Bot,
) -> None:
    dragon = await enterprise_named(bot, "Golden Dragon Restaurant", "91330100MA27XL0T4C")
    jade = await enterprise_named(bot, "Jade Garden Teahouse", "91330100MA27XL0T5A")
    stranger = await enterprise_named(bot, "Other Company", "91330100MA27XL0T6B")
    contact = await contact_of(bot, dragon, jade)
    # 24 orders to fix, their deadlines shuffled across the two enterprises, five overdue;
    # one fix already sent (due first, but waiting on the department); another enterprise's.
    days = [(n * 7) % 24 - 5 + n / 100 for n in range(24)]
    mine = [order(bot, 101 + n, (dragon, jade)[n % 2], days[n]) for n in range(24)]
    sent = order(bot, 125, dragon, -10, status="fix_submitted")
    others = [order(bot, 201 + n, stranger, -20 + n) for n in range(3)]
    await insert_cases(bot, [*mine, sent, *others])
    due = [c.number for c in sorted(mine, key=lambda c: c.deadline or bot.clock.now())]

    mark = len(contact.transcript)
    await contact.send("/tasks")
    assert len(contact.transcript) == mark + 1  # one message, not one per order
    page = contact.last
    assert "25 open rectification orders:" in page.plain
    assert "(page 1 of 3)" in page.plain
    assert not page.has_button("« Previous")
    first = line_of(page, due[0])
    assert "days overdue" in first
    assert "Fire safety" in first
    assert "Deadline: " in first
    # The contact of two enterprises sees whose order each is.
    assert any(name in first for name in ("Golden Dragon Restaurant", "Jade Garden Teahouse"))

    shown = await pages(contact, page)
    assert [len(p) for p in shown] == [10, 10, 5]
    assert [n for p in shown for n in p] == [*due, sent.number]
    assert "(page 3 of 3)" in page.plain
    assert "fix awaiting review" in line_of(page, sent.number)
    assert "overdue" not in line_of(page, due[-1])
    for case in others:
        assert case.number not in "\n".join(contact.texts())

    # Back to page 2; each of its orders opens as its card and leads back to page 2.
    await contact.press("« Previous", message=page)
    assert "(page 2 of 3)" in page.plain
    before = page.plain
    for number in shown[1]:
        await contact.press(number, message=page)
        assert f"Case {number}" in page.plain
        assert page.has_button("Submit the fix")
        assert page.has_button("Ask for more time")
        await contact.press("« Back", message=page)
        assert page.plain == before
        assert case_buttons(page) == shown[1]
    assert len(contact.transcript) == mark + 1  # all of it in the one message
    nothing_went_wrong(contact)


async def test_forged_task_buttons_are_answered_harmlessly(bot: Bot) -> None:
    dragon = await enterprise_named(bot, "Golden Dragon Restaurant", "91330100MA27XL0T4C")
    stranger = await enterprise_named(bot, "Other Company", "91330100MA27XL0T6B")
    contact = await contact_of(bot, dragon)
    mine = [order(bot, 101 + n, dragon, n + 1) for n in range(12)]
    theirs = order(bot, 201, stranger, 3)
    await insert_cases(bot, [*mine, theirs])
    await contact.send("/tasks")
    page = contact.last
    # A page past the end shows the last page.
    await contact.press_data("tk:1:999999", page)
    assert "(page 2 of 2)" in page.plain
    assert case_buttons(page) == [c.number for c in mine[10:]]
    before = page.plain
    forged = [
        "tk:1:x",
        "tk:1:²",
        "tk:1:-1",
        "tk:1",
        "tk:1:",
        "tk:1:0:1:2",
        "tk:1:0:²",
        "tk:1:0:9999999",  # no such case
        f"tk:1:0:{theirs.id}",  # another enterprise's order
        f"cs:1:fix:{mine[0].id}:0:zz",
        f"cs:1:fix:{mine[0].id}:0:drop:x:1",
        f"cs:1:ext:{mine[0].id}:0:keep",
        f"cs:1:fix:{theirs.id}:0",
    ]
    for data in forged:
        answers = len(contact.callback_answers)
        await contact.press_data(data, page)
        assert contact.callback_answers[answers]["text"] in HARMLESS, data
        assert page.plain == before
    assert theirs.number not in "\n".join(contact.texts())
    assert await bot.db.read.inputs.newest(contact.user_id) is None  # no fix was started
    # Someone who is no contact of an enterprise turns no page and opens nothing.
    citizen = bot.user(language="en")
    await citizen.send("/start")
    answers = len(citizen.callback_answers)
    await citizen.press_data("tk:1:0", citizen.last)
    await citizen.press_data(f"tk:1:0:{mine[0].id}", citizen.last)
    assert [a["text"] for a in citizen.callback_answers[answers:]] == [NOT_ALLOWED] * 2
    assert mine[0].number not in "\n".join(citizen.texts())
    nothing_went_wrong(contact)


async def test_a_fix_started_from_the_list_reaches_the_officer(bot: Bot) -> None:
    dragon = await enterprise_named(bot, "Golden Dragon Restaurant", "91330100MA27XL0T4C")
    officer = await staff(bot, InviteSpec(Role.OFFICER, "fire"))
    contact = await contact_of(bot, dragon)
    number = await reported_and_ordered(bot, officer, dragon, 7)
    await insert_cases(bot, [order(bot, 101 + n, dragon, n + 1) for n in range(3)])
    await contact.send("/tasks")
    page = contact.last
    assert "4 open rectification orders:" in page.plain
    assert listed(page)[-1] == number  # due in 7 days: after the three due sooner
    await contact.press(number, message=page)
    assert f"Case {number}" in page.plain
    mark = len(contact.transcript)
    await contact.press("Photos", message=page)  # the hazard, as the order showed it
    assert [m.method for m in contact.transcript[mark:]] == ["sendPhoto"]
    await contact.press("Submit the fix", message=page)
    assert f"Case {number}: send photos" in contact.last.plain
    await contact.send_photo(jpeg(seed=77))
    await contact.send("Unlocked the exit and fitted a panic bar.")
    assert f"The fix of case {number} was sent to the department" in contact.last.plain
    mark = len(officer.transcript)
    await bot.drain()
    fix_card = officer.transcript[mark:][-1]
    assert f"Fix submitted for case {number}" in fix_card.plain
    assert "Fix note: Unlocked the exit and fitted a panic bar." in fix_card.plain
    assert fix_card.has_button("Verified: close the case")
    # Back on the list, the order waits for the department's check.
    await contact.press("« Back", message=page)
    assert "fix awaiting review" in line_of(page, number)
    nothing_went_wrong(contact)


async def test_a_second_case_does_not_drop_the_first_cases_fix_photos_unasked(bot: Bot) -> None:
    dragon = await enterprise_named(bot, "Golden Dragon Restaurant", "91330100MA27XL0T4C")
    contact = await contact_of(bot, dragon)
    one, two, three = (order(bot, 101 + n, dragon, n + 1) for n in range(3))
    await insert_cases(bot, [one, two, three])
    cards = {}
    for case in (one, two, three):
        await contact.send(f"/case {case.number}")
        cards[case.id] = contact.last

    # Two photos of the first case's fix; then "Submit the fix" on the second case.
    await contact.press("Submit the fix", message=cards[one.id])
    await contact.send_photo(jpeg(seed=81))
    await contact.send_photo(jpeg(seed=82))
    await contact.press("Submit the fix", message=cards[two.id])
    question = contact.last
    assert (
        f"You have sent 2 photos for the fix of case {one.number} but not yet the note. "
        f"Going on to case {two.number} drops those photos." == question.plain
    )
    pending = await bot.db.read.inputs.newest(contact.user_id)
    assert pending is not None
    assert (pending.case_id, len(pending.data["photos"])) == (one.id, 2)
    # Asking for more time would drop them too: asked first as well.
    await contact.press("Ask for more time", message=cards[two.id])
    assert f"Going on to case {two.number} drops those photos." in contact.last.plain
    await contact.press(f"Continue the fix of case {one.number}", message=question)
    assert not question.buttons  # answered
    assert f"Case {one.number}: Photo 2 received." in contact.last.plain
    # Pressing "Submit the fix" of the first case again keeps its photos too.
    await contact.press("Submit the fix", message=cards[one.id])
    assert f"Case {one.number}: Photo 2 received." in contact.last.plain
    await contact.send("Cleared the exit.")
    assert f"The fix of case {one.number} was sent" in contact.last.plain
    fixed = await bot.db.read.cases.get(one.id)
    assert fixed is not None
    assert fixed.status is Status.FIX_SUBMITTED
    assert len(await bot.db.read.cases.photo_hashes(one.id, "fix")) == 2

    # Dropping is the user's choice: one photo of the second case, then the third case.
    await contact.press("Submit the fix", message=cards[two.id])
    await contact.send_photo(jpeg(seed=83))
    await contact.press("Submit the fix", message=cards[three.id])
    question = contact.last
    assert f"You have sent 1 photo for the fix of case {two.number}" in question.plain
    drop = next(data for row in question.buttons for label, data in row if "Drop" in label)
    assert drop is not None
    await contact.press(f"Drop the photo, go on to case {three.number}", message=question)
    assert f"Case {three.number}: send photos" in contact.last.plain
    await contact.send_photo(jpeg(seed=84))
    # The same answer again (a replay) drops nothing of the third case's fix.
    await contact.press_data(drop, question)
    assert f"Case {three.number}: Photo 1 received." in contact.last.plain
    pending = await bot.db.read.inputs.newest(contact.user_id)
    assert pending is not None
    assert (pending.case_id, len(pending.data["photos"])) == (three.id, 1)
    nothing_went_wrong(contact)


async def test_a_major_hazards_order_asks_for_the_rectification_plan(bot: Bot) -> None:
    officer, contact, _supervisor, case_id = await assigned_case(bot, Colour.RED, days=30)
    order = next(m for m in contact.transcript if "Rectification order" in m.plain)
    assert "your rectification plan (治理方案) by 2026-11-29; the fix comes after" in order.plain
    assert not order.has_button("Submit the fix")  # not before the plan
    await contact.press("Send the rectification plan", message=order)
    assert "A major hazard needs a rectification plan" in contact.last.plain
    await contact.send("Fix it soon.")  # too short: asked again, nothing sent
    assert "A rectification plan needs at least 20 characters" in contact.last.plain
    plan = "Goal: clear exit. Measures: new door, 8000 yuan, Manager Li, by 12-20; guard meanwhile."
    await contact.send(plan)
    assert "The rectification plan of case" in contact.last.plain
    mark = len(officer.transcript)
    await bot.drain()
    card = since(officer, mark)[-1]
    assert "Rectification plan (治理方案) for case" in card.plain
    assert f"Rectification plan: {plan}" in card.plain
    # The order's button has done its work; /tasks no longer offers it.
    await contact.press("Send the rectification plan", message=order)
    assert "has been sent already" in contact.callback_answers[-1]["text"]
    await contact.send("/tasks")
    assert not contact.last.has_button("Send the rectification plan")
    assert contact.last.has_button("Submit the fix")
    case = await bot.db.read.cases.get(case_id)
    assert case is not None
    assert case.plan == plan
