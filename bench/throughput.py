#!/usr/bin/env python3
"""Updates per second: a bare PTB echo bot against Shaozi's report flow, in one run.

Both run the real python-telegram-bot Application on the same in-process fake Bot API and handle
the same number of updates, one after another as long polling delivers them. Shaozi's side files
complete reports (/report, category, location, description, "no photo", anonymous, submit: every
step written to SQLite before the reply). The echo bot gets the very same updates, recorded from
Shaozi's run (texts, a location, button presses whose message carries its keyboard), and answers
each with one text: the message's text, the place, or the button's data. A second echo figure
feeds it short texts only ("hello 17"), the cheapest update there is. A third application, the
floor, makes for each update exactly the Bot API calls Shaozi made, with no logic and no
database: what PTB itself costs for what Shaozi says. A last figure has every user file their
report at the same time, each update committed to the durable inbox and handled by the update
processor, as the running bot does: what per-conversation concurrency gives (the others take
updates one after another, as a bot without it would).
Each is timed ``--rounds`` times, interleaved, and its best round counts (this machine's figures
move 20-30% between single runs). ``--rtt-ms`` makes every Bot API call wait that long for its
answer, as a network round trip to Telegram would (all wait alike).
Target: Shaozi at least half the echo's rate.
Run: python bench/throughput.py [--reports N] [--rounds N] [--rtt-ms MS]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from telegram import InlineKeyboardMarkup, ReplyKeyboardMarkup, ReplyKeyboardRemove, Update
from telegram.ext import Application, ApplicationBuilder, ContextTypes, TypeHandler

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import handlers
from bot.city import load_city
from bot.clock import ManualClock
from bot.settings import SAMPLE_CITY
from bot.tg.app import ShaoziApp, shutdown
from bot.tg.inbox import Inbox
from fakebotapi import FakeBotAPI, FakeRequest, FakeUser
from sandbox.core import offline_settings, start_on_fake_api

TOKEN = "123456:THROUGHPUT"


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer each update with one text: the message's text, its place, or the button's data."""
    if update.callback_query is not None:
        assert update.effective_chat is not None
        await context.bot.send_message(update.effective_chat.id, update.callback_query.data or "")
        return
    message = update.effective_message
    assert message is not None
    if message.location is not None:
        text = f"{message.location.latitude}, {message.location.longitude}"
    else:
        text = message.text or message.caption or "?"
    await message.reply_text(text)


Handler = Callable[[Update, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, None]]


class DistantRequest(FakeRequest):
    """The fake API behind a network: each call waits ``rtt`` seconds for its answer."""

    def __init__(self, api: FakeBotAPI, rtt: float) -> None:
        super().__init__(api)
        self.rtt = rtt

    async def do_request(self, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        await asyncio.sleep(self.rtt)
        return await super().do_request(*args, **kwargs)


def transport(api: FakeBotAPI, rtt: float) -> FakeRequest:
    """The in-process fake API, ``rtt`` seconds away (0: no wait at all)."""
    return DistantRequest(api, rtt) if rtt > 0 else FakeRequest(api)


def _timer() -> float:
    """Start of a timed section: the garbage of the previous one is collected first."""
    gc.collect()
    return time.perf_counter()


async def bare_app(
    handler: Handler, rtt: float
) -> tuple[FakeBotAPI, Application[Any, Any, Any, Any, Any, Any]]:
    """A bare PTB application that gives every update to ``handler``, on its own fake API."""
    api = FakeBotAPI(token=TOKEN)
    api.history_limit = 1000
    app = ApplicationBuilder().token(TOKEN).request(transport(api, rtt)).build()
    app.add_handler(TypeHandler(Update, handler))
    await app.initialize()
    return api, app


async def play(
    handler: Handler,
    updates: list[dict[str, Any]],
    rtt: float,
    before: Callable[[int], None] | None = None,
) -> float:
    """Seconds for a bare application to handle ``updates`` as the fake API would deliver
    them; ``before(n)`` runs before the n-th."""
    api, app = await bare_app(handler, rtt)
    start = _timer()
    for index, update in enumerate(updates):
        if before is not None:
            before(index)
        api.push_update(update)
        await app.process_update(Update.de_json(update, app.bot))
    elapsed = time.perf_counter() - start
    await app.shutdown()
    return elapsed


async def bare_echo_texts(count: int, rtt: float) -> float:
    """Seconds for the echo bot to handle ``count`` short text messages from 50 users."""
    api, app = await bare_app(echo, rtt)
    users = [_user(api, app, 10_000 + n) for n in range(50)]
    start = _timer()
    for n in range(count):
        await users[n % len(users)].send(f"hello {n}")
    elapsed = time.perf_counter() - start
    await app.shutdown()
    return elapsed


@dataclass
class Call:
    """One Bot API call the bot made, as it sent it, and the message id it got back."""

    method: str
    params: dict[str, Any]
    message_id: int | None


class Recorder:
    """The updates Shaozi got, and the Bot API calls it made while handling each."""

    def __init__(self, api: FakeBotAPI) -> None:
        self.updates: list[dict[str, Any]] = []
        self.calls: list[list[Call]] = []
        handle = api.handle

        def recording(method: str, params: Any, files: Any = None) -> tuple[int, Any]:
            status, body = handle(method, params, files)
            result = body.get("result") if isinstance(body, dict) else None
            message_id = result.get("message_id") if isinstance(result, dict) else None
            if self.calls:
                self.calls[-1].append(Call(method, dict(params), message_id))
            return status, body

        api.handle = recording  # type: ignore[method-assign]  # instrumented: records each call

    def start(self, update: dict[str, Any]) -> None:
        self.updates.append(update)
        self.calls.append([])


def _markup(raw: Any, bot: Any) -> Any:
    if raw is None:
        return None
    data = json.loads(raw) if isinstance(raw, str) else raw
    if "inline_keyboard" in data:
        return InlineKeyboardMarkup.de_json(data, bot)
    if "keyboard" in data:
        return ReplyKeyboardMarkup.de_json(data, bot)
    return ReplyKeyboardRemove()


async def replay(recorder: Recorder, rtt: float) -> tuple[float, int]:
    """Seconds for a bare PTB application to make, for each update, exactly the Bot API calls
    Shaozi made (same methods, texts and keyboards, built as PTB objects), with no logic and no
    database: the floor under Shaozi's rate. Also returns how many calls were replayed."""
    ids: dict[int, int] = {}
    todo: list[Call] = []
    made = 0

    async def act(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        nonlocal made
        bot = context.bot
        for call in todo:
            p = call.params
            markup = _markup(p.get("reply_markup"), bot)
            if call.method == "sendMessage":
                sent = await bot.send_message(
                    p["chat_id"], p["text"], parse_mode=p.get("parse_mode"), reply_markup=markup
                )
                if call.message_id is not None:
                    ids[call.message_id] = sent.message_id
            elif call.method == "editMessageText":
                await bot.edit_message_text(
                    p["text"],
                    chat_id=p["chat_id"],
                    message_id=ids[int(p["message_id"])],
                    parse_mode=p.get("parse_mode"),
                    reply_markup=markup,
                )
            elif call.method == "editMessageReplyMarkup":
                await bot.edit_message_reply_markup(
                    chat_id=p["chat_id"],
                    message_id=ids[int(p["message_id"])],
                    reply_markup=markup,
                )
            elif call.method == "answerCallbackQuery":
                await bot.answer_callback_query(
                    p["callback_query_id"], text=p.get("text"), show_alert=p.get("show_alert")
                )
            else:
                raise SystemExit(f"replay: no replay for {call.method}")
            made += 1

    def next_update(index: int) -> None:
        todo[:] = recorder.calls[index]

    elapsed = await play(act, recorder.updates, rtt, next_update)
    return elapsed, made


def _user(api: FakeBotAPI, app: Any, user_id: int, recorder: Recorder | None = None) -> FakeUser:
    async def deliver(update: dict[str, Any]) -> None:
        if recorder is not None:
            recorder.start(update)
        await app.process_update(Update.de_json(update, app.bot))

    return FakeUser(api, user_id, language_code="en", deliver=deliver)


async def one_report(user: FakeUser, lat: float, lon: float) -> None:
    """File one anonymous report without a photo (8 updates)."""
    await user.send("/report")
    await user.press("Other")
    await user.send_location(lat, lon)
    await user.send("A cracked gas pipe behind the market, smells strongly.")
    await user.press("No photo")
    await user.press("Go on without a photo")
    await user.press("Anonymous")
    await user.press("Submit")


async def shaozi_app(reports: int, folder: Path, rtt: float) -> tuple[FakeBotAPI, ShaoziApp]:
    """Shaozi on its own fake API, initialized, for ``reports`` reports in one day."""
    api = FakeBotAPI(token=TOKEN)
    # Enough history that every user still sees their last message when all report at once.
    api.history_limit = max(1000, 20 * reports)
    settings = offline_settings(folder, TOKEN)
    city = load_city(SAMPLE_CITY)
    # One simulated day: lift the per-person daily limit (each report has its own user anyway).
    limits = city.limits.model_copy(update={"reports_per_day": 10_000})
    city = city.model_copy(update={"limits": limits})
    app = await start_on_fake_api(
        api, settings, handlers.install, city=city, clock=ManualClock(), request=transport(api, rtt)
    )
    return api, app


def place(app: ShaoziApp, n: int) -> tuple[float, float]:
    """The n-th report's place: a grid about 300 m apart, so none is another's duplicate."""
    districts = app.bot_data.services.city.districts
    lat, lon = districts[n % len(districts)].centre()
    cell = n // len(districts)
    return lat + (cell % 20) * 0.0025 - 0.025, lon + (cell // 20 % 20) * 0.0035 - 0.035


def check_filed(user: FakeUser, n: int) -> None:
    if "Your report is filed as" not in user.last.plain:
        raise SystemExit(f"report {n} was not filed: {user.last.plain!r}")


async def shaozi_reports(reports: int, folder: Path, rtt: float) -> tuple[float, Recorder]:
    """Seconds for Shaozi to take ``reports`` complete reports, and what it got and did."""
    api, app = await shaozi_app(reports, folder, rtt)
    recorder = Recorder(api)
    start = _timer()
    for n in range(reports):
        user = _user(api, app, 20_000 + n, recorder)
        await one_report(user, *place(app, n))
        check_filed(user, n)
    elapsed = time.perf_counter() - start
    await shutdown(app)
    await app.shutdown()
    return elapsed, recorder


async def shaozi_at_once(reports: int, folder: Path, rtt: float) -> float:
    """Seconds for Shaozi to take ``reports`` complete reports filed at the same time, one user
    each, every update as the running bot takes it: committed to the inbox, then handled by the
    update processor (per-conversation order, SHAOZI_CONCURRENT_UPDATES at once). Each user
    waits for the answer to a step before the next, as a person does."""
    api, app = await shaozi_app(reports, folder, rtt)
    inbox, processor = app.update_queue, app.update_processor
    assert isinstance(inbox, Inbox)

    async def deliver(update: dict[str, Any]) -> None:
        received = Update.de_json(update, app.bot)
        if await inbox.keep(received):
            await processor.process_update(received, app.process_update(received))

    users = [FakeUser(api, 30_000 + n, language_code="en", deliver=deliver) for n in range(reports)]
    start = _timer()
    await asyncio.gather(*(one_report(user, *place(app, n)) for n, user in enumerate(users)))
    elapsed = time.perf_counter() - start
    for n, user in enumerate(users):
        check_filed(user, n)
    await shutdown(app)
    await app.shutdown()
    return elapsed


async def run(reports: int, rounds: int, rtt: float) -> None:
    shaozi_s = floor_s = echo_s = text_s = at_once_s = float("inf")
    recorder: Recorder | None = None
    calls = 0
    for _ in range(rounds):
        with tempfile.TemporaryDirectory() as folder:
            seconds, recorded = await shaozi_reports(reports, Path(folder), rtt)
        shaozi_s = min(shaozi_s, seconds)
        with tempfile.TemporaryDirectory() as folder:
            at_once_s = min(at_once_s, await shaozi_at_once(reports, Path(folder), rtt))
        recorder = recorder or recorded
        seconds, calls = await replay(recorder, rtt)
        floor_s = min(floor_s, seconds)
        echo_s = min(echo_s, await play(echo, recorder.updates, rtt))
        text_s = min(text_s, await bare_echo_texts(len(recorder.updates), rtt))
    assert recorder is not None
    updates = len(recorder.updates)
    shaozi_rate, echo_rate, text_rate = updates / shaozi_s, updates / echo_s, updates / text_s
    floor_rate = updates / floor_s
    at_once_rate = updates / at_once_s
    ratio, text_ratio = shaozi_rate / echo_rate, shaozi_rate / text_rate
    own = 1 - floor_s / shaozi_s
    away = f", every Bot API call {rtt * 1000:g} ms away" if rtt else ""
    print(f"{updates} updates each ({reports} complete reports of 8 steps for Shaozi){away};")
    print(f"the best of {rounds} rounds each")
    print(f"bare PTB echo, the same updates: {echo_rate:.0f} updates/s ({echo_s:.2f} s)")
    print(f"bare PTB echo, short texts only: {text_rate:.0f} updates/s ({text_s:.2f} s)")
    print(f"Shaozi report flow with SQLite writes: {shaozi_rate:.0f} updates/s ({shaozi_s:.2f} s)")
    print(
        f"Shaozi, all {reports} reports at once through the inbox and the update processor:"
        f" {at_once_rate:.0f} updates/s ({at_once_s:.2f} s), {at_once_rate / shaozi_rate:.1f}"
        " times one at a time"
    )
    print(
        f"bare PTB making Shaozi's {calls} Bot API calls, no logic: {floor_rate:.0f} updates/s"
        f" ({floor_s:.2f} s); Shaozi's own code is {own:.0%} of its time"
    )
    print(
        f"ratio {ratio:.2f} (target at least 0.5); against short texts {text_ratio:.2f};"
        f" the floor's ratio {floor_rate / echo_rate:.2f}"
    )
    print(
        f"updates={updates} rtt_ms={rtt * 1000:g} rounds={rounds} echo_per_s={echo_rate:.0f}"
        f" shaozi_per_s={shaozi_rate:.0f} ratio={ratio:.2f} echo_text_per_s={text_rate:.0f}"
        f" ratio_text={text_ratio:.2f} floor_per_s={floor_rate:.0f}"
        f" floor_ratio={floor_rate / echo_rate:.2f} calls_per_update={calls / updates:.2f}"
        f" own_share={own:.2f} at_once_per_s={at_once_rate:.0f}"
        f" at_once_speedup={at_once_rate / shaozi_rate:.1f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reports", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rtt-ms", type=float, default=0.0)
    args = parser.parse_args()
    asyncio.run(run(args.reports, max(1, args.rounds), args.rtt_ms / 1000))


if __name__ == "__main__":
    main()
