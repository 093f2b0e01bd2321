"""Subscriptions in chat: the question at /start, /subscribe with an area, /unsubscribe."""

from __future__ import annotations

from bot.invites import InviteSpec
from bot.vocabulary.models import User
from bot.vocabulary.roles import Role
from fakebotapi import FakeUser
from tests.support.chat import Bot
from tests.support.people import staff

QUESTION = "Do you want reminders on safety days and warnings for your area?"


async def row(bot: Bot, user: FakeUser) -> User:
    found = await bot.db.read.users.get(user.user_id)
    assert found is not None
    return found


async def test_a_citizen_is_asked_once_at_start_and_yes_subscribes(bot: Bot) -> None:
    citizen = bot.user(language="en")
    await citizen.send("/start")
    welcome = citizen.last
    assert "Welcome to Shaozi" in welcome.plain
    assert welcome.plain.endswith(QUESTION)
    assert welcome.has_button("Yes, remind me")
    assert welcome.has_button("No, thanks")
    assert welcome.has_button("Report a hazard")  # the menu stays
    assert (await row(bot, citizen)).subscription_asked
    assert not (await row(bot, citizen)).subscribed

    # Asked once: the next /start just greets.
    await citizen.send("/start")
    assert QUESTION not in citizen.last.plain
    assert not citizen.last.has_button("Yes, remind me")

    await citizen.press("Yes, remind me", message=welcome)
    user = await row(bot, citizen)
    assert user.subscribed
    assert user.district is None
    # The answered question's buttons are gone; the menu is kept.
    assert not welcome.has_button("Yes, remind me")
    assert welcome.has_button("Report a hazard")
    offer = citizen.last
    assert "You are subscribed" in offer.plain
    assert offer.has_button("My area: Laocheng District")
    assert offer.has_button("The whole city")

    await citizen.press("My area: Laocheng District", message=offer)
    assert (await row(bot, citizen)).district == "laocheng"
    assert offer.plain.startswith("Done. You will get safety-day reminders, and warnings for")
    assert "Laocheng District" in offer.plain
    assert not offer.buttons


async def test_no_at_start_is_stored_and_not_asked_again(bot: Bot) -> None:
    citizen = bot.user(language="en")
    await citizen.send("/start")
    await citizen.press("No, thanks")
    assert citizen.last.plain == "All right, no reminders. Send /subscribe if you change your mind."
    user = await row(bot, citizen)
    assert user.subscription_asked
    assert not user.subscribed
    await citizen.send("/start")
    assert QUESTION not in citizen.last.plain


async def test_the_question_comes_with_the_welcome_in_any_language(bot: Bot) -> None:
    citizen = bot.user(language="zh-hans")
    await citizen.send("/start")
    welcome = citizen.last
    assert "欢迎使用「哨子」" in welcome.plain
    assert welcome.has_button("举报隐患")  # the menu, in Simplified Chinese
    assert [data for _label, data in welcome.buttons[-1]] == ["sub:1:yes", "sub:1:no"]
    await citizen.press("sub:1:yes", message=welcome)
    assert (await row(bot, citizen)).subscribed
    assert [
        data
        for line in welcome.buttons
        for _label, data in line
        if data and data.startswith("sub:")
    ] == []


async def test_staff_are_not_asked(bot: Bot) -> None:
    officer = await staff(bot, InviteSpec(Role.OFFICER, "fire"))
    await officer.send("/start")
    assert QUESTION not in officer.last.plain
    assert not officer.last.has_button("Yes, remind me")
    # They may still subscribe like anyone else.
    await officer.send("/subscribe")
    assert (await row(bot, officer)).subscribed


async def test_subscribe_with_a_district_then_unsubscribe(bot: Bot) -> None:
    user = bot.user(language="en")
    await user.send("/subscribe")
    offer = user.last
    assert "You are subscribed to reminders before safety days" in offer.plain
    assert (await row(bot, user)).subscribed
    labels = [label for line in offer.buttons for label, _data in line]
    assert len(labels) == len(bot.city.districts) + 1
    await user.press("My area: Dongpo District", message=offer)
    stored = await row(bot, user)
    assert stored.subscribed
    assert stored.district == "dongpo"

    # Changing to the whole city clears the district.
    await user.send("/subscribe")
    await user.press("The whole city")
    assert user.last.plain == (
        "Done. You will get safety-day reminders and warnings for the whole city. "
        "Send /unsubscribe to stop them."
    )
    assert (await row(bot, user)).district is None

    await user.send("/unsubscribe")
    assert user.last.plain == (
        "You will no longer get safety-day reminders or warnings. "
        "Send /subscribe to get them again."
    )
    assert not (await row(bot, user)).subscribed
    # Twice is harmless.
    await user.send("/unsubscribe")
    assert not (await row(bot, user)).subscribed


async def test_forged_area_is_refused(bot: Bot) -> None:
    user = bot.user(language="en")
    await user.send("/subscribe")
    await user.send("/unsubscribe")
    await user.press_data("sub:1:d:atlantis", user.last)
    assert user.callback_answers[-1]["text"] == "This button is no longer valid."
    await user.press_data("sub:1:maybe", user.last)
    assert user.callback_answers[-1]["text"] == "This button is no longer valid."
    stored = await row(bot, user)
    assert not stored.subscribed
    assert stored.district is None


async def test_subscribe_is_in_everyones_menu(bot: Bot) -> None:
    user = bot.user(language="en")
    await user.send("/help")
    assert "/subscribe — Get safety-day reminders and warnings" in user.last.plain
    assert "/unsubscribe — Stop safety-day reminders and warnings" in user.last.plain
    assert "/broadcast" not in user.last.plain
