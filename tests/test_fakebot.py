"""Tests of the fake Bot API against a real python-telegram-bot Application."""

from __future__ import annotations

import json
import struct
import time
import urllib.request
import warnings
import zlib
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from telegram import (
    Bot,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaPhoto,
    Update,
)
from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, RetryAfter
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)
from telegram.warnings import PTBDeprecationWarning

from fakebotapi import FakeBotAPI, FakeBotServer, FakeRequest, FakeUser, ServedCall
from fakebotapi.api import image_size

USER_ID = 42


def make_png(width: int, height: int) -> bytes:
    """A valid RGB PNG of the given size."""

    def chunk(tag: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(tag + data))
        return struct.pack(">I", len(data)) + tag + data + crc

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    pixels = b"".join(b"\x00" + b"\xff\x80\x00" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(pixels))
        + chunk(b"IEND", b"")
    )


PNG = make_png(120, 80)


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/start: an HTML greeting."""
    assert update.effective_message is not None
    await update.effective_message.reply_html("<b>Welcome</b>, friend &amp; neighbour")


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Echo a text with a callback button and a URL button."""
    message = update.effective_message
    assert message is not None
    keyboard = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("Like 👍", callback_data="like"),
                InlineKeyboardButton("Site", url="https://example.org"),
            ]
        ]
    )
    await message.reply_text(f"echo: {message.text}", reply_markup=keyboard)


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer the query and replace the message text (dropping the keyboard)."""
    query = update.callback_query
    assert query is not None
    await query.answer("thanks")
    await query.edit_message_text(f"liked: {query.data}")


def add_handlers(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """The trivial bot under test."""
    app.add_handler(CommandHandler("start", start))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    app.add_handler(CallbackQueryHandler(on_button))


def build_app(api: FakeBotAPI) -> Application[Any, Any, Any, Any, Any, Any]:
    """An Application wired to the in-process fake."""
    app = (
        ApplicationBuilder()
        .token(api.token)
        .request(FakeRequest(api))
        .get_updates_request(FakeRequest(api))
        .build()
    )
    add_handlers(app)
    return app


@pytest.fixture
def api() -> FakeBotAPI:
    return FakeBotAPI()


@pytest.fixture
async def bot(api: FakeBotAPI) -> AsyncIterator[Bot]:
    async with Bot(api.token, request=FakeRequest(api), get_updates_request=FakeRequest(api)) as b:
        yield b


async def test_direct_delivery_echo_and_button(api: FakeBotAPI) -> None:
    app = build_app(api)
    async with app:
        user = FakeUser(
            api, USER_ID, deliver=lambda u: app.process_update(Update.de_json(u, app.bot))
        )
        await user.command("start")
        assert user.last.plain == "Welcome, friend & neighbour"
        assert user.last.entities == [{"type": "bold", "offset": 0, "length": 7}]

        await user.send("你好 😀")
        echoed = user.last
        assert echoed.plain == "echo: 你好 😀"
        assert echoed.buttons == [[("Like 👍", "like"), ("Site", "https://example.org")]]
        assert echoed.has_button("Like")
        assert [m.plain for m in user.new_messages()] == [
            "Welcome, friend & neighbour",
            "echo: 你好 😀",
        ]

        await user.press("Like")
        assert [a["text"] for a in user.callback_answers] == ["thanks"]
        assert echoed.plain == "liked: like"
        assert echoed.buttons == []
        assert [old.plain for old in echoed.edits] == ["echo: 你好 😀"]
        assert user.new_messages() == []
        with pytest.raises(AssertionError, match="no bot message with an inline keyboard"):
            await user.press("Like")
    assert [name for name, _ in api.calls][:1] == ["getMe"]


async def test_polling_in_process(api: FakeBotAPI) -> None:
    app = build_app(api)
    await app.initialize()
    await app.start()
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=0, timeout=1)
    try:
        user = FakeUser(api, USER_ID)
        await user.send("ping")
        reply = await user.wait_for_message()
        assert reply.plain == "echo: ping"
        await user.press("like")
        edited = await user.wait_for_message()
        assert edited is reply
        assert reply.plain == "liked: like"
    finally:
        started = time.monotonic()
        await app.updater.stop()
        await app.stop()
        await app.shutdown()
    assert time.monotonic() - started < 2
    assert api.pending_updates() == []  # PTB's final getUpdates confirmed everything
    assert api.calls_of("deleteWebhook")


async def test_http_server_polling_upload_and_download(api: FakeBotAPI) -> None:
    with FakeBotServer(api) as server:
        app = (
            ApplicationBuilder()
            .token(api.token)
            .base_url(server.base_url)
            .base_file_url(server.base_file_url)
            .build()
        )
        add_handlers(app)
        await app.initialize()
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=1)
        try:
            user = FakeUser(api, USER_ID)
            await user.send("over http")
            reply = await user.wait_for_message()
            assert reply.plain == "echo: over http"

            sent = await app.bot.send_photo(
                USER_ID, PNG, caption="<b>hazard</b> 1 &lt; 2", parse_mode="HTML"
            )
            assert (sent.photo[-1].width, sent.photo[-1].height) == (120, 80)
            assert user.last.photo == PNG
            assert user.last.plain == "hazard 1 < 2"

            update = await user.send_photo(PNG, caption="pothole")
            file_id = update["message"]["photo"][-1]["file_id"]
            downloaded = await (await app.bot.get_file(file_id)).download_as_bytearray()
            assert bytes(downloaded) == PNG

            api.fail_next("sendMessage", network=True)
            with pytest.raises(NetworkError):
                await app.bot.send_message(USER_ID, "lost")
            assert (await app.bot.send_message(USER_ID, "delivered")).text == "delivered"
        finally:
            await app.updater.stop()
            await app.stop()
            await app.shutdown()


def test_http_round_trip_delays_each_call_and_holds_up_no_other(api: FakeBotAPI) -> None:
    """A benchmark puts the server 400 ms away: four calls made at once each answer 400 ms
    later, all together rather than one after another, and the observer hears of each one as
    the server answers it, halfway through the round trip."""
    FakeUser(api, USER_ID)
    heard: list[ServedCall] = []
    with FakeBotServer(api, rtt_ms=400, on_call=heard.append) as server:
        url = f"{server.base_url}{api.token}/sendMessage?chat_id={USER_ID}&text="

        def call(n: int) -> float:
            began = time.monotonic()
            with urllib.request.urlopen(f"{url}hello{n}", timeout=10) as response:
                assert json.load(response)["ok"]
            return time.monotonic() - began

        began = time.monotonic()
        with ThreadPoolExecutor(4) as pool:
            took = list(pool.map(call, range(4)))
        elapsed = time.monotonic() - began
    assert min(took) >= 0.4
    assert elapsed < 1.2  # one after another, they would take 1.6 s
    assert sorted(c.params["text"] for c in heard) == ["hello0", "hello1", "hello2", "hello3"]
    for served in heard:
        assert (served.method, served.status, served.result["chat"]["id"]) == (
            "sendMessage",
            200,
            USER_ID,
        )
        assert began + 0.2 <= served.at <= began + elapsed - 0.2
    assert sorted(m.plain for m in api.sent) == ["hello0", "hello1", "hello2", "hello3"]


def test_http_accepts_json_and_query_string(api: FakeBotAPI) -> None:
    FakeUser(api, USER_ID)
    with FakeBotServer(api) as server:
        url = f"{server.base_url}{api.token}"
        with urllib.request.urlopen(f"{url}/getChat?chat_id={USER_ID}", timeout=5) as response:
            assert json.load(response)["result"]["type"] == "private"
        body = json.dumps({"chat_id": USER_ID, "text": "<i>json</i>", "parse_mode": "HTML"})
        request = urllib.request.Request(
            f"{url}/SENDMESSAGE",
            data=body.encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            assert json.load(response)["result"]["entities"][0]["type"] == "italic"
        with pytest.raises(urllib.error.HTTPError) as error:
            urllib.request.urlopen(f"{server.base_url}123:WRONG/getMe", timeout=5)
        error.value.close()
        assert error.value.code == 401
    assert api.sent[-1].plain == "json"


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda b: b.send_message(USER_ID, "x" * 4097), "Message is too long"),
        (lambda b: b.send_message(USER_ID, "<b> </b>", parse_mode="HTML"), "Message text is empty"),
        (lambda b: b.send_photo(USER_ID, PNG, caption="c" * 1025), "Message caption is too long"),
        (
            lambda b: b.send_message(
                USER_ID,
                "pick",
                reply_markup=InlineKeyboardMarkup(
                    [[InlineKeyboardButton("x", callback_data="d" * 65)]]
                ),
            ),
            "Button_data_invalid",
        ),
        (
            lambda b: b.send_message(USER_ID, "<b>unclosed", parse_mode="HTML"),
            "Can't parse entities: can't find end tag corresponding to start tag",
        ),
        (
            lambda b: b.send_message(USER_ID, "a < b", parse_mode="HTML"),
            "Can't parse entities: unsupported start tag",
        ),
        (
            lambda b: b.send_message(USER_ID, "1.5", parse_mode="MarkdownV2"),
            "Can't parse entities: character '.' is reserved",
        ),
        (lambda b: b.send_message(999, "hi"), "Chat not found"),
        (lambda b: b.get_file("nope"), "Wrong file identifier/http url specified"),
        (lambda b: b.answer_callback_query("123"), "Query is too old"),
        (lambda b: b.edit_message_text("x", USER_ID, 77), "Message to edit not found"),
    ],
)
async def test_bad_requests(bot: Bot, api: FakeBotAPI, call: Any, message: str) -> None:
    FakeUser(api, USER_ID)
    with pytest.raises(BadRequest) as error:
        await call(bot)
    # PTB strips "Bad Request: " and capitalize()s the rest, lower-casing it.
    assert str(error.value).startswith(message)


async def test_lengths_count_utf16_and_visible_text(bot: Bot, api: FakeBotAPI) -> None:
    FakeUser(api, USER_ID)
    await bot.send_message(USER_ID, "😀" * 2048)
    await bot.send_message(USER_ID, "<b>" + "x" * 4096 + "</b>", parse_mode="HTML")
    with pytest.raises(BadRequest, match="Message is too long"):
        await bot.send_message(USER_ID, "😀" * 2048 + "x")


async def test_edit_not_modified_and_file_too_big(bot: Bot, api: FakeBotAPI) -> None:
    FakeUser(api, USER_ID)
    message = await bot.send_message(USER_ID, "<b>same</b>", parse_mode="HTML")
    with pytest.raises(BadRequest, match="Message is not modified"):
        await bot.edit_message_text("<b>same</b>", USER_ID, message.message_id, parse_mode="HTML")
    await bot.edit_message_text("same", USER_ID, message.message_id)
    assert api.sent[-1].entities == []
    assert len(api.sent[-1].edits) == 1

    big = api.add_user_file(b"tiny", kind="document", file_size=21 * 1024 * 1024)
    with pytest.raises(BadRequest, match="File is too big"):
        await bot.get_file(big["file_id"])


async def test_failure_injection_and_blocking(bot: Bot, api: FakeBotAPI) -> None:
    FakeUser(api, USER_ID)
    api.fail_next("sendMessage", retry_after=3)
    # PTB warns that retry_after will become a timedelta; either form is fine here.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        with pytest.raises(RetryAfter) as flood:
            await bot.send_message(USER_ID, "flood")
        assert flood.value.retry_after in (3, timedelta(seconds=3))

    api.fail_next("sendMessage", network=True)
    with pytest.raises(NetworkError, match="fake network error"):
        await bot.send_message(USER_ID, "lost")

    api.fail_next("sendMessage", error_code=500, description="Internal Server Error")
    with pytest.raises(NetworkError, match="Internal Server Error"):
        await bot.send_message(USER_ID, "oops")

    api.block(USER_ID)
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(USER_ID, "hello?")
    api.unblock(USER_ID)
    assert (await bot.send_message(USER_ID, "back")).text == "back"
    assert [m.plain for m in api.sent] == ["back"]


async def test_wrong_token_is_rejected(api: FakeBotAPI) -> None:
    bot = Bot("999:WRONG", request=FakeRequest(api), get_updates_request=FakeRequest(api))
    with pytest.raises(InvalidToken):
        await bot.initialize()


async def test_media_group_and_commands(bot: Bot, api: FakeBotAPI) -> None:
    user = FakeUser(api, USER_ID)
    messages = await bot.send_media_group(
        USER_ID, [InputMediaPhoto(PNG), InputMediaPhoto(make_png(10, 20), caption="two")]
    )
    assert len(messages) == 2
    group = {m.media_group_id for m in user.transcript}
    assert len(group) == 1
    assert None not in group
    assert [m.photo is not None for m in user.transcript] == [True, True]
    assert user.transcript[1].plain == "two"
    assert (messages[1].photo[-1].width, messages[1].photo[-1].height) == (10, 20)

    await bot.set_my_commands([("start", "开始"), ("report", "举报隐患")], language_code="zh")
    assert [c["command"] for c in api.commands[("default", "zh")]] == ["start", "report"]
    assert [c.command for c in await bot.get_my_commands(language_code="zh")] == [
        "start",
        "report",
    ]
    assert await bot.get_my_commands() == ()
    with pytest.raises(BadRequest, match="Bot_command_invalid"):
        await bot.set_my_commands([("Start", "bad")])
    with pytest.raises(BadRequest, match="Invalid language code"):
        await bot.set_my_commands([("start", "开始")], language_code="zh-hans")
    await bot.set_my_commands([("start", "go")], scope=BotCommandScopeChat(USER_ID))
    assert api.commands[(f"chat:{USER_ID}", "")] == [{"command": "start", "description": "go"}]
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.set_my_commands([("start", "go")], scope=BotCommandScopeChat(999))


async def test_user_media_updates_parse(api: FakeBotAPI) -> None:
    received: list[Update] = []

    async def collect(data: dict[str, Any]) -> None:
        received.append(Update.de_json(data, None))

    user = FakeUser(api, USER_ID, username="citizen", deliver=collect)
    await user.send_location(31.23, 121.47)
    await user.send_contact("+8613800000000")
    await user.send_image_file(PNG)
    await user.send_sticker()
    await user.send_voice()
    await user.send_video()
    await user.send_animation()
    group = user.join_group(-100123)
    await user.command("start", "deep-link", chat_id=group["id"], mention=True)

    messages = [u.message for u in received]
    kinds = ["location", "contact", "document", "sticker", "voice", "video", "animation", "text"]
    for message, kind in zip(messages, kinds, strict=True):
        assert message is not None
        assert getattr(message, kind) is not None, kind
    location, contact, image, *_, command = [m for m in messages if m is not None]
    assert location.location is not None
    assert location.location.latitude == pytest.approx(31.23)
    assert contact.contact is not None
    assert contact.contact.user_id == USER_ID
    assert image.document is not None
    assert image.document.mime_type == "image/jpeg"
    stored = api.file(image.document.file_id)
    assert stored is not None
    assert api.download(stored.file_path) == PNG
    assert command.text == "/start@shaozi_test_bot deep-link"
    assert command.chat.type == "supergroup"
    assert command.entities[0].length == len("/start@shaozi_test_bot")


def test_image_size_reads_jpeg_header() -> None:
    jpeg = (
        b"\xff\xd8\xff\xe0"
        + struct.pack(">H", 16)
        + b"JFIF\x00"
        + b"\x00" * 9
        + b"\xff\xc0"
        + struct.pack(">HBHH", 17, 8, 480, 640)
    )
    assert image_size(jpeg) == (640, 480)
    assert image_size(PNG) == (120, 80)
    assert image_size(b"not an image") == (1, 1)
