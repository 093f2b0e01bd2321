"""An officer's /queue with many cases, the supervisor's /overdue, and finding an enterprise by
a credit code typed the way Chinese input methods type it."""

from __future__ import annotations

import datetime as dt

from bot.invites import InviteSpec
from bot.vocabulary.roles import Role
from fakebotapi import FakeUser, SentMessage
from tests.support.cases import enterprise_named
from tests.support.chat import SORRY, Bot, case_buttons, listed, pages
from tests.support.generated import DAY, Made, insert_cases
from tests.support.people import staff

CODE = "91350100M000100Y43"  # a valid code: its check character is 3


def made(
    bot: Bot,
    ident: int,
    department: str,
    *,
    age_days: float,
    status: str = "submitted",
    deadline_days: float | None = None,
) -> Made:
    """A case of ``department`` reported ``age_days`` ago; a deadline relative to now."""
    now = bot.clock.now()
    created = now - DAY * age_days
    accepted = created + dt.timedelta(hours=1) if status != "submitted" else None
    return Made(
        id=ident,
        number=f"YH-20261122-{ident:04d}",
        department=department,
        category="fire" if department == "fire" else "housing",
        district="laocheng",
        colour=None if status == "submitted" else "yellow",
        status=status,
        self_reported=False,
        created_at=created,
        accepted_at=accepted,
        assigned_at=None,
        deadline=None if deadline_days is None else now + DAY * deadline_days,
        closed_at=None,
        escalated_at=None,
        enterprise_id=None,
    )


async def test_every_one_of_35_waiting_cases_is_on_a_page_and_opens_with_a_way_back(
    bot: Bot,
) -> None:
    officer = await staff(bot, InviteSpec(Role.OFFICER, "fire"))
    # 30 new reports, oldest first; then 5 accepted cases, newer but past their deadline.
    new = [made(bot, n, "fire", age_days=60 - n) for n in range(1, 31)]
    late = [
        made(bot, n, "fire", age_days=5, status="accepted", deadline_days=-1 - n / 10)
        for n in range(31, 36)
    ]
    await insert_cases(bot, new + late)
    await officer.send("/queue")
    page = officer.last
    assert "Fire and Rescue Detachment · 35 cases waiting" in page.plain
    assert "(page 1 of 4)" in page.plain
    assert not page.has_button("« Previous")
    # What needs action first: the overdue ones, then the oldest reports.
    assert listed(page)[:5] == [c.number for c in late]
    assert "⏰" in page.plain.splitlines()[1]
    shown = await pages(officer, page)
    assert [len(p) for p in shown] == [10, 10, 10, 5]
    assert [n for p in shown for n in p] == [c.number for c in late + new]
    assert "(page 4 of 4)" in page.plain
    assert listed(page) == shown[3]
    # Back to page 2, then every case of it opens and leads back to page 2.
    await officer.press("« Previous", message=page)
    await officer.press("« Previous", message=page)
    assert "(page 2 of 4)" in page.plain
    before = page.plain
    for number in shown[1]:
        await officer.press(number, message=page)
        assert f"Case {number}" in page.plain
        assert page.has_button("Accept")  # the officer's own buttons are on the card
        await officer.press("« Back to the queue", message=page)
        assert page.plain == before
        assert case_buttons(page) == shown[1]
    assert not any(SORRY in str(a.get("text")) for a in officer.callback_answers)
    # Acting on a case opened from the list keeps the way back on every card it goes through.
    number = shown[1][0]
    await officer.press(number, message=page)
    await officer.press("Accept", message=page)
    assert page.has_button("« Back to the queue")  # beside the choice of colour
    await officer.press("yellow", message=page)
    await officer.press("general hazard", message=page)
    assert "accepted" in page.plain
    assert page.has_button("« Back to the queue")  # on the refreshed card
    await officer.press("« Back to the queue", message=page)
    assert "(page 2 of 4)" in page.plain


async def test_an_officer_of_two_departments_opens_cases_of_both(bot: Bot) -> None:
    officer = await staff(bot, InviteSpec(Role.OFFICER, "fire"))
    async with bot.db.transaction() as tx:
        await tx.users.add_membership(
            officer.user_id, Role.OFFICER.value, "housing", None, None, bot.clock.now()
        )
    fire = [made(bot, n, "fire", age_days=40 - n) for n in range(1, 33)]
    housing = [made(bot, n, "housing", age_days=50 - n) for n in range(33, 36)]
    await insert_cases(bot, fire + housing)
    await officer.send("/queue")
    page = officer.last
    assert "Fire and Rescue Detachment · 32 cases waiting" in page.plain
    shown = await pages(officer, page)
    assert {n for p in shown for n in p} == {c.number for c in fire + housing}
    # The last page ends the fire list and starts housing's, each under its heading.
    assert "Fire and Rescue Detachment · 32 cases waiting" in page.plain
    assert "Housing and Urban-Rural Development Bureau · 3 cases waiting" in page.plain
    for case in (fire[-1], housing[0]):
        await officer.press(case.number, message=page)
        assert f"Case {case.number}" in page.plain
        assert page.has_button("Accept")
        await officer.press("« Back to the queue", message=page)
        assert "(page 4 of 4)" in page.plain


async def test_forged_queue_buttons_are_answered_harmlessly(bot: Bot) -> None:
    officer = await staff(bot, InviteSpec(Role.OFFICER, "fire"))
    cases = [made(bot, n, "fire", age_days=30 - n) for n in range(1, 13)]
    await insert_cases(bot, cases)
    await officer.send("/queue")
    page = officer.last
    # A page past the end shows the last page.
    await officer.press_data("qu:1:999999", page)
    assert "(page 2 of 2)" in page.plain
    assert case_buttons(page) == [c.number for c in cases[10:]]
    before = page.plain
    harmless = {"You are not allowed to do that.", "This button is no longer valid."}
    for data in ("qu:1:x", "qu:1:²", "qu:1:-1", "qu:1", "qu:1:1:2"):
        answers = len(officer.callback_answers)
        await officer.press_data(data, page)
        assert officer.callback_answers[answers]["text"] in harmless
        assert page.plain == before
    case = cases[0]
    for args in ("q:x", "q:²", "zz:1", "q"):
        answers = len(officer.callback_answers)
        await officer.press_data(f"cs:1:open:{case.id}:0:{args}", page)
        assert officer.callback_answers[answers]["text"] == "You are not allowed to do that."
        assert page.plain == before
    # Someone who is no officer turns no page and opens nothing.
    citizen = bot.user(language="en")
    await citizen.send("/start")
    answers = len(citizen.callback_answers)
    await citizen.press_data("qu:1:0", citizen.last)
    await citizen.press_data(f"cs:1:open:{case.id}:0:q:0", citizen.last)
    assert [a["text"] for a in citizen.callback_answers[answers:]] == [
        "You are not allowed to do that."
    ] * 2
    assert case.number not in "\n".join(citizen.texts())


async def test_a_case_opened_from_the_overdue_list_leads_back_to_its_page(bot: Bot) -> None:
    supervisor = await staff(bot, InviteSpec(Role.SUPERVISOR))
    late = [
        made(bot, n, "fire", age_days=60, status="accepted", deadline_days=-30 + n)
        for n in range(1, 21)
    ]
    await insert_cases(bot, late)
    await supervisor.send("/overdue")
    page = supervisor.last
    await supervisor.press("Next ›", message=page)
    assert "page 2 of 3" in page.plain
    before = page.plain
    second_page = listed(page)
    assert second_page == [c.number for c in late[8:16]]
    await supervisor.press(second_page[3], message=page)
    assert f"Case {second_page[3]}" in page.plain
    await supervisor.press("« Back to the overdue list", message=page)
    assert page.plain == before
    assert page.has_button("‹ Previous")
    # A forged page number of the overdue list is refused, not a crash.
    answers = len(supervisor.callback_answers)
    await supervisor.press_data("ov:1:²", page)
    assert supervisor.callback_answers[answers]["text"] == "You are not allowed to do that."


async def ordering(bot: Bot) -> tuple[FakeUser, SentMessage]:
    """An officer about to order the fix of an accepted case, asked for the enterprise."""
    officer = await staff(bot, InviteSpec(Role.OFFICER, "fire"))
    await insert_cases(bot, [made(bot, 1, "fire", age_days=1, status="accepted")])
    await officer.send("/queue")
    card = officer.last
    await officer.press("YH-20261122-0001", message=card)
    await officer.press("Order an enterprise to fix it", message=card)
    assert "Type a part of its name or its credit code." in officer.last.plain
    return officer, card


async def test_a_full_width_credit_code_finds_the_enterprise(bot: Bot) -> None:
    await enterprise_named(bot, "Golden Dragon Restaurant", CODE)
    officer, _card = await ordering(bot)
    await officer.send("９１３５０１００Ｍ０００１００Ｙ４３")  # as a Chinese input method types it
    choice = officer.last
    assert "Golden Dragon Restaurant (91350100M000100Y43)" in choice.plain
    await officer.press("Golden Dragon Restaurant", message=choice)
    assert choice.has_button("days, by")


async def test_a_credit_code_with_a_wrong_check_character_is_explained(bot: Bot) -> None:
    await enterprise_named(bot, "Golden Dragon Restaurant", CODE)
    officer, _card = await ordering(bot)
    await officer.send("91350100M000100Y4B")
    assert officer.last.plain == (
        "The credit code 91350100M000100Y4B is not valid: its last (check) character is B, "
        "but for the first 17 characters it should be 3. Check the code for a typo.\n"
        "(Send /cancel to give up.)"
    )
    # Full-width, too; and a name that matches nothing is still told as before.
    await officer.send("９１３５　０１００　Ｍ０００　１００Ｙ　４Ｂ")
    assert "its last (check) character is B" in officer.last.plain
    await officer.send("Silver Phoenix")
    assert officer.last.plain.startswith("No enterprise matches “Silver Phoenix”.")
    # Still waiting for the enterprise: the right code finds it.
    await officer.send(CODE)
    assert "Golden Dragon Restaurant (91350100M000100Y43)" in officer.last.plain
