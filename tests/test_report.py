"""A citizen reports a hazard: the six steps, edits, cancel, off-flow input, limits, duplicates."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from bot.photos import photo_path
from bot.tg.app import sweep_drafts
from bot.tg.context import Context
from bot.vocabulary.lifecycle import Status
from fakebotapi import FakeUser
from tests.support import tables
from tests.support.cases import LAOCHENG
from tests.support.chat import NUMBER, Bot
from tests.support.images import has_metadata, jpeg, png, png_bomb, truncated_jpeg

OUTSIDE = (31.5, 121.5)  # outside every district
DESCRIPTION = "The fire exit on floor 2 is locked with a chain since Monday."


FIRE_SAFETY = {"en": "Fire safety", "zh-hans": "消防安全", "zh-hant": "消防安全"}


async def at_the_photo_step(bot: Bot, language: str = "en") -> FakeUser:
    """A new user whose fire-safety report has reached its photos (step 4)."""
    user = bot.user(language=language)
    await user.send("/report")
    await user.press(FIRE_SAFETY[language])
    await user.send_location(*LAOCHENG)
    await user.send(DESCRIPTION)
    return user


async def fill_until_summary(
    user: FakeUser,
    *,
    category: str = "Fire safety",
    where: tuple[float, float] = LAOCHENG,
    description: str = DESCRIPTION,
    photos: tuple[bytes, ...] = (),
    anonymous: bool = True,
) -> None:
    """Walk an English-speaking user through steps 1–5."""
    await user.send("/report")
    await user.press(category)
    await user.send_location(*where)
    await user.send(description)
    for data in photos:
        await user.send_photo(data)
    if photos and len(photos) < 5:
        await user.press("Done")
    elif not photos:
        await user.press("No photo")
        await user.press("Go on without a photo")
    if anonymous:
        await user.press("Anonymous")
    else:
        await user.press("Real name")
        await user.send("Zhang San")
        await user.send_contact("+86 138 0013 8000")


def case_number(text: str) -> str:
    match = NUMBER.search(text)
    assert match, text
    return match.group(0)


async def test_anonymous_report_in_simplified_chinese(bot: Bot) -> None:
    user = bot.user(language="zh-hans")
    await user.send("/report")
    assert "第 1 步，共 6 步" in user.last.plain
    await user.press("消防安全")
    assert "第 2 步，共 6 步" in user.last.plain
    await user.send_location(*LAOCHENG)
    assert any("老城区" in t for t in user.texts()[-2:])
    assert "第 3 步，共 6 步" in user.last.plain
    await user.send("二楼消防通道被铁链锁住，已经三天了。")
    assert "第 4 步，共 6 步" in user.last.plain
    await user.send_photo(jpeg(seed=1))
    assert "1/5" in user.last.plain or "第 1 张" in user.last.plain
    await user.press("完成")
    assert "第 5 步，共 6 步" in user.last.plain
    await user.press("匿名")
    summary = user.last.plain
    assert "第 6 步，共 6 步" in summary
    assert "二楼消防通道被铁链锁住" in summary
    assert "匿名" in summary
    await user.press("提交")
    number = case_number(user.last.plain)
    assert number.startswith("YH-20261122-")
    assert "24" in user.last.plain  # the usual acceptance time, from the city configuration

    case = await bot.db.read.cases.by_number(number)
    assert case is not None
    assert case.status is Status.SUBMITTED
    assert case.anonymous
    reporter = tables.reporter_of(bot.db, case.id)
    assert (reporter["user_id"], reporter["name"], reporter["phone"]) == (user.user_id, None, None)
    assert reporter["channel"] == "telegram"
    assert case.district == "laocheng"
    assert case.department == "fire"
    events = await bot.db.read.cases.events(case.id)
    assert [(e.kind, e.to_status) for e in events] == [("submit", Status.SUBMITTED)]
    # The stored photo is the stripped copy.
    photos = await bot.db.read.cases.photo_hashes(case.id)
    assert len(photos) == 1
    stored = photo_path(bot.settings.photos_dir, photos[0]).read_bytes()
    assert not has_metadata(stored)
    # Nothing is left to resume.
    assert await bot.db.read.drafts.get(user.user_id) is None


async def test_real_name_report_in_english(bot: Bot) -> None:
    user = bot.user(language="en")
    await fill_until_summary(user, photos=(jpeg(seed=2), png(seed=3)), anonymous=False)
    summary = user.last.plain
    assert "Step 6 of 6" in summary
    assert "real name: Zhang San, 138****8000" in summary
    assert "Photos: 2" in summary
    await user.press("Submit")
    assert "Thank you! Your report is filed as" in user.last.plain
    assert "Fire and Rescue Detachment" in user.last.plain
    case = await bot.db.read.cases.by_number(case_number(user.last.plain))
    assert case is not None
    assert not case.anonymous
    reporter = tables.reporter_of(bot.db, case.id)
    assert (reporter["name"], reporter["phone"]) == ("Zhang San", "13800138000")
    assert reporter["user_id"] == user.user_id


async def test_button_steps_move_on_in_one_message_that_ends_as_the_receipt(bot: Bot) -> None:
    """Pressing a button turns its message into the next question, so the chat keeps no trail
    of spent questions; a question that needs a phone keyboard comes as a new message."""
    user = bot.user(language="en")
    await user.send("/report")
    categories = user.last
    await user.press("Fire safety")
    assert categories.buttons == []  # the place is asked in a new message (phone keyboard)
    assert "Where is it?" in user.last.plain
    await user.send_location(*LAOCHENG)
    await user.send(DESCRIPTION)
    photos = user.last
    count = len(user.transcript)
    await user.press("No photo")
    assert user.last is photos
    assert "Go on without a photo?" in photos.plain
    await user.press("Go on without a photo")
    assert "Step 5 of 6" in photos.plain
    await user.press("Anonymous")
    assert "Step 6 of 6" in photos.plain
    assert DESCRIPTION in photos.plain
    await user.press("Submit")
    assert len(user.transcript) == count  # four answers, no new message
    receipt = photos.plain
    assert DESCRIPTION in receipt  # what was sent stays on screen …
    assert "Thank you! Your report is filed as" in receipt  # … with its number
    assert photos.buttons == []
    assert await bot.db.read.cases.by_number(case_number(receipt)) is not None


async def test_no_photo_pressed_after_a_photo_keeps_the_photo(bot: Bot) -> None:
    user = await at_the_photo_step(bot)
    first_question = user.last
    await user.send_photo(jpeg(seed=4))
    # The step's first question still shows "No photo"; pressed now, it must not drop the photo.
    await user.press("No photo", message=first_question)
    assert "Photo 1 of 5 received" in first_question.plain
    assert not first_question.has_button("No photo")
    draft = await bot.db.read.drafts.get(user.user_id)
    assert draft is not None
    assert draft.step == "photos"
    assert len(draft.data["photos"]) == 1
    assert not draft.data["no_photo"]
    await user.press("Done", message=first_question)
    await user.press("Anonymous", message=first_question)
    assert "Photos: 1" in first_question.plain


async def test_typed_address_asks_the_district(bot: Bot) -> None:
    user = bot.user(language="en")
    await user.send("/report")
    await user.press("Gas safety")
    await user.send("12 Renmin Road, behind the market")
    assert "Which district is it in?" in user.last.plain
    await user.press("Laocheng")
    assert "Step 3 of 6" in user.last.plain
    await user.send("The gas hose of the noodle shop is cracked and smells.")
    await user.press("No photo")
    assert "handled much faster" in user.last.plain
    await user.press("Go on without a photo")
    await user.press("Anonymous")
    assert "12 Renmin Road, behind the market" in user.last.plain
    await user.press("Submit")
    case = await bot.db.read.cases.by_number(case_number(user.last.plain))
    assert case is not None
    assert (case.address, case.district, case.department) == (
        "12 Renmin Road, behind the market",
        "laocheng",
        "housing",
    )


@pytest.mark.parametrize("typed", ["东坡区", "東坡", "dongpo district", "ＤＯＮＧＰＯ"])
async def test_the_district_may_be_typed_by_its_name(bot: Bot, typed: str) -> None:
    user = bot.user(language="en")
    await user.send("/report")
    await user.press("Gas safety")
    await user.send("12 Renmin Road, behind the market")
    await user.send("Old Town")  # no district of that name: the buttons, again
    assert "Please choose with the buttons." in user.last.plain
    await user.send(typed)
    assert "Place noted: Dongpo District" in user.last.plain
    assert "Step 3 of 6" in user.last.plain


async def test_a_location_shared_at_the_district_step_keeps_the_typed_address(bot: Bot) -> None:
    user = bot.user(language="en")
    await user.send("/report")
    await user.press("Gas safety")
    await user.send("12 Renmin Road, behind the market")
    await user.send_location(*LAOCHENG)
    assert "Place noted: Laocheng District" in user.last.plain
    draft = await bot.db.read.drafts.get(user.user_id)
    assert draft is not None
    assert draft.data["address"] == "12 Renmin Road, behind the market"
    assert (draft.data["latitude"], draft.data["longitude"]) == LAOCHENG


async def test_location_outside_the_city_asks_the_district(bot: Bot) -> None:
    user = bot.user(language="en")
    await user.send("/report")
    await user.press("Other")
    await user.send_location(*OUTSIDE)
    assert any("outside the districts I know" in t for t in user.texts()[-2:])
    assert "Which district is it in?" in user.last.plain


async def test_editing_a_field_returns_to_the_summary(bot: Bot) -> None:
    user = bot.user(language="en")
    await fill_until_summary(user)
    await user.press("Edit")
    await user.press("Description")
    assert "Step 3 of 6" in user.last.plain
    await user.send("Actually: two fire exits are chained, floors 2 and 3.")
    assert "Step 6 of 6" in user.last.plain
    assert "two fire exits are chained" in user.last.plain
    await user.press("Edit")
    await user.press("Category")
    await user.press("Crowded venues")
    assert "Crowded venues, small premises" in user.last.plain
    await user.press("Edit")
    await user.press("Identity")
    await user.press("Real name")
    await user.send("Li Si")
    await user.send("13900139000")
    assert "real name: Li Si, 139****9000" in user.last.plain
    await user.press("Submit")
    case = await bot.db.read.cases.by_number(case_number(user.last.plain))
    assert case is not None
    assert case.description == "Actually: two fire exits are chained, floors 2 and 3."
    # Crowded venues in the old town go to the street office, not the fire brigade.
    assert (case.category, case.department) == ("crowded_venues", "laocheng_office")


async def test_a_photo_sent_first_starts_a_report_with_it(bot: Bot) -> None:
    user = bot.user(language="en")
    await user.send_photo(jpeg(seed=35))
    assert "I kept your photo for a new report" in user.last.plain
    assert "Step 1 of 6" in user.last.plain
    await user.press("Fire safety")
    await user.send_location(*LAOCHENG)
    await user.send(DESCRIPTION)
    assert "Photo 1 of 5 received" in user.last.plain
    await user.press("Done")
    await user.press("Anonymous")
    assert "Photos: 1" in user.last.plain
    await user.press("Submit")
    case = await bot.db.read.cases.by_number(case_number(user.last.plain))
    assert case is not None
    assert len(await bot.db.read.cases.photo_hashes(case.id)) == 1


async def test_the_edit_menu_leads_back_to_the_summary(bot: Bot) -> None:
    user = bot.user(language="en")
    await fill_until_summary(user)
    summary = user.last
    await user.press("Edit")
    assert user.last is summary  # the summary turns into the menu …
    assert "What do you want to change?" in summary.plain
    await user.press("Back", message=summary)
    assert "Step 6 of 6" in summary.plain  # … and back, changing nothing
    await user.press("Submit", message=summary)
    assert "Your report is filed as" in summary.plain


async def test_editing_the_photos_keeps_them_until_removed(bot: Bot) -> None:
    user = bot.user(language="en")
    await fill_until_summary(user, photos=(jpeg(seed=31), jpeg(seed=32)))
    await user.press("Edit")
    await user.press("Photos")
    assert "Photo 2 of 5 received" in user.last.plain
    await user.send_photo(jpeg(seed=33))
    await user.press("Done")
    assert "Photos: 3" in user.last.plain
    await user.press("Edit")
    await user.press("Photos")
    await user.press("Remove these photos")
    assert "The photos were removed." in user.last.plain
    assert "Send up to 5 photos" in user.last.plain
    await user.send_photo(jpeg(seed=34))
    await user.press("Done")
    assert "Photos: 1" in user.last.plain


async def test_cancel_by_command_and_by_button(bot: Bot) -> None:
    user = bot.user(language="en")
    await user.send("/report")
    await user.press("Fire safety")
    await user.send("/cancel")
    assert user.last.plain.startswith("Your report was cancelled; nothing was sent.")
    assert await bot.db.read.drafts.get(user.user_id) is None
    await fill_until_summary(user)
    await user.press("Cancel report")
    assert user.last.plain.startswith("Your report was cancelled")
    assert await bot.db.read.cases.count_for_user(user.user_id) == 0


async def test_report_started_twice_offers_to_continue(bot: Bot) -> None:
    user = bot.user(language="en")
    await user.send("/report")
    await user.press("Fire safety")
    await user.send("/report")
    assert "You have a report in progress (step 2 of 6)" in user.last.plain
    await user.press("Continue")
    assert "Step 2 of 6" in user.last.plain
    await user.send("/report")
    await user.press("Start over")
    assert "Step 1 of 6" in user.last.plain


@pytest.mark.parametrize(
    ("step_setup", "send", "expected"),
    [
        ("category", "sticker", "Stickers cannot be part of a report."),
        ("location", "voice", "I cannot use voice messages; please type instead."),
        ("category", "voice", "I cannot use voice messages; please choose with the buttons."),
        ("photos", "voice", "I cannot use voice messages; please send a photo, or choose below."),
        ("identity", "photo", "The photo step is done. To change the photos, press ✏️ Edit"),
        ("location", "video", "Videos cannot be attached to a report"),
        ("location", "photo", "Photos come at step 4"),
        ("category", "text", "Please choose with the buttons."),
        ("description", "location", "The place is already noted"),
        ("description", "short", "at least 10 characters"),
        ("description", "long", "That is 2001 characters; the limit is 2000."),
        # Telegram counts an emoji as two: 1,001 of them would not fit where they are shown.
        ("description", "emoji", "That is 2002 characters; the limit is 2000."),
        ("photos", "pdf", "This file is not a picture I can read."),
        ("photos", "broken", "This picture is damaged or incomplete."),
        ("photos", "bomb", "too many pixels"),
        ("photos", "gif_named_jpeg", "This file is not a picture I can read."),
        ("photos", "huge", "This file is larger than 20 MB."),
        ("phone", "bad_phone", "That does not look like a phone number."),
        ("phone", "other_contact", "Please share your own phone number"),
    ],
)
async def test_off_flow_input_is_explained_and_the_draft_kept(
    bot: Bot, step_setup: str, send: str, expected: str
) -> None:
    user = bot.user(language="en")
    await user.send("/report")
    if step_setup != "category":
        await user.press("Fire safety")
    if step_setup in ("description", "photos", "identity", "phone"):
        await user.send_location(*LAOCHENG)
    if step_setup in ("photos", "identity", "phone"):
        await user.send(DESCRIPTION)
    if step_setup in ("identity", "phone"):
        await user.send_photo(jpeg(seed=9))
        await user.press("Done")
    if step_setup == "phone":
        await user.press("Real name")
        await user.send("Wang Wu")
    draft_before = await bot.db.read.drafts.get(user.user_id)
    assert draft_before is not None
    senders: dict[str, Callable[[], Awaitable[object]]] = {
        "sticker": user.send_sticker,
        "voice": user.send_voice,
        "video": user.send_video,
        "photo": lambda: user.send_photo(jpeg(seed=4)),
        "text": lambda: user.send("fire!"),
        "location": lambda: user.send_location(*LAOCHENG),
        "short": lambda: user.send("fire"),
        "long": lambda: user.send("x" * 2001),
        "emoji": lambda: user.send("🔥" * 1001),
        "pdf": lambda: user.send_document(b"%PDF-1.4 ...", "plan.pdf", "application/pdf"),
        "broken": lambda: user.send_image_file(truncated_jpeg()),
        "bomb": lambda: user.send_image_file(png_bomb(), "big.png", "image/png"),
        "gif_named_jpeg": lambda: user.send_image_file(b"GIF89a" + b"\0" * 64),
        "huge": lambda: user.send_image_file(b"\xff\xd8" + b"\0" * (21 * 1024 * 1024)),
        "bad_phone": lambda: user.send("call me maybe"),
        "other_contact": lambda: user.send_contact("13700137000", own=False),
    }
    await senders[send]()
    said = "\n".join(user.texts()[-2:])
    assert expected in said
    assert "Traceback" not in said
    draft_after = await bot.db.read.drafts.get(user.user_id)
    assert draft_after is not None
    assert draft_after.step == draft_before.step
    assert draft_after.data == draft_before.data


async def test_old_buttons_do_nothing(bot: Bot) -> None:
    user = bot.user(language="en")
    await user.send("/report")
    category_prompt = user.last
    fire = category_prompt.buttons[0][0][1]
    assert fire is not None
    await user.press("Fire safety")
    # The category keyboard was taken off; a replayed press of it is refused, draft unchanged.
    assert category_prompt.buttons == []
    await user.press_data(fire, category_prompt)
    assert user.callback_answers[-1]["text"].startswith("That button is from an earlier message")
    draft = await bot.db.read.drafts.get(user.user_id)
    assert draft is not None
    assert draft.step == "location"
    assert draft.data["category"] == "fire"
    # A button of a cancelled report.
    await user.send("/cancel")
    await user.press_data(fire, category_prompt)
    assert "This report is no longer open" in user.callback_answers[-1]["text"]


async def test_confirm_twice_and_replayed_update_make_one_case(bot: Bot) -> None:
    user = bot.user(language="en")
    await fill_until_summary(user)
    summary = user.last
    confirm = next(data for row in summary.buttons for label, data in row if "Submit" in label)
    assert confirm is not None
    update = await user.press_data(confirm, summary)
    number = case_number(user.last.plain)
    await user.press_data(confirm, summary)
    assert user.callback_answers[-1]["text"] == f"This report is already filed as {number}."
    await bot.deliver(update)  # Telegram delivers the same update again after a crash
    assert await bot.db.read.cases.count_for_user(user.user_id) == 1


async def test_replayed_message_is_not_applied_twice(bot: Bot) -> None:
    user = await at_the_photo_step(bot)
    photo_update = await user.send_photo(jpeg(seed=5))
    await bot.deliver(photo_update)
    draft = await bot.db.read.drafts.get(user.user_id)
    assert draft is not None
    assert len(draft.data["photos"]) == 1
    assert "Photo 1 of 5 received" in user.last.plain


async def test_five_photos_is_the_most(bot: Bot) -> None:
    user = await at_the_photo_step(bot)
    for seed in range(10, 15):
        await user.send_photo(jpeg(seed=seed))
    assert any("That makes 5 photos" in t for t in user.texts()[-2:])
    assert "Step 5 of 6" in user.last.plain
    # No "photo n received … Done" is left to press once the step is over.
    assert not [t for t in user.texts() if "Send more, or press Done" in t]
    await user.send_photo(jpeg(seed=16))
    assert "The photo step is done" in "\n".join(user.texts()[-2:])


async def test_photos_leave_one_received_message_under_the_newest(bot: Bot) -> None:
    user = await at_the_photo_step(bot)
    for seed in (20, 21, 22):
        await user.send_photo(jpeg(seed=seed))
    received = [t for t in user.texts() if "received. Send more" in t]
    assert received == ["Step 4 of 6 · Photo 3 of 5 received. Send more, or press Done."]
    assert user.last.plain == received[0]
    await user.press("Done")
    assert "Step 5 of 6" in user.last.plain
    draft = await bot.db.read.drafts.get(user.user_id)
    assert draft is not None
    assert len(draft.data["photos"]) == 3


async def test_a_received_message_too_old_to_delete_loses_its_button(bot: Bot) -> None:
    user = await at_the_photo_step(bot)
    await user.send_photo(jpeg(seed=23))
    first = user.last
    bot.clock.advance(hours=49)  # Telegram lets a bot delete its messages for 48 hours
    await user.send_photo(jpeg(seed=24))
    assert not first.deleted
    assert "Photo 1 of 5 received" in first.plain
    assert not first.buttons
    assert "Photo 2 of 5 received" in user.last.plain
    assert user.last.has_button("Done")


async def test_daily_limit(bot: Bot) -> None:
    limit = bot.city.limits.reports_per_day
    user = bot.user(language="en")
    for i in range(limit):
        await fill_until_summary(user, where=(30.20 + i * 0.004, 120.08), category="Other")
        await user.press("Mine is different") if user.last.has_button("Mine is different") else None
        await user.press("Submit")
        assert "Thank you!" in user.last.plain
    await user.send("/report")
    assert f"You have sent {limit} reports today" in user.last.plain
    # A new day in the city's time zone (midnight Asia/Shanghai is 16:00 UTC).
    bot.clock.advance(hours=15)
    await user.send("/report")
    assert "Step 1 of 6" in user.last.plain


async def test_duplicate_offer_follow_or_go_on(bot: Bot) -> None:
    first = bot.user(language="en")
    await fill_until_summary(first, photos=(jpeg(seed=21),))
    await first.press("Submit")
    number = case_number(first.last.plain)

    # Someone else, 60 m away, same category: offered to follow.
    second = bot.user(language="en")
    await fill_until_summary(second, where=(LAOCHENG[0] + 0.0005, LAOCHENG[1] + 0.0003))
    assert "These open cases look like yours" in second.last.plain
    assert number in second.last.plain
    assert " m away" in second.last.plain
    await second.press(f"Same as {number}")
    assert f"You now follow case {number}" in second.last.plain
    assert await bot.db.read.drafts.get(second.user_id) is None
    await second.send("/my")
    assert number in second.last.plain
    # The follower reads the case, not its reporter: no description, no place finer than
    # the district, no photos; only that they follow it (#20).
    await second.send(f"/status {number}")
    status = second.last.plain
    assert "You reported the same hazard and follow this case" in status
    assert "District: Laocheng District" in status
    for absent in ("Description", "Place", "Photos", "Reported", "Another person reported"):
        assert absent not in status
    # Its reporter reads that someone else reported it too.
    await first.send(f"/status {number}")
    assert "Another person reported the same hazard" in first.last.plain

    # A third, far away but with the same photo: offered, and says it is different.
    third = bot.user(language="en")
    await fill_until_summary(third, where=(30.21, 120.28), photos=(jpeg(seed=21),))
    assert "similar photo" in third.last.plain
    await third.press("Mine is different")
    assert "Step 6 of 6" in third.last.plain
    await third.press("Submit")
    assert case_number(third.last.plain) != number


async def test_a_similar_case_closed_meanwhile_leaves_a_summary_that_submits(bot: Bot) -> None:
    first = bot.user(language="en")
    await fill_until_summary(first)
    await first.press("Submit")
    number = case_number(first.last.plain)
    second = bot.user(language="en")
    await fill_until_summary(second)
    assert "These open cases look like yours" in second.last.plain
    # Before the second decides, the department rejects the first; the second comes back.
    tables.execute(bot.db, "UPDATE cases SET status = 'rejected' WHERE number = ?", (number,))
    await second.send("/report")
    await second.press("Continue")
    assert "Step 6 of 6" in second.last.plain
    await second.press("Submit")
    assert "Your report is filed as" in second.last.plain


async def test_my_and_status(bot: Bot) -> None:
    user = bot.user(language="en")
    await user.send("/my")
    assert user.last.plain.startswith("You have no reports yet.")
    numbers = []
    for i in range(7):
        bot.clock.advance(minutes=5)
        await fill_until_summary(user, where=(30.20 + i * 0.004, 120.08), category="Other")
        if user.last.has_button("Mine is different"):
            await user.press("Mine is different")
        await user.press("Submit")
        numbers.append(case_number(user.last.plain))
    await user.send("/my")
    page = user.last.plain
    assert "(1–5 of 7)" in page
    assert page.index(numbers[-1]) < page.index(numbers[-2])  # newest first
    assert numbers[0] not in page
    listing = user.last
    await user.press("Older")
    assert numbers[0] in listing.plain  # the same message turns its page …
    await user.press("Newer", message=listing)
    assert user.last is listing  # … both ways
    assert "(1–5 of 7)" in listing.plain
    await user.press("Older", message=listing)
    await user.press(numbers[0])
    assert f"Case {numbers[0]}" in user.last.plain
    assert "Status: submitted" in user.last.plain
    assert "Reported" in user.last.plain

    stranger = bot.user(language="en")
    await stranger.send(f"/status {numbers[0]}")
    someone_elses = stranger.last.plain
    await stranger.send("/status YH-20991231-9999")
    nonexistent = stranger.last.plain.replace("YH-20991231-9999", numbers[0])
    assert someone_elses == nonexistent
    # A forged "open case" button of someone else's case.
    await stranger.send("/start")
    case = await bot.db.read.cases.by_number(numbers[0])
    assert case is not None
    await stranger.press_data(f"trk:1:case:{case.id}", stranger.last)
    assert stranger.callback_answers[-1]["text"] == "This button is no longer valid."
    seen = "\n".join(stranger.texts())
    assert "Description:" not in seen
    assert "Status:" not in seen


async def test_drafts_untouched_for_a_week_are_dropped(bot: Bot) -> None:
    user = bot.user(language="en")
    await user.send("/report")
    await user.press("Fire safety")
    bot.clock.advance(days=8)
    await user.send_location(*LAOCHENG)
    assert user.last.plain.startswith("I was not expecting that.")
    assert await bot.db.read.drafts.get(user.user_id) is None


async def test_the_hourly_sweep_drops_week_old_drafts(bot: Bot) -> None:
    stale, fresh = bot.user(language="en"), bot.user(language="en")
    await stale.send("/report")
    bot.clock.advance(days=6)
    await fresh.send("/report")
    bot.clock.advance(days=1, minutes=1)
    assert bot.app is not None
    await sweep_drafts(Context(bot.app))  # as the job queue calls it
    assert await bot.db.read.drafts.get(stale.user_id) is None
    assert await bot.db.read.drafts.get(fresh.user_id) is not None


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("zh-hans", "我无法使用语音消息，请发送照片，或在下方选择。"),
        ("zh-hant", "我無法使用語音訊息，請傳送照片，或在下方選擇。"),
        ("en", "I cannot use voice messages; please send a photo, or choose below."),
    ],
)
async def test_a_voice_message_at_the_photo_step_asks_for_a_photo(
    bot: Bot, language: str, expected: str
) -> None:
    user = await at_the_photo_step(bot, language)
    await user.send_voice()
    assert expected in "\n".join(user.texts()[-2:])
    draft = await bot.db.read.drafts.get(user.user_id)
    assert draft is not None
    assert draft.data["description"] == DESCRIPTION


NOT_A_PLACE = {
    "zh-hans": "这不是一个有效的地点",
    "zh-hant": "這不是一個有效的地點",
    "en": "That is not a place: a latitude lies between -90 and 90",
}


@pytest.mark.parametrize("language", ["zh-hans", "zh-hant", "en"])
@pytest.mark.parametrize(("latitude", "longitude"), [(91.0, 120.19), (30.28, 200.0)])
async def test_coordinates_off_the_earth_are_no_place_and_are_not_stored(
    bot: Bot, language: str, latitude: float, longitude: float
) -> None:
    user = bot.user(language=language)
    await user.send("/report")
    await user.press(FIRE_SAFETY[language])
    await user.send_location(latitude, longitude)
    assert NOT_A_PLACE[language] in "\n".join(user.texts()[-2:])
    draft = await bot.db.read.drafts.get(user.user_id)
    assert draft is not None
    assert draft.step == "location"
    assert draft.data.get("latitude") is None
    # The place step still takes a real place.
    await user.send_location(*LAOCHENG)
    after = await bot.db.read.drafts.get(user.user_id)
    assert after is not None
    assert after.step == "description"


@pytest.mark.parametrize(
    ("language", "note"),
    [
        ("zh-hans", "已取消修改，您的举报保持原样。"),
        ("zh-hant", "已取消修改，您的舉報保持原樣。"),
        ("en", "The change was cancelled; your report is as it was."),
    ],
)
async def test_cancel_during_an_edit_cancels_the_edit_not_the_report(
    bot: Bot, language: str, note: str
) -> None:
    user = bot.user(language="en")
    await fill_until_summary(user)
    await user.send("/language")
    await user.press({"zh-hans": "简体中文", "zh-hant": "繁體中文", "en": "English"}[language])
    await user.press({"zh-hans": "✏️ 修改", "zh-hant": "✏️ 修改", "en": "Edit"}[language])
    await user.press({"zh-hans": "身份", "zh-hant": "檢舉身分", "en": "Identity"}[language])
    await user.send("/cancel")
    said = "\n".join(user.texts()[-2:])
    assert note in said
    draft = await bot.db.read.drafts.get(user.user_id)
    assert draft is not None
    assert draft.step == "summary"
    assert draft.data["anonymous"] is True  # the identity step had cleared it
    assert draft.data["description"] == DESCRIPTION
    await user.press("✅")
    assert NUMBER.search(user.last.plain)


@pytest.mark.parametrize(
    ("language", "updated", "not_taken"),
    [
        ("zh-hans", "✏️ 隐患描述已按您的修改更新。", "我不采用修改过的消息。"),
        ("zh-hant", "✏️ 隱患描述已依您的修改更新。", "我不採用修改過的訊息。"),
        ("en", "✏️ The description now reads as you edited it.", "I do not take edited messages."),
    ],
)
async def test_an_edited_description_updates_the_report_and_other_edits_are_explained(
    bot: Bot, language: str, updated: str, not_taken: str
) -> None:
    user = bot.user(language=language)
    await user.send("/report")
    await user.press(FIRE_SAFETY[language])
    await user.send_location(*LAOCHENG)
    described = await user.send(DESCRIPTION)
    edited = "The fire exit on floor 3 is locked with a chain since Monday."
    await user.edit(described, edited)
    assert updated in "\n".join(user.texts()[-2:])
    draft = await bot.db.read.drafts.get(user.user_id)
    assert draft is not None
    assert draft.data["description"] == edited
    assert draft.step == "photos"  # still where it was
    # An edit the report cannot use is said so, and changes nothing.
    other = await user.send("hello")
    await user.edit(other, "hello again")
    assert not_taken in user.last.plain
    # An edit too short for a description is refused like a message would be.
    await user.edit(described, "fire")
    draft = await bot.db.read.drafts.get(user.user_id)
    assert draft is not None
    assert draft.data["description"] == edited
