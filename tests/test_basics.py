"""The foundation in chat: languages, /start, /help, /join, fallbacks and the error handler."""

from __future__ import annotations

import pytest
from telegram import Update
from telegram.ext import CommandHandler

from bot.invites import InviteSpec, create_invite
from bot.vocabulary.roles import Role
from tests.support.chat import Bot


async def test_start_speaks_the_telegram_language(bot: Bot) -> None:
    english = bot.user(language="en")
    await english.send("/start")
    assert "Welcome to Shaozi, the hazard whistle of Sample City" in english.last.plain
    assert english.last.has_button("Report a hazard")

    traditional = bot.user(language="zh-hant")
    await traditional.send("/start")
    assert "歡迎使用「哨子」" in traditional.last.plain
    assert "示例市" in traditional.last.plain

    simplified = bot.user(language="zh-hans")
    await simplified.send("/start")
    assert "欢迎使用「哨子」" in simplified.last.plain

    # A language the bot does not speak falls back to the city's default (Simplified Chinese).
    other = bot.user(language="fr")
    await other.send("/start")
    assert "欢迎使用「哨子」" in other.last.plain


async def test_language_choice_survives_a_restart(bot: Bot) -> None:
    user = bot.user(language="zh-hans")
    await user.send("/language")
    assert "请选择" in user.last.plain
    await user.press("English")
    assert user.last.plain == "I will speak English to you from now on."
    # The chat's own command menu follows the choice.
    chat_menus = [c for c in bot.api.calls_of("setMyCommands") if "chat_id" in str(c)]
    assert chat_menus
    await bot.restart()
    await user.send("/help")
    assert user.last.plain.startswith("Commands you can use:")


async def test_command_menus_are_registered_per_language(bot: Bot) -> None:
    menus = bot.api.commands
    texts = {str(key): [c["description"] for c in value] for key, value in menus.items()}
    joined = "\n".join(f"{k}: {v}" for k, v in texts.items())
    assert "Report a safety hazard" in joined
    assert "举报安全隐患" in joined


async def test_join_with_an_admin_invite_then_reuse_is_refused(bot: Bot) -> None:
    code = await create_invite(bot.db, InviteSpec(Role.ADMIN), bot.clock.now())
    first = bot.user(language="en")
    await first.send(f"/join {code}")
    assert first.last.plain.startswith("You are now administrator.")
    second = bot.user(language="en")
    await second.send(f"/join {code}")
    assert second.last.plain == "This invite code has already been used. Ask for a new one."
    await second.send("/join NOPE-NOPE-NOPE")
    assert second.last.plain.startswith("This invite code is not valid.")
    await second.send("/join")
    assert "/join followed by your invite code" in second.last.plain


async def test_officer_invite_names_the_department(bot: Bot) -> None:
    code = await create_invite(bot.db, InviteSpec(Role.OFFICER, "fire"), bot.clock.now())
    officer = bot.user(language="zh-hans")
    await officer.send(f"/join {code}")
    assert "部门工作人员" in officer.last.plain
    assert "消防救援支队" in officer.last.plain


async def test_expired_invite_is_refused(bot: Bot) -> None:
    code = await create_invite(bot.db, InviteSpec(Role.ADMIN), bot.clock.now())
    bot.clock.advance(days=8)
    user = bot.user(language="en")
    await user.send(f"/join {code}")
    assert user.last.plain == "This invite code has expired. Ask for a new one."


async def test_unknown_input_gets_an_answer(bot: Bot) -> None:
    user = bot.user(language="en")
    await user.send("/frobnicate")
    assert user.last.plain.startswith("I do not know that command.")
    await user.send("hello?")
    assert user.last.plain.startswith("I was not expecting that.")
    await user.send_sticker()
    assert user.last.plain.startswith("I was not expecting that.")
    await user.send("/cancel")
    assert user.last.plain.startswith("There is nothing to cancel.")


async def test_forged_button_does_nothing(bot: Bot) -> None:
    user = bot.user(language="en")
    await user.send("/start")
    await user.press_data("lang:1:xx", user.last)
    assert user.callback_answers[-1]["text"] == "This button is no longer valid."
    await user.press_data("admin:1:wipe", user.last)
    assert user.callback_answers[-1]["text"] == "This button is no longer valid."
    row = await bot.db.read.users.get(user.user_id)
    assert row is not None
    assert row.language is None


@pytest.mark.parametrize(
    ("language", "stale"),
    [
        ("zh-hans", "这个按钮已失效。"),
        ("zh-hant", "這個按鈕已失效。"),
        ("en", "This button is no longer valid."),
    ],
)
async def test_a_press_without_data_is_a_stale_button(bot: Bot, language: str, stale: str) -> None:
    """PTB passes a press without data to any handler with a pattern (the language chooser)."""
    user = bot.user(language=language)
    await user.send("/start")
    sent = len(user.transcript)
    await user.press_data(None, user.last)
    assert user.callback_answers[-1]["text"] == stale
    assert len(user.transcript) == sent  # no language chooser, nothing else


async def test_a_failing_handler_gets_an_apology_not_a_traceback(bot: Bot) -> None:
    async def explode(update: Update, context: object) -> None:
        raise RuntimeError("database on fire")

    assert bot.app is not None
    bot.app.handlers[0].insert(0, CommandHandler("boom", explode))
    user = bot.user(language="zh-hant")
    await user.send("/boom")
    assert user.last.plain == "抱歉，系統出了點問題。您已填寫的內容都已保存，請稍後再試。"
    assert "Traceback" not in "".join(user.texts())


async def test_a_report_in_progress_asks_its_question_again_in_the_new_language(
    bot: Bot,
) -> None:
    user = bot.user(language="en")
    await user.send("/report")
    await user.press("Fire safety")
    assert "Where is it?" in user.last.plain
    await user.send("/language")
    await user.press("简体中文")
    asked = user.last
    assert "第 2 步，共 6 步" in asked.plain
    keyboard = (asked.reply_markup or {}).get("keyboard", [])
    assert keyboard
    assert "📍" in keyboard[0][0]["text"]
    assert "Send my current location" not in keyboard[0][0]["text"]
