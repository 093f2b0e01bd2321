"""The sandbox bot: the real Application, handlers, database, sweep and outbox on a fake API.

Everything here runs on one asyncio loop, the one sandbox/server.py serves the page on.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import html
import logging
import shutil
import tempfile
from collections.abc import Awaitable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from telegram import Update
from telegram.request import BaseRequest

from bot.city import CityConfig
from bot.clock import Clock, ManualClock
from bot.enterprises import check_character
from bot.i18n import Language
from bot.invites import InviteSpec, create_invite
from bot.schedule import run_sweeps
from bot.services import Services
from bot.settings import Settings
from bot.tg.app import (
    InstallHandlers,
    ShaoziApp,
    build_application,
    outbox_worker,
    shutdown,
    startup,
)
from bot.vocabulary.lifecycle import Status
from bot.vocabulary.roles import Role
from fakebotapi import FakeBotAPI, FakeRequest, FakeUser, SentMessage
from storage.db import Database

log = logging.getLogger(__name__)

TOKEN = "100000:SANDBOX-TOKEN"
# Never contacted (every request goes to the in-process fake API); a local, closed port anyway.
NOWHERE = "http://127.0.0.1:9"


def offline_settings(folder: Path, token: str, **overrides: Any) -> Settings:
    """Settings for a bot on the fake Bot API (the sandbox, tests, benchmarks): no .env, its
    database and data under ``folder``, no rate limiter unless ``overrides`` ask for one."""
    values: dict[str, Any] = {
        "token": token,
        "database": folder / "shaozi.db",
        "data_dir": folder / "data",
        "rate_limit": False,
        **overrides,
    }
    return Settings(_env_file=None, **values)


async def start_on_fake_api(
    api: FakeBotAPI,
    settings: Settings,
    install: InstallHandlers,
    *,
    city: CityConfig,
    clock: Clock | None = None,
    request: BaseRequest | None = None,
) -> ShaoziApp:
    """The bot built on the in-process fake Bot API, initialized and started (migrated).
    ``request`` carries its calls another way (a benchmark's network delay)."""
    app = build_application(
        settings,
        install,
        city=city,
        clock=clock,
        request=request or FakeRequest(api),
        get_updates_request=FakeRequest(api),
    )
    await app.initialize()
    await startup(app)
    return app


JSONDict = dict[str, Any]
T = TypeVar("T")

# Sample enterprises: (name, first 17 characters of the credit code, address).
ENTERPRISES = (
    ("金龙大酒店 Golden Dragon Restaurant", "91330100MA27XL0T4", "8 Market Lane"),
    ("东坡化工有限公司 Dongpo Chemicals Co.", "91330100MA2CH3M1X", "21 Riverside Road"),
    ("西湖物流仓储有限公司 Xihu Logistics", "91330100MA2W4R8HK", "5 Depot Street"),
)


@dataclass(frozen=True)
class Persona:
    """One sandbox user and the role an invite binds them to."""

    key: str
    label: str
    user_id: int
    first_name: str
    last_name: str
    username: str
    phone: str
    role: Role


PERSONAS = (
    Persona("citizen", "Citizen", 1001, "Jing", "Chen", "chenjing88", "13912345678", Role.CITIZEN),
    Persona("officer", "Officer", 2001, "Wei", "Li", "li_wei_fire", "13800000201", Role.OFFICER),
    Persona(
        "enterprise",
        "Enterprise",
        3001,
        "Fang",
        "Wang",
        "dragon_safety",
        "13800000301",
        Role.ENTERPRISE,
    ),
    Persona(
        "supervisor", "Supervisor", 4001, "Min", "Zhao", "zhao_min", "13800000401", Role.SUPERVISOR
    ),
    Persona("admin", "Admin", 5001, "Lei", "Sun", "sun_lei_admin", "13800000501", Role.ADMIN),
)

ADVANCES = {"hour": dt.timedelta(hours=1), "day": dt.timedelta(days=1)}


class SandboxError(Exception):
    """A request the sandbox cannot carry out (unknown user, message, …)."""


def credit_code(first17: str) -> str:
    return first17 + check_character(first17)


class Sandbox:
    """The running sandbox; start() before use, stop() after."""

    def __init__(
        self,
        city: CityConfig,
        install_handlers: InstallHandlers,
        *,
        data_dir: Path | None = None,
        timezone: str = "Asia/Shanghai",
        language: str = "zh-hans",
        start: dt.datetime | None = None,
    ) -> None:
        self.city = city
        self._install = install_handlers
        self._own_dir = data_dir is None
        self.data_dir = (
            Path(tempfile.mkdtemp(prefix="shaozi-sandbox-")) if data_dir is None else data_dir
        )
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.language = language
        self.clock = ManualClock(start or dt.datetime.now(dt.UTC))
        self.settings = offline_settings(
            self.data_dir,
            TOKEN,
            timezone=timezone,
            api_url=f"{NOWHERE}/bot",
            file_url=f"{NOWHERE}/file/bot",
        )
        self.api = FakeBotAPI(token=TOKEN, bot_username="shaozi_sandbox_bot", now=self.clock.now)
        self.app: ShaoziApp | None = None
        self.users: dict[str, FakeUser] = {}
        self.personas = {p.key: p for p in PERSONAS}
        self.enterprises: list[tuple[int, str]] = []
        self.department = city.departments[0]
        # What the users sent, by (chat id, message id): the page shows both sides.
        self._own: dict[tuple[int, int], JSONDict] = {}
        self._uploads: dict[tuple[int, int], bytes] = {}
        self._files: dict[tuple[int, int], tuple[str, str, bytes]] = {}
        self._lock = asyncio.Lock()

    # --- life cycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Build and start the bot, create the sample enterprises and bind every persona."""
        app = await start_on_fake_api(
            self.api, self.settings, self._install, city=self.city, clock=self.clock
        )
        self.app = app
        now = self.clock.now()
        districts = [d.code for d in self.city.districts]
        async with self.db.transaction() as tx:
            for index, (name, first17, address) in enumerate(ENTERPRISES):
                code = credit_code(first17)
                existing = await tx.enterprises.by_credit_code(code)
                if existing is not None:
                    self.enterprises.append((existing.id, name))
                    continue
                district = districts[index % len(districts)]
                self.enterprises.append(
                    (await tx.enterprises.add(name, code, district, address, now), name)
                )
        for persona in PERSONAS:
            user = FakeUser(
                self.api,
                persona.user_id,
                first_name=persona.first_name,
                last_name=persona.last_name,
                username=persona.username,
                language_code=self.language,
                deliver=self._deliver,
            )
            self.users[persona.key] = user
            spec = self._spec(persona)
            if spec is None or await self._bound(persona):
                continue
            code = await create_invite(self.db, spec, now)
            await self._record(persona.user_id, await user.send(f"/join {code}"))
        await self.settle()

    async def stop(self) -> None:
        if self.app is not None:
            await shutdown(self.app)
            await self.app.shutdown()
            self.app = None
        if self._own_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def _spec(self, persona: Persona) -> InviteSpec | None:
        if persona.role is Role.OFFICER:
            return InviteSpec(Role.OFFICER, self.department.code)
        if persona.role is Role.ENTERPRISE:
            return InviteSpec(Role.ENTERPRISE, enterprise_id=self.enterprises[0][0])
        if persona.role in (Role.SUPERVISOR, Role.ADMIN):
            return InviteSpec(persona.role)
        return None

    async def _bound(self, persona: Persona) -> bool:
        """Whether a kept database (--data) already binds the persona to its role."""
        memberships = await self.db.read.users.memberships(persona.user_id)
        return any(m.role == persona.role for m in memberships)

    @property
    def services(self) -> Services:
        assert self.app is not None, "the sandbox is not running"
        return self.app.bot_data.services

    @property
    def db(self) -> Database:
        return self.services.db

    async def _deliver(self, update: JSONDict) -> None:
        assert self.app is not None, "the sandbox is not running"
        await self.app.process_update(Update.de_json(update, self.app.bot))

    async def settle(self) -> dict[str, int]:
        """Run the sweep once at the clock's time, then send what the outbox has due."""
        assert self.app is not None
        queued = await run_sweeps(self.app.bot_data.services)
        report = await outbox_worker(self.app).drain()
        return {**queued, "sent": report.sent}

    # --- actions ----------------------------------------------------------------------------

    def user(self, key: str) -> FakeUser:
        user = self.users.get(key)
        if user is None:
            for candidate in self.users.values():
                if str(candidate.user_id) == str(key):
                    return candidate
            raise SandboxError(f"no sandbox user {key!r}")
        return user

    async def _record(self, chat_id: int, update: JSONDict) -> None:
        message = update.get("message")
        if message is not None:
            self._own[(chat_id, message["message_id"])] = message

    async def send(self, key: str, text: str) -> JSONDict:
        if not text.strip():
            raise SandboxError("empty message")
        user = self.user(key)
        return await self._act(user, user.send(text))

    async def press(self, key: str, message_id: int, data: str) -> JSONDict:
        user = self.user(key)
        message = self._bot_message(user.user_id, message_id)
        answers = len(user.callback_answers)
        result = await self._act(user, user.press_data(data, message))
        fresh = user.callback_answers[answers:]
        if fresh:
            result["answer"] = {"text": fresh[-1].get("text"), "alert": fresh[-1]["show_alert"]}
        return result

    async def photo(self, key: str, data: bytes, caption: str | None = None) -> JSONDict:
        if not data:
            raise SandboxError("empty photo")
        user = self.user(key)
        result = await self._act(user, user.send_photo(data, caption or None))
        self._uploads[(user.user_id, result["message_id"])] = data
        return result

    async def location(self, key: str, latitude: float, longitude: float) -> JSONDict:
        if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
            raise SandboxError("latitude must be within ±90 and longitude within ±180")
        user = self.user(key)
        return await self._act(user, user.send_location(latitude, longitude))

    async def contact(self, key: str) -> JSONDict:
        user = self.user(key)
        persona = self.personas[self._key_of(user)]
        return await self._act(user, user.send_contact(persona.phone))

    async def sticker(self, key: str) -> JSONDict:
        user = self.user(key)
        return await self._act(user, user.send_sticker())

    async def voice(self, key: str, seconds: int = 2) -> JSONDict:
        user = self.user(key)
        return await self._act(user, user.send_voice(duration=max(1, seconds)))

    async def send_file(
        self, key: str, data: bytes, name: str, mime: str, caption: str | None = None
    ) -> JSONDict:
        """Send a file as Telegram's 📎 → File does (an image sent so is not compressed)."""
        if not data:
            raise SandboxError("empty file")
        user = self.user(key)
        name = name.strip() or "file"
        mime = mime or "application/octet-stream"
        result = await self._act(user, user.send_document(data, name, mime, caption=caption))
        self._files[(user.user_id, result["message_id"])] = (name, mime, data)
        return result

    async def reply(self, key: str, message_id: int, text: str) -> JSONDict:
        """Telegram's Reply on one of the bot's messages, with a text."""
        if not text.strip():
            raise SandboxError("empty message")
        user = self.user(key)
        message = self._bot_message(user.user_id, message_id)
        return await self._act(user, user.reply_to(message, text))

    def reply_keyboard(self, key: str) -> JSONDict | None:
        """The keyboard the bot put in place of the user's own (Telegram's reply keyboard), as
        the user's app shows it now: the newest one the bot sent, until it sends one that
        removes it; one meant for a single answer is gone once the user has sent something."""
        user = self.user(key)
        chat = user.user_id
        shown: SentMessage | None = None
        for sent in self.api.messages_to(chat):
            markup = sent.reply_markup or {}
            if "keyboard" in markup:
                shown = sent
            elif markup.get("remove_keyboard"):
                shown = None
        if shown is None:
            return None
        markup = shown.reply_markup or {}
        answered = any(
            chat_id == chat and message_id > shown.message_id for chat_id, message_id in self._own
        )
        if markup.get("one_time_keyboard") and answered:
            return None
        rows = []
        for row in markup.get("keyboard") or []:
            buttons = []
            for button in row:
                spec = {"text": button} if isinstance(button, str) else button
                buttons.append(
                    {
                        "text": spec.get("text", ""),
                        "location": bool(spec.get("request_location")),
                        "contact": bool(spec.get("request_contact")),
                    }
                )
            rows.append(buttons)
        return {"message": shown.message_id, "rows": rows}

    async def _act(self, user: FakeUser, action: Any) -> JSONDict:
        async with self._lock:
            update = await action
            await self._record(user.user_id, update)
            await self.settle()
        message = update.get("message") or {}
        return {"ok": True, "message_id": message.get("message_id")}

    async def settled(self, work: Awaitable[T]) -> T:
        """Do ``work`` from outside the chat (another channel) as an action: alone, then the
        sweep and the outbox, so whoever it notifies sees it at once as after a message."""
        async with self._lock:
            result = await work
            await self.settle()
        return result

    async def advance(self, step: str) -> JSONDict:
        """Move the clock an hour, a day, or just past the next deadline; then sweep and send."""
        async with self._lock:
            if step in ADVANCES:
                self.clock.advance(ADVANCES[step])
            elif step == "deadline":
                target = await self._next_deadline()
                if target is None:
                    return {
                        "ok": False,
                        "error": "no open case has a deadline ahead",
                        **self.time(),
                    }
                self.clock.set(target)
            else:
                raise SandboxError(f"unknown clock step {step!r}: hour, day or deadline")
            self.api.wake_waiters()
            queued = await self.settle()
        return {"ok": True, **self.time(), "queued": queued}

    async def _next_deadline(self) -> dt.datetime | None:
        """Just past the earliest deadline of an assigned case; else the next reminder due."""
        assert self.app is not None
        await run_sweeps(self.app.bot_data.services)  # brings every case's next check up to date
        now = self.clock.now()
        deadline = await self.db.read.cases.next_deadline(Status.ASSIGNED.value, now)
        if deadline:
            return deadline + dt.timedelta(seconds=1)
        return await self.db.read.sweep.next_check(now)

    # --- reading ----------------------------------------------------------------------------

    def _key_of(self, user: FakeUser) -> str:
        return next(k for k, u in self.users.items() if u is user)

    def _bot_message(self, chat_id: int, message_id: int) -> SentMessage:
        for sent in self.api.messages_to(chat_id):
            if sent.message_id == message_id and not sent.deleted:
                return sent
        raise SandboxError(f"no bot message {message_id} in chat {chat_id}")

    def time(self) -> JSONDict:
        now = self.clock.now()
        local = now.astimezone(self.settings.zone)
        return {"now": now.isoformat(), "local": local.strftime("%Y-%m-%d %H:%M %a")}

    @property
    def display_language(self) -> Language:
        """The language the page names the city's places and categories in."""
        return Language.EN if self.language.startswith("en") else Language.ZH_HANS

    def places(self) -> list[JSONDict]:
        language = self.display_language
        places = []
        for district in self.city.districts:
            lat, lon = district.centre()
            places.append(
                {"name": district.name.get(language), "lat": round(lat, 5), "lon": round(lon, 5)}
            )
        return places

    def user_list(self) -> JSONDict:
        users = []
        for key, user in self.users.items():
            persona = self.personas[key]
            detail = ""
            if persona.role is Role.OFFICER:
                detail = self.department.name.get(Language.EN)
            elif persona.role is Role.ENTERPRISE and self.enterprises:
                detail = self.enterprises[0][1]
            users.append(
                {
                    "key": key,
                    "id": user.user_id,
                    "label": persona.label,
                    "role": persona.role.value,
                    "name": f"{persona.first_name} {persona.last_name}",
                    "detail": detail,
                    "phone": persona.phone,
                    "count": len(self.api.messages_to(user.user_id)),
                }
            )
        return {
            "users": users,
            "places": self.places(),
            "city": self.city.city.name.get(Language.EN),
            **self.time(),
        }

    def transcript(self, key: str) -> list[JSONDict]:
        user = self.user(key)
        chat = user.user_id
        entries: list[tuple[int, JSONDict]] = []
        for (chat_id, message_id), message in self._own.items():
            if chat_id == chat:
                entries.append((message_id, self._user_entry(chat, message)))
        for sent in self.api.messages_to(chat):
            entries.append((sent.message_id, self._bot_entry(sent)))
        entries.sort(key=lambda pair: pair[0])
        return [entry for _, entry in entries]

    def _local(self, moment: dt.datetime) -> str:
        return moment.astimezone(self.settings.zone).strftime("%m-%d %H:%M")

    def _user_entry(self, chat: int, message: JSONDict) -> JSONDict:
        entry: JSONDict = {
            "id": message["message_id"],
            "from": "user",
            "date": self._local(dt.datetime.fromtimestamp(message["date"], dt.UTC)),
            "html": html.escape(message.get("text") or message.get("caption") or ""),
        }
        if "photo" in message:
            entry["photo"] = f"/api/photo?user={chat}&message={message['message_id']}"
        if "location" in message:
            loc = message["location"]
            entry["location"] = {"lat": loc["latitude"], "lon": loc["longitude"]}
        if "contact" in message:
            entry["contact"] = message["contact"].get("phone_number")
        if "sticker" in message:
            entry["sticker"] = message["sticker"].get("emoji") or "🖼"
        if "voice" in message:
            entry["voice"] = int(message["voice"].get("duration") or 0)
        if "document" in message and "photo" not in message:
            entry["document"] = {
                "name": message["document"].get("file_name") or "file",
                "url": f"/api/document?user={chat}&message={message['message_id']}",
            }
        replied = message.get("reply_to_message")
        if replied is not None:
            quoted = replied.get("text") or replied.get("caption") or ""
            entry["reply_to"] = {"id": replied.get("message_id"), "text": quoted[:120]}
        return entry

    def _bot_entry(self, sent: SentMessage) -> JSONDict:
        source = sent.text if sent.text is not None else sent.caption
        if source and (sent.parse_mode or "").lower() == "html":
            body = source
        else:
            body = html.escape(sent.plain)
        entry: JSONDict = {
            "id": sent.message_id,
            "from": "bot",
            "date": self._local(sent.date),
            "html": body,
            "edited": sent.edit_date is not None,
            "deleted": sent.deleted,
        }
        if sent.photo is not None or (
            sent.file_id and sent.method in ("sendPhoto", "sendMediaGroup")
        ):
            entry["photo"] = f"/api/photo?user={sent.chat_id}&message={sent.message_id}"
        if sent.document is not None:
            entry["document"] = {
                "name": sent.document_name or "file",
                "url": f"/api/document?user={sent.chat_id}&message={sent.message_id}",
            }
        if sent.location is not None:
            entry["location"] = {"lat": sent.location[0], "lon": sent.location[1]}
        if sent.venue:
            entry["venue"] = sent.venue
        rows = (sent.reply_markup or {}).get("inline_keyboard") or []
        if rows and not sent.deleted:
            entry["buttons"] = [
                [
                    {"text": b.get("text", ""), "data": b.get("callback_data"), "url": b.get("url")}
                    for b in row
                ]
                for row in rows
            ]
        return entry

    def photo_bytes(self, chat: int, message_id: int) -> bytes | None:
        upload = self._uploads.get((chat, message_id))
        if upload is not None:
            return upload
        for sent in self.api.messages_to(chat):
            if sent.message_id == message_id:
                if sent.photo is not None:
                    return sent.photo
                stored = self.api.file(sent.file_id) if sent.file_id else None
                return stored.data if stored else None
        return None

    def document(self, chat: int, message_id: int) -> tuple[str, str, bytes] | None:
        """A file in the chat, the user's or the bot's: (name, type, bytes)."""
        upload = self._files.get((chat, message_id))
        if upload is not None:
            return upload
        for sent in self.api.messages_to(chat):
            if sent.message_id == message_id and sent.document is not None:
                name = sent.document_name or "file"
                return name, sent.document_mime or "application/octet-stream", sent.document
        return None
