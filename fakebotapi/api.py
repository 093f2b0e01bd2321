"""Transport-independent fake of the Telegram Bot API: state, validation and answers."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import mimetypes
import re
import struct
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, TypeVar

from fakebotapi.formatting import (
    EntityParseError,
    parse_formatted,
    utf16_len,
    visible_text,
)

__all__ = [
    "FakeBotAPI",
    "FakeNetworkError",
    "FileTuple",
    "SentMessage",
    "StoredFile",
    "poll_arguments",
]

JSONDict = dict[str, Any]
FileTuple = tuple[str | None, bytes, str]
"""An uploaded multipart part: (filename, content, content type)."""

MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_ANSWER_LENGTH = 200
# A bot may delete its own messages for 48 hours after sending them.
DELETE_WINDOW = timedelta(hours=48)
MAX_DOWNLOAD_SIZE = 20 * 1024 * 1024
MAX_UPLOAD_SIZE = 50 * 1024 * 1024
MAX_POLL_TIMEOUT = 30.0

# Form bodies carry every value as a string; these say how to decode which parameter.
_JSON_FIELDS = frozenset(
    {
        "reply_markup",
        "entities",
        "caption_entities",
        "media",
        "commands",
        "scope",
        "allowed_updates",
        "reply_parameters",
        "link_preview_options",
        "menu_button",
    }
)
_INT_FIELDS = frozenset(
    {
        "message_id",
        "offset",
        "limit",
        "user_id",
        "reply_to_message_id",
        "message_thread_id",
        "cache_time",
        "max_connections",
        "live_period",
        "heading",
        "proximity_alert_radius",
    }
)
_FLOAT_FIELDS = frozenset(
    {
        "latitude",
        "longitude",
        "horizontal_accuracy",
        "timeout",
    }
)
_BOOL_FIELDS = frozenset(
    {
        "show_alert",
        "disable_notification",
        "protect_content",
        "drop_pending_updates",
        "disable_web_page_preview",
        "allow_sending_without_reply",
        "has_spoiler",
        "show_caption_above_media",
        "disable_content_type_detection",
        "allow_paid_broadcast",
    }
)
_BUTTON_KINDS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
_CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
_FILE_FOLDERS = {
    "photo": "photos",
    "document": "documents",
    "voice": "voice",
    "video": "videos",
    "animation": "animations",
    "sticker": "stickers",
    "audio": "music",
    "video_note": "video_notes",
}
_DEFAULT_EXTENSIONS = {
    "photo": ".jpg",
    "voice": ".oga",
    "video": ".mp4",
    "animation": ".mp4",
    "sticker": ".webp",
    "audio": ".mp3",
    "video_note": ".mp4",
}
_HTTP_URL_RE = re.compile(r"^https?://[^\s/]+", re.IGNORECASE)
_BUTTON_URL_RE = re.compile(r"^(?:https?|tg)://\S+$|^[\w-]+(?:\.[\w-]+)+(?:/\S*)?$", re.IGNORECASE)
_COMMAND_RE = re.compile(r"^[a-z0-9_]{1,32}$")
_NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)
_WRONG_FILE = "Bad Request: wrong file identifier/HTTP URL specified"
_DEFAULT_DESCRIPTIONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
}


class FakeNetworkError(Exception):
    """Raised by FakeBotAPI.handle when the transport must act as if the connection broke."""


class _ApiError(Exception):
    """An error answer of the Bot API, raised inside method handlers."""

    def __init__(
        self, description: str, code: int = 400, parameters: JSONDict | None = None
    ) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters

    def body(self) -> JSONDict:
        body: JSONDict = {"ok": False, "error_code": self.code, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def poll_arguments(params: Mapping[str, Any]) -> tuple[int, int, float]:
    """Return (offset, limit, timeout) of a getUpdates call; timeout capped at 30 s."""

    def number(name: str, default: float) -> float:
        try:
            return float(params.get(name) or default)
        except (TypeError, ValueError):
            return default

    limit = int(number("limit", 100))
    limit = 100 if limit <= 0 else min(limit, 100)
    timeout = min(max(number("timeout", 0), 0.0), MAX_POLL_TIMEOUT)
    return int(number("offset", 0)), limit, timeout


def image_size(data: bytes) -> tuple[int, int]:
    """Read width and height from a PNG, GIF or JPEG header; (1, 1) when unknown."""
    width = height = 0
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
    elif data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        width, height = struct.unpack("<HH", data[6:10])
    elif data.startswith(b"\xff\xd8"):
        width, height = _jpeg_size(data)
    return max(width, 1), max(height, 1)


def _jpeg_size(data: bytes) -> tuple[int, int]:
    i = 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            i += 1
            continue
        marker = data[i + 1]
        # 0xFF fill bytes and standalone markers carry no length field.
        if marker == 0xFF:
            i += 1
            continue
        if marker in (0x01, 0xD8) or 0xD0 <= marker <= 0xD7:
            i += 2
            continue
        (length,) = struct.unpack(">H", data[i + 2 : i + 4])
        is_sof = 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC)
        if is_sof and i + 9 <= len(data):
            height, width = struct.unpack(">HH", data[i + 5 : i + 9])
            return width, height
        i += 2 + length
    return 0, 0


@dataclass
class StoredFile:
    """A file known to the fake server, sent by the bot or uploaded by a user."""

    file_id: str
    file_unique_id: str
    kind: str
    file_path: str
    data: bytes | None = None
    url: str | None = None
    file_size: int = 0
    file_name: str | None = None
    mime_type: str | None = None
    width: int = 0
    height: int = 0


@dataclass
class SentMessage:
    """One message the bot sent, with its edit history."""

    message_id: int
    chat_id: int
    method: str
    date: datetime
    text: str | None = None
    caption: str | None = None
    parse_mode: str | None = None
    entities: list[JSONDict] = field(default_factory=list)
    reply_markup: JSONDict | None = None
    photo: bytes | None = None
    document: bytes | None = None
    document_name: str | None = None
    document_mime: str | None = None
    location: tuple[float, float] | None = None
    venue: JSONDict | None = None
    media_url: str | None = None
    file_id: str | None = None
    media_group_id: str | None = None
    edits: list[SentMessage] = field(default_factory=list)
    deleted: bool = False
    reply_to_message_id: int | None = None
    edit_date: datetime | None = None
    raw: JSONDict = field(default_factory=dict, repr=False, compare=False)
    """The Message object as the Bot API returned it last (kept current across edits)."""

    _plain: tuple[str, str | None, str] | None = field(default=None, repr=False, compare=False)

    @property
    def plain(self) -> str:
        """Visible text of the text or caption: tags stripped, entities unescaped."""
        source = (self.text if self.text is not None else self.caption) or ""
        cached = self._plain
        if cached is not None and cached[0] is source and cached[1] == self.parse_mode:
            return cached[2]
        visible = visible_text(source, self.parse_mode)
        self._plain = (source, self.parse_mode, visible)
        return visible

    @property
    def buttons(self) -> list[list[tuple[str, str | None]]]:
        """Inline keyboard rows as (label, callback_data or url)."""
        rows = (self.reply_markup or {}).get("inline_keyboard") or []
        return [[_button_pair(button) for button in row] for row in rows]

    @property
    def reply_keyboard(self) -> list[list[str]]:
        """Labels of a reply (custom) keyboard, if the message set one."""
        rows = (self.reply_markup or {}).get("keyboard") or []
        return [[b if isinstance(b, str) else b.get("text", "") for b in row] for row in rows]

    def has_button(self, label_substring: str) -> bool:
        """Whether an inline button label contains `label_substring`."""
        return any(label_substring in label for row in self.buttons for label, _ in row)


@dataclass
class _Failure:
    retry_after: int | None
    network: bool
    error_code: int | None
    description: str | None
    remaining: int


@dataclass
class _CallbackQuery:
    user_id: int
    chat_id: int | None
    answered: bool = False


Handler = Callable[[JSONDict, dict[str, FileTuple]], Any]


_J = TypeVar("_J")


def _copy(value: _J) -> _J:
    """A deep copy of JSON data (several times faster than copy.deepcopy)."""
    copied: _J = json.loads(json.dumps(value))
    return copied


def _anonymous_chat(chat_id: int) -> JSONDict:
    return {"id": chat_id, "type": "private", "first_name": "User"}


class FakeBotAPI:
    """In-memory Telegram Bot API used by the in-process and HTTP transports."""

    strict_html_ampersand: ClassVar[bool] = True
    """Reject a bare '&' in HTML (Telegram tolerates it, but it usually means missing escaping)."""

    def __init__(
        self,
        *,
        token: str = "123456:TEST-TOKEN",
        bot_id: int = 123456,
        bot_username: str = "shaozi_test_bot",
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self.token = token
        self.bot_id = bot_id
        self.bot_username = bot_username
        self._now = now or (lambda: datetime.now(UTC))
        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        self._async_waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()

        self.sent: list[SentMessage] = []
        self._sent_by_chat: dict[int, list[SentMessage]] = {}
        self.calls: list[tuple[str, JSONDict]] = []
        # Benchmarks send 100,000 messages: keep only the newest this many (None: all).
        self.history_limit: int | None = None
        self.sent_total = 0
        # Benchmarks: treat any positive chat id as a user's private chat, without storing it.
        self.any_private_chat = False
        self.callback_answers: list[JSONDict] = []
        self.commands: dict[tuple[str, str], list[JSONDict]] = {}
        self.chat_actions: list[tuple[int, str]] = []
        self.menu_buttons: dict[int | None, JSONDict] = {}
        self.bot_profile: dict[tuple[str, str], str] = {}
        self.webhook: JSONDict | None = None
        self.blocked: set[int] = set()

        self._updates: list[JSONDict] = []
        self._next_update_id = 1
        self._chats: dict[int, JSONDict] = {}
        self._message_ids: dict[int, int] = {}
        self._user_messages: dict[tuple[int, int], JSONDict] = {}
        self._bot_messages: dict[tuple[int, int], SentMessage] = {}
        self._files: dict[str, StoredFile] = {}
        self._photo_groups: dict[str, list[str]] = {}
        self._file_counter = 0
        self._media_group_counter = 0
        self._query_counter = 0
        self._queries: dict[str, _CallbackQuery] = {}
        self._failures: dict[str, list[_Failure]] = {}
        self._chat_versions: dict[int, int] = {}
        self._chat_last: dict[int, SentMessage] = {}

        methods: dict[str, Handler] = {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "logOut": self._ok,
            "close": self._ok,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "setMyDescription": self._set_profile("description"),
            "getMyDescription": self._get_profile("description"),
            "setMyShortDescription": self._set_profile("short_description"),
            "getMyShortDescription": self._get_profile("short_description"),
            "setMyName": self._set_profile("name"),
            "getMyName": self._get_profile("name"),
            "sendMessage": self._send_message,
            "sendPhoto": self._send_photo,
            "sendDocument": self._send_document,
            "sendMediaGroup": self._send_media_group,
            "sendLocation": self._send_location,
            "sendVenue": self._send_venue,
            "sendChatAction": self._send_chat_action,
            "editMessageText": self._edit_message_text,
            "editMessageCaption": self._edit_message_caption,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "answerCallbackQuery": self._answer_callback_query,
            "getFile": self._get_file,
            "getChat": self._get_chat,
            "setChatMenuButton": self._set_chat_menu_button,
            "getChatMenuButton": self._get_chat_menu_button,
        }
        self._methods: dict[str, tuple[str, Handler]] = {
            name.lower(): (name, handler) for name, handler in methods.items()
        }

    # Random faults for resilience tests: (method, params) -> None, or a failure such as
    # {"retry_after": 3}, {"network": True}, {"error_code": 500, "description": "..."}.
    chaos: Callable[[str, JSONDict], JSONDict | None] | None = None
    # Called after a call succeeded, before its answer goes back (simulates a crash in flight).
    after_call: Callable[[str, JSONDict], None] | None = None

    # --- dispatch ---------------------------------------------------------------------------

    def handle(
        self,
        method: str,
        params: Mapping[str, Any],
        files: Mapping[str, FileTuple] | None = None,
    ) -> tuple[int, JSONDict]:
        """Answer one API call: returns (HTTP status, JSON body); may raise FakeNetworkError."""
        key = method.lower()
        name, handler = self._methods.get(key, (method, self._not_found))
        with self._lock:
            try:
                decoded = _decode_params(params)
            except _ApiError as exc:
                self.calls.append((name, dict(params)))
                return exc.code, exc.body()
            self.calls.append((name, decoded))
            self._trim()
            failure = self._take_failure(key)
            if failure is None and self.chaos is not None:
                spec = self.chaos(name, decoded)
                if spec:
                    failure = _Failure(
                        spec.get("retry_after"),
                        bool(spec.get("network")),
                        spec.get("error_code"),
                        spec.get("description"),
                        1,
                    )
            if failure is not None:
                if failure.network:
                    raise FakeNetworkError(f"fake network error in {name}")
                return self._failure_answer(failure)
            try:
                result = handler(decoded, dict(files or {}))
            except _ApiError as exc:
                return exc.code, exc.body()
        if self.after_call is not None:
            # A test may stop the bot here: Telegram has the message, the bot never hears back.
            self.after_call(name, decoded)
        return 200, {"ok": True, "result": result}

    def _trim(self) -> None:
        limit = self.history_limit
        if limit is None or len(self.calls) <= 2 * limit:
            return
        del self.calls[:-limit]
        del self.sent[:-limit]
        self._sent_by_chat = {}
        for kept in self.sent:
            self._sent_by_chat.setdefault(kept.chat_id, []).append(kept)
        newest = list(self._bot_messages.items())[-limit:]
        self._bot_messages = dict(newest)

    def calls_of(self, method: str) -> list[JSONDict]:
        """Parameters of every call to `method` (case-insensitive), oldest first."""
        with self._lock:
            return [params for name, params in self.calls if name.lower() == method.lower()]

    # --- failure injection ------------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        *,
        retry_after: int | None = None,
        network: bool = False,
        error_code: int | None = None,
        description: str | None = None,
        times: int = 1,
    ) -> None:
        """Make the next `times` calls of `method` fail (flood wait, dropped connection, error)."""
        with self._lock:
            self._failures.setdefault(method.lower(), []).append(
                _Failure(retry_after, network, error_code, description, times)
            )

    def _take_failure(self, key: str) -> _Failure | None:
        queue = self._failures.get(key)
        if not queue:
            return None
        failure = queue[0]
        failure.remaining -= 1
        if failure.remaining <= 0:
            queue.pop(0)
        return failure

    @staticmethod
    def _failure_answer(failure: _Failure) -> tuple[int, JSONDict]:
        if failure.retry_after is not None:
            code = failure.error_code or 429
            description = failure.description or (
                f"Too Many Requests: retry after {failure.retry_after}"
            )
            error = _ApiError(description, code, {"retry_after": failure.retry_after})
        else:
            code = failure.error_code or 400
            description = failure.description or _DEFAULT_DESCRIPTIONS.get(code, "Error")
            error = _ApiError(description, code)
        return error.code, error.body()

    # --- chats, users, clock ----------------------------------------------------------------

    @property
    def bot_user(self) -> JSONDict:
        """The bot as a Bot API User object."""
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": "Shaozi Test",
            "username": self.bot_username,
        }

    def timestamp(self) -> int:
        """Current time as a Unix timestamp, from the injected clock."""
        return int(self._now().timestamp())

    def add_chat(self, chat: JSONDict) -> None:
        """Make a chat known, so the bot may send to it."""
        with self._lock:
            self._chats[int(chat["id"])] = dict(chat)

    def chat(self, chat_id: int) -> JSONDict | None:
        """The Chat object of a known chat."""
        with self._lock:
            chat = self._chats.get(chat_id)
            return dict(chat) if chat else None

    def block(self, user_id: int) -> None:
        """The user blocks the bot: every send to their chat answers 403."""
        with self._lock:
            self.blocked.add(user_id)

    def unblock(self, user_id: int) -> None:
        """The user unblocks the bot."""
        with self._lock:
            self.blocked.discard(user_id)

    def next_message_id(self, chat_id: int) -> int:
        """Allocate the next message id in a chat (shared by user and bot messages)."""
        with self._lock:
            if self.history_limit is not None:
                chat_id = 0  # a benchmark: one counter for all chats keeps memory flat
            self._message_ids[chat_id] = self._message_ids.get(chat_id, 0) + 1
            return self._message_ids[chat_id]

    def new_callback_query_id(self) -> str:
        """Allocate a unique callback query id."""
        with self._lock:
            self._query_counter += 1
            return f"{self.bot_id}{self._query_counter:06d}"

    def get_message(self, chat_id: int, message_id: int) -> JSONDict | None:
        """A message (user's or bot's) as a Bot API Message object."""
        with self._lock:
            sent = self._bot_messages.get((chat_id, message_id))
            if sent is not None and not sent.deleted:
                return _copy(sent.raw)
            message = self._user_messages.get((chat_id, message_id))
            return _copy(message) if message else None

    def typed_in(self, chat_id: int) -> list[str]:
        """The texts and captions users sent in a chat (those not deleted), in no set order."""
        with self._lock:
            return [
                str(message.get("text") or message.get("caption") or "")
                for (chat, _id), message in self._user_messages.items()
                if chat == chat_id
            ]

    def messages_to(self, chat_id: int) -> list[SentMessage]:
        """All messages the bot sent to a chat, in order (edits applied in place)."""
        with self._lock:
            return list(self._sent_by_chat.get(chat_id, ()))

    def newest_to(self, chat_id: int) -> Iterator[SentMessage]:
        """The messages the bot sent to a chat, newest first, without copying a long chat."""
        with self._lock:
            sent = self._sent_by_chat.get(chat_id, [])
            count = len(sent)
        # Messages are only appended (or the list replaced when trimmed), so the first
        # ``count`` stay what they were.
        for index in range(count - 1, -1, -1):
            yield sent[index]

    def _resolve_chat(self, params: JSONDict, *, sending: bool = True) -> JSONDict:
        chat_id = params.get("chat_id")
        if chat_id is None or chat_id == "":
            raise _ApiError("Bad Request: chat_id is empty")
        chat: JSONDict | None = None
        if isinstance(chat_id, int):
            chat = self._chats.get(chat_id)
        elif isinstance(chat_id, str) and chat_id.startswith("@"):
            username = chat_id[1:].lower()
            chat = next(
                (c for c in self._chats.values() if (c.get("username") or "").lower() == username),
                None,
            )
        if chat is None and self.any_private_chat and isinstance(chat_id, int) and chat_id > 0:
            chat = _anonymous_chat(chat_id)
        if chat is None:
            raise _ApiError("Bad Request: chat not found")
        if sending and chat["type"] == "private" and chat["id"] in self.blocked:
            raise _ApiError("Forbidden: bot was blocked by the user", 403)
        return chat

    # --- updates ----------------------------------------------------------------------------

    def push_update(self, update: JSONDict) -> JSONDict:
        """Queue an update for getUpdates, assigning its update_id; returns it."""
        with self._lock:
            update["update_id"] = self._next_update_id
            self._next_update_id += 1
            self._remember(update)
            self._updates.append(update)
            self._notify()
            return update

    def _remember(self, update: JSONDict) -> None:
        """Record chats, user messages and callback queries carried by an update."""
        for key in ("message", "edited_message", "channel_post", "edited_channel_post"):
            message = update.get(key)
            if message:
                chat = message["chat"]
                self._chats.setdefault(chat["id"], dict(chat))
                self._user_messages[(chat["id"], message["message_id"])] = message
                self._message_ids[chat["id"]] = max(
                    self._message_ids.get(chat["id"], 0), message["message_id"]
                )
        query = update.get("callback_query")
        if query:
            message = query.get("message") or {}
            chat_id = (message.get("chat") or {}).get("id")
            self._queries[query["id"]] = _CallbackQuery(query["from"]["id"], chat_id)

    def _pending(self, offset: int) -> list[JSONDict]:
        """Drop updates confirmed by `offset` and return the rest."""
        if offset < 0:
            self._updates = self._updates[offset:]
        elif offset:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        return self._updates

    def pending_updates(self, offset: int = 0, limit: int = 100) -> list[JSONDict]:
        """Updates getUpdates would return now for `offset`."""
        with self._lock:
            return list(self._pending(offset)[:limit])

    def wait_for_updates_sync(
        self,
        offset: int,
        timeout: float,
        *,
        limit: int = 100,
        stop: threading.Event | None = None,
    ) -> list[JSONDict]:
        """Block (in a thread) until updates past `offset` exist, `timeout` or `stop` is set."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not self._pending(offset) and not (stop is not None and stop.is_set()):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
            return list(self._pending(offset)[:limit])

    # The timeout parameter mirrors getUpdates' own; asyncio.timeout cannot express "return []".
    async def wait_for_updates(
        self,
        offset: int,
        timeout: float,  # noqa: ASYNC109 - mirrors getUpdates' own parameter
        *,
        limit: int = 100,
    ) -> list[JSONDict]:
        """Wait (without threads) until updates past `offset` exist or `timeout` passes."""
        await self._wait_until(lambda: bool(self._pending(offset)), timeout)
        return self.pending_updates(offset, limit)

    def wake_waiters(self) -> None:
        """Wake every waiting getUpdates so it re-checks its stop condition."""
        with self._lock:
            self._notify()

    def _notify(self) -> None:
        self._cond.notify_all()
        for loop, event in list(self._async_waiters):
            try:
                loop.call_soon_threadsafe(event.set)
            except RuntimeError:
                # The waiter's loop is closed; nobody is listening any more.
                self._async_waiters.discard((loop, event))

    async def _wait_until(self, predicate: Callable[[], bool], seconds: float) -> bool:
        """Wait until `predicate()` (checked under the lock) holds; False on timeout."""
        loop = asyncio.get_running_loop()
        event = asyncio.Event()
        waiter = (loop, event)
        deadline = loop.time() + seconds
        with self._lock:
            self._async_waiters.add(waiter)
        try:
            while True:
                # Clear before checking so a change after the check still wakes us.
                event.clear()
                with self._lock:
                    if predicate():
                        return True
                remaining = deadline - loop.time()
                if remaining <= 0:
                    return False
                try:
                    async with asyncio.timeout(remaining):
                        await event.wait()
                except TimeoutError:
                    pass
        finally:
            with self._lock:
                self._async_waiters.discard(waiter)

    # --- transcript change tracking ---------------------------------------------------------

    def chat_version(self, chat_id: int) -> int:
        """A counter bumped whenever the bot sends, edits or deletes a message in the chat."""
        with self._lock:
            return self._chat_versions.get(chat_id, 0)

    async def wait_for_chat_change(
        self, chat_id: int, after_version: int, seconds: float
    ) -> SentMessage | None:
        """Wait until the chat's version exceeds `after_version`; the last changed message."""
        changed = await self._wait_until(
            lambda: self._chat_versions.get(chat_id, 0) > after_version, seconds
        )
        with self._lock:
            return self._chat_last.get(chat_id) if changed else None

    def _touch(self, sent: SentMessage) -> None:
        if self.history_limit is not None:
            return  # a benchmark: nobody waits on a chat, and per-chat state would only grow
        self._chat_versions[sent.chat_id] = self._chat_versions.get(sent.chat_id, 0) + 1
        self._chat_last[sent.chat_id] = sent
        self._notify()

    # --- files ------------------------------------------------------------------------------

    def _store_file(
        self,
        kind: str,
        *,
        data: bytes | None = None,
        url: str | None = None,
        file_name: str | None = None,
        mime_type: str | None = None,
        file_size: int | None = None,
    ) -> StoredFile:
        self._file_counter += 1
        number = self._file_counter
        extension = _DEFAULT_EXTENSIONS.get(kind, "")
        if file_name and "." in file_name:
            extension = "." + file_name.rsplit(".", 1)[1].lower()
        elif mime_type and kind == "document":
            extension = mimetypes.guess_extension(mime_type) or ""
        width = height = 0
        if kind == "photo" and data is not None:
            width, height = image_size(data)
        stored = StoredFile(
            file_id=f"fake-{kind}-{number}",
            file_unique_id=f"u{number}",
            kind=kind,
            file_path=f"{_FILE_FOLDERS.get(kind, 'documents')}/file_{number}{extension}",
            data=data,
            url=url,
            file_size=file_size if file_size is not None else len(data or b""),
            file_name=file_name,
            mime_type=mime_type,
            width=width or 1,
            height=height or 1,
        )
        self._files[stored.file_id] = stored
        return stored

    def _store_photo(self, data: bytes | None, url: str | None = None) -> StoredFile:
        """Store a photo as Telegram does: a thumbnail size plus the full size (returned)."""
        full = self._store_file("photo", data=data, url=url)
        group = [full.file_id]
        if max(full.width, full.height) > 90:
            thumb = self._store_file("photo", data=data, url=url)
            scale = 90 / max(full.width, full.height)
            thumb.width = max(1, round(full.width * scale))
            thumb.height = max(1, round(full.height * scale))
            group.insert(0, thumb.file_id)
        for file_id in group:
            self._photo_groups[file_id] = group
        return full

    def add_user_file(
        self,
        data: bytes,
        *,
        kind: str,
        file_name: str | None = None,
        mime_type: str | None = None,
        file_size: int | None = None,
    ) -> JSONDict:
        """Store a file a user uploads; returns file_id, file_unique_id and file_size."""
        with self._lock:
            stored = self._store_file(
                kind, data=data, file_name=file_name, mime_type=mime_type, file_size=file_size
            )
            return {
                "file_id": stored.file_id,
                "file_unique_id": stored.file_unique_id,
                "file_size": stored.file_size,
            }

    def add_user_photo(self, data: bytes) -> list[JSONDict]:
        """Store a photo a user sends; returns its PhotoSize list, largest last."""
        with self._lock:
            return self._photo_sizes(self._store_photo(data))

    def file(self, file_id: str) -> StoredFile | None:
        """The stored file for a file_id."""
        with self._lock:
            return self._files.get(file_id)

    def download(self, file_path: str) -> bytes | None:
        """Content served at `{base_file_url}{token}/{file_path}`, or None if unknown."""
        with self._lock:
            for stored in self._files.values():
                if stored.file_path == file_path:
                    return stored.data
            return None

    def _input_file(
        self, value: Any, files: Mapping[str, FileTuple], field_name: str, kind: str
    ) -> StoredFile:
        """Resolve a file parameter: an upload, an attach:// reference, a file_id or a URL."""
        if value is None and field_name in files:
            return self._upload(files[field_name], kind)
        if not isinstance(value, str) or not value:
            raise _ApiError(f"Bad Request: there is no {kind} in the request")
        if value.startswith("attach://"):
            part = files.get(value[9:])
            if part is None:
                raise _ApiError("Bad Request: can't parse InputMedia: media not found")
            return self._upload(part, kind)
        if value in self._files:
            stored = self._files[value]
            if stored.kind != kind:
                raise _ApiError("Bad Request: type of file mismatch")
            return stored
        if _HTTP_URL_RE.match(value):
            name = value.rsplit("/", 1)[-1].split("?", 1)[0] or None
            if kind == "photo":
                return self._store_photo(None, url=value)
            return self._store_file(kind, url=value, file_name=name)
        raise _ApiError(_WRONG_FILE)

    def _upload(self, part: FileTuple, kind: str) -> StoredFile:
        filename, content, content_type = part
        if not content:
            raise _ApiError("Bad Request: file must be non-empty")
        if len(content) > MAX_UPLOAD_SIZE:
            raise _ApiError("Request Entity Too Large", 413)
        if kind == "photo":
            return self._store_photo(content)
        return self._store_file(kind, data=content, file_name=filename, mime_type=content_type)

    def _photo_sizes(self, stored: StoredFile) -> list[JSONDict]:
        group = self._photo_groups.get(stored.file_id, [stored.file_id])
        return [_photo_size(self._files[file_id]) for file_id in group]

    # --- validation helpers -----------------------------------------------------------------

    def _format(
        self, text: Any, params: JSONDict, entities_key: str, *, caption: bool
    ) -> tuple[str, list[JSONDict]]:
        """Parse text/caption with its parse_mode; enforce Telegram's length limits."""
        text = "" if text is None else str(text)
        parse_mode = params.get("parse_mode")
        if parse_mode and str(parse_mode).lower() not in ("html", "markdown", "markdownv2"):
            raise _ApiError(f'Bad Request: unsupported parse_mode "{parse_mode}"')
        explicit = params.get(entities_key)
        try:
            if isinstance(explicit, list):
                plain, entities = parse_formatted(text, None)[0], explicit
            else:
                plain, entities = parse_formatted(
                    text, parse_mode, strict_ampersand=self.strict_html_ampersand
                )
        except EntityParseError as exc:
            raise _ApiError(f"Bad Request: can't parse entities: {exc}") from None
        length = utf16_len(plain)
        if caption:
            if length > MAX_CAPTION_LENGTH:
                raise _ApiError("Bad Request: message caption is too long")
        elif length == 0:
            raise _ApiError("Bad Request: message text is empty")
        elif length > MAX_TEXT_LENGTH:
            raise _ApiError("Bad Request: message is too long")
        return plain, entities

    @staticmethod
    def _markup(params: JSONDict) -> JSONDict | None:
        """Validate reply_markup; an empty inline keyboard counts as none."""
        markup = params.get("reply_markup")
        if markup is None or markup == "":
            return None
        if not isinstance(markup, dict):
            raise _ApiError("Bad Request: can't parse reply keyboard markup JSON object")
        if "inline_keyboard" in markup:
            rows = markup["inline_keyboard"]
            if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
                raise _ApiError(
                    'Bad Request: field "inline_keyboard" of the InlineKeyboardMarkup '
                    "must be an Array of Arrays"
                )
            for row in rows:
                for button in row:
                    _check_inline_button(button)
            return markup if any(rows) else None
        if "keyboard" in markup:
            rows = markup["keyboard"]
            if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
                raise _ApiError(
                    'Bad Request: field "keyboard" of the ReplyKeyboardMarkup '
                    "must be an Array of Arrays"
                )
            return markup
        if markup.get("remove_keyboard") or markup.get("force_reply"):
            return markup
        raise _ApiError("Bad Request: can't parse reply keyboard markup JSON object")

    def _reply_target(self, chat: JSONDict, params: JSONDict) -> JSONDict | None:
        reply = params.get("reply_parameters")
        if isinstance(reply, dict):
            message_id = reply.get("message_id")
            allow_missing = bool(reply.get("allow_sending_without_reply"))
        else:
            message_id = params.get("reply_to_message_id")
            allow_missing = bool(params.get("allow_sending_without_reply"))
        if message_id is None:
            return None
        message = self.get_message(chat["id"], int(message_id))
        if message is None:
            if allow_missing:
                return None
            raise _ApiError("Bad Request: message to be replied not found")
        message.pop("reply_to_message", None)
        return message

    # --- message bookkeeping ----------------------------------------------------------------

    def _new_message(
        self, chat: JSONDict, method: str, params: JSONDict, *, check_reply: bool = True
    ) -> SentMessage:
        markup = self._markup(params)
        reply = self._reply_target(chat, params) if check_reply else None
        sent = SentMessage(
            message_id=0,
            chat_id=chat["id"],
            method=method,
            date=self._now(),
            parse_mode=params.get("parse_mode"),
            reply_markup=markup,
            reply_to_message_id=reply["message_id"] if reply else None,
        )
        if reply:
            sent.raw["reply_to_message"] = reply
        return sent

    def _commit(self, sent: SentMessage, content: JSONDict) -> JSONDict:
        """Assign an id, store the message, and return its Message object."""
        sent.message_id = self.next_message_id(sent.chat_id)
        reply = sent.raw.get("reply_to_message")
        sent.raw = {
            "message_id": sent.message_id,
            "from": self.bot_user,
            "chat": dict(self._chats.get(sent.chat_id) or _anonymous_chat(sent.chat_id)),
            "date": int(sent.date.timestamp()),
        }
        if reply:
            sent.raw["reply_to_message"] = reply
        if sent.media_group_id:
            sent.raw["media_group_id"] = sent.media_group_id
        sent.raw.update(content)
        self._render(sent)
        self.sent.append(sent)
        self._sent_by_chat.setdefault(sent.chat_id, []).append(sent)
        self.sent_total += 1
        self._bot_messages[(sent.chat_id, sent.message_id)] = sent
        self._touch(sent)
        return _copy(sent.raw)

    def _render(self, sent: SentMessage) -> None:
        """Refresh the text, caption and keyboard parts of sent.raw from the dataclass."""
        raw = sent.raw
        for key in ("text", "entities", "caption", "caption_entities", "reply_markup"):
            raw.pop(key, None)
        if sent.text is not None:
            raw["text"] = sent.plain
            if sent.entities:
                raw["entities"] = sent.entities
        elif sent.caption:
            raw["caption"] = sent.plain
            if sent.entities:
                raw["caption_entities"] = sent.entities
        # Telegram echoes only inline keyboards in the returned Message.
        if sent.reply_markup and "inline_keyboard" in sent.reply_markup:
            raw["reply_markup"] = {"inline_keyboard": sent.reply_markup["inline_keyboard"]}
        if sent.edit_date is not None:
            raw["edit_date"] = int(sent.edit_date.timestamp())

    def _editable(self, params: JSONDict) -> SentMessage:
        if params.get("inline_message_id"):
            raise _ApiError("Bad Request: MESSAGE_ID_INVALID")
        chat = self._resolve_chat(params)
        message_id = params.get("message_id")
        if not isinstance(message_id, int):
            raise _ApiError("Bad Request: message identifier is not specified")
        sent = self._bot_messages.get((chat["id"], message_id))
        if sent is None or sent.deleted:
            if (chat["id"], message_id) in self._user_messages:
                raise _ApiError("Bad Request: message can't be edited")
            raise _ApiError("Bad Request: message to edit not found")
        return sent

    def _apply_edit(self, sent: SentMessage, **changes: Any) -> JSONDict:
        current = {name: getattr(sent, name) for name in changes}
        if current == changes:
            raise _ApiError(_NOT_MODIFIED)
        sent.edits.append(dataclasses.replace(sent, edits=[], raw=_copy(sent.raw)))
        for name, value in changes.items():
            setattr(sent, name, value)
        sent.edit_date = self._now()
        self._render(sent)
        self._touch(sent)
        return _copy(sent.raw)

    # --- method handlers --------------------------------------------------------------------

    def _ok(self, params: JSONDict, files: dict[str, FileTuple]) -> bool:
        return True

    def _not_found(self, params: JSONDict, files: dict[str, FileTuple]) -> None:
        raise _ApiError("Not Found", 404)

    def _get_me(self, params: JSONDict, files: dict[str, FileTuple]) -> JSONDict:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _get_updates(self, params: JSONDict, files: dict[str, FileTuple]) -> list[JSONDict]:
        if self.webhook is not None:
            raise _ApiError(
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
                409,
            )
        offset, limit, _ = poll_arguments(params)
        return list(self._pending(offset)[:limit])

    def _set_webhook(self, params: JSONDict, files: dict[str, FileTuple]) -> bool:
        url = params.get("url") or ""
        if not url:
            self.webhook = None
            return True
        if not str(url).startswith("https://"):
            raise _ApiError("Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
        self.webhook = dict(params)
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    def _delete_webhook(self, params: JSONDict, files: dict[str, FileTuple]) -> bool:
        self.webhook = None
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    def _get_webhook_info(self, params: JSONDict, files: dict[str, FileTuple]) -> JSONDict:
        info: JSONDict = {
            "url": (self.webhook or {}).get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if self.webhook and self.webhook.get("allowed_updates"):
            info["allowed_updates"] = self.webhook["allowed_updates"]
        return info

    def _commands_key(self, params: JSONDict) -> tuple[str, str]:
        scope = params.get("scope") or {"type": "default"}
        if not isinstance(scope, dict) or "type" not in scope:
            raise _ApiError("Bad Request: can't parse BotCommandScope JSON object")
        if "chat_id" in scope:
            self._resolve_chat({"chat_id": scope["chat_id"]}, sending=False)
        parts = [str(scope["type"])]
        parts += [str(scope[key]) for key in ("chat_id", "user_id") if key in scope]
        return ":".join(parts), _language_code(params)

    def _set_my_commands(self, params: JSONDict, files: dict[str, FileTuple]) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise _ApiError("Bad Request: can't parse commands JSON object")
        if len(commands) > 100:
            raise _ApiError("Bad Request: too many commands specified")
        for command in commands:
            if not isinstance(command, dict) or "description" not in command:
                raise _ApiError(
                    "Bad Request: can't parse BotCommand: Can't find field \"description\""
                )
            if not _COMMAND_RE.match(str(command.get("command", ""))):
                raise _ApiError("Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(str(command["description"])) <= 256:
                raise _ApiError("Bad Request: command description is empty or too long")
        key = self._commands_key(params)
        if commands:
            self.commands[key] = [
                {"command": c["command"], "description": c["description"]} for c in commands
            ]
        else:
            self.commands.pop(key, None)
        return True

    def _get_my_commands(self, params: JSONDict, files: dict[str, FileTuple]) -> list[JSONDict]:
        return _copy(self.commands.get(self._commands_key(params), []))

    def _delete_my_commands(self, params: JSONDict, files: dict[str, FileTuple]) -> bool:
        self.commands.pop(self._commands_key(params), None)
        return True

    def _set_profile(self, name: str) -> Handler:
        def handler(params: JSONDict, files: dict[str, FileTuple]) -> bool:
            self.bot_profile[(name, _language_code(params))] = str(params.get(name) or "")
            return True

        return handler

    def _get_profile(self, name: str) -> Handler:
        def handler(params: JSONDict, files: dict[str, FileTuple]) -> JSONDict:
            return {name: self.bot_profile.get((name, _language_code(params)), "")}

        return handler

    def _send_message(self, params: JSONDict, files: dict[str, FileTuple]) -> JSONDict:
        chat = self._resolve_chat(params)
        raw_text = params.get("text")
        _, entities = self._format(raw_text, params, "entities", caption=False)
        sent = self._new_message(chat, "sendMessage", params)
        sent.text = str(raw_text)
        sent.entities = entities
        return self._commit(sent, {})

    def _send_photo(self, params: JSONDict, files: dict[str, FileTuple]) -> JSONDict:
        chat = self._resolve_chat(params)
        caption = params.get("caption")
        _, entities = self._format(caption, params, "caption_entities", caption=True)
        sent = self._new_message(chat, "sendPhoto", params)
        stored = self._input_file(params.get("photo"), files, "photo", "photo")
        self._fill_media(sent, stored, caption, entities)
        return self._commit(sent, {"photo": self._photo_sizes(stored)})

    def _send_document(self, params: JSONDict, files: dict[str, FileTuple]) -> JSONDict:
        chat = self._resolve_chat(params)
        caption = params.get("caption")
        _, entities = self._format(caption, params, "caption_entities", caption=True)
        sent = self._new_message(chat, "sendDocument", params)
        stored = self._input_file(params.get("document"), files, "document", "document")
        self._fill_media(sent, stored, caption, entities)
        return self._commit(sent, {"document": _document(stored)})

    @staticmethod
    def _fill_media(
        sent: SentMessage, stored: StoredFile, caption: Any, entities: list[JSONDict]
    ) -> None:
        sent.caption = str(caption) if caption else None
        sent.entities = entities if caption else []
        sent.file_id = stored.file_id
        sent.media_url = stored.url
        if stored.kind == "photo":
            sent.photo = stored.data
        else:
            sent.document = stored.data
            sent.document_name = stored.file_name
            sent.document_mime = stored.mime_type

    def _send_media_group(self, params: JSONDict, files: dict[str, FileTuple]) -> list[JSONDict]:
        chat = self._resolve_chat(params)
        media = params.get("media")
        if not isinstance(media, list):
            raise _ApiError("Bad Request: can't parse media JSON object")
        if not 2 <= len(media) <= 10:
            raise _ApiError("Bad Request: media group must include 2-10 items")
        prepared = []
        for item in media:
            if not isinstance(item, dict) or item.get("type") not in ("photo", "document"):
                raise _ApiError("Bad Request: can't parse InputMedia: unsupported media type")
            item_params = {**params, **item}
            _, entities = self._format(
                item.get("caption"), item_params, "caption_entities", caption=True
            )
            prepared.append((item, item_params, entities))
        self._media_group_counter += 1
        group_id = f"{self.bot_id}{self._media_group_counter:08d}"
        results = []
        for index, (item, item_params, entities) in enumerate(prepared):
            stored = self._input_file(item.get("media"), files, "media", item["type"])
            # Only the first message of an album carries the reply.
            sent = self._new_message(chat, "sendMediaGroup", item_params, check_reply=index == 0)
            sent.reply_markup = None
            sent.media_group_id = group_id
            self._fill_media(sent, stored, item.get("caption"), entities)
            content = (
                {"photo": self._photo_sizes(stored)}
                if stored.kind == "photo"
                else {"document": _document(stored)}
            )
            results.append(self._commit(sent, content))
        return results

    @staticmethod
    def _coordinates(params: JSONDict) -> tuple[float, float]:
        latitude, longitude = params.get("latitude"), params.get("longitude")
        if not isinstance(latitude, int | float) or not isinstance(longitude, int | float):
            raise _ApiError("Bad Request: wrong location specified")
        if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
            raise _ApiError("Bad Request: wrong location specified")
        return float(latitude), float(longitude)

    def _send_location(self, params: JSONDict, files: dict[str, FileTuple]) -> JSONDict:
        chat = self._resolve_chat(params)
        latitude, longitude = self._coordinates(params)
        sent = self._new_message(chat, "sendLocation", params)
        sent.location = (latitude, longitude)
        return self._commit(sent, {"location": {"latitude": latitude, "longitude": longitude}})

    def _send_venue(self, params: JSONDict, files: dict[str, FileTuple]) -> JSONDict:
        chat = self._resolve_chat(params)
        latitude, longitude = self._coordinates(params)
        title, address = params.get("title"), params.get("address")
        if not title or not address:
            raise _ApiError("Bad Request: venue title and address must be non-empty")
        sent = self._new_message(chat, "sendVenue", params)
        location = {"latitude": latitude, "longitude": longitude}
        sent.location = (latitude, longitude)
        sent.venue = {"location": location, "title": str(title), "address": str(address)}
        return self._commit(sent, {"location": location, "venue": sent.venue})

    def _send_chat_action(self, params: JSONDict, files: dict[str, FileTuple]) -> bool:
        chat = self._resolve_chat(params)
        action = params.get("action")
        if action not in _CHAT_ACTIONS:
            raise _ApiError("Bad Request: wrong parameter action in request")
        self.chat_actions.append((chat["id"], str(action)))
        return True

    def _edit_message_text(self, params: JSONDict, files: dict[str, FileTuple]) -> JSONDict:
        sent = self._editable(params)
        if sent.text is None:
            raise _ApiError("Bad Request: there is no text in the message to edit")
        raw_text = params.get("text")
        plain, entities = self._format(raw_text, params, "entities", caption=False)
        markup = self._markup(params)
        if (plain, entities, markup) == (sent.plain, sent.entities, sent.reply_markup):
            raise _ApiError(_NOT_MODIFIED)
        return self._apply_edit(
            sent,
            text=str(raw_text),
            parse_mode=params.get("parse_mode"),
            entities=entities,
            reply_markup=markup,
        )

    def _edit_message_caption(self, params: JSONDict, files: dict[str, FileTuple]) -> JSONDict:
        sent = self._editable(params)
        if sent.text is not None or sent.location is not None:
            raise _ApiError("Bad Request: there is no caption in the message to edit")
        caption = params.get("caption")
        plain, entities = self._format(caption, params, "caption_entities", caption=True)
        markup = self._markup(params)
        if (plain, entities, markup) == (sent.plain, sent.entities, sent.reply_markup):
            raise _ApiError(_NOT_MODIFIED)
        return self._apply_edit(
            sent,
            caption=str(caption) if caption else None,
            parse_mode=params.get("parse_mode"),
            entities=entities if caption else [],
            reply_markup=markup,
        )

    def _edit_message_reply_markup(self, params: JSONDict, files: dict[str, FileTuple]) -> JSONDict:
        sent = self._editable(params)
        return self._apply_edit(sent, reply_markup=self._markup(params))

    def _delete_message(self, params: JSONDict, files: dict[str, FileTuple]) -> bool:
        chat = self._resolve_chat(params)
        message_id = params.get("message_id")
        if not isinstance(message_id, int):
            raise _ApiError("Bad Request: message identifier is not specified")
        key = (chat["id"], message_id)
        sent = self._bot_messages.get(key)
        if sent is not None and not sent.deleted:
            if self._now() - sent.date > DELETE_WINDOW:
                raise _ApiError("Bad Request: message can't be deleted for everyone")
            sent.deleted = True
            self._touch(sent)
            return True
        if self._user_messages.pop(key, None) is not None:
            return True
        raise _ApiError("Bad Request: message to delete not found")

    def _answer_callback_query(self, params: JSONDict, files: dict[str, FileTuple]) -> bool:
        query_id = str(params.get("callback_query_id") or "")
        query = self._queries.get(query_id)
        if query is None or query.answered:
            raise _ApiError(
                "Bad Request: query is too old and response timeout expired or query ID is invalid"
            )
        text = params.get("text")
        if text is not None and utf16_len(str(text)) > MAX_CALLBACK_ANSWER_LENGTH:
            raise _ApiError("Bad Request: MESSAGE_TOO_LONG")
        query.answered = True
        self.callback_answers.append(
            {
                "callback_query_id": query_id,
                "text": text,
                "show_alert": bool(params.get("show_alert")),
                "url": params.get("url"),
                "cache_time": params.get("cache_time"),
                "user_id": query.user_id,
            }
        )
        return True

    def _get_file(self, params: JSONDict, files: dict[str, FileTuple]) -> JSONDict:
        stored = self._files.get(str(params.get("file_id") or ""))
        if stored is None:
            raise _ApiError(_WRONG_FILE)
        if stored.file_size > MAX_DOWNLOAD_SIZE:
            raise _ApiError("Bad Request: file is too big")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": stored.file_size,
            "file_path": stored.file_path,
        }

    def _get_chat(self, params: JSONDict, files: dict[str, FileTuple]) -> JSONDict:
        chat = self._resolve_chat(params, sending=False)
        return {
            **chat,
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }

    def _set_chat_menu_button(self, params: JSONDict, files: dict[str, FileTuple]) -> bool:
        chat_id = self._resolve_chat(params)["id"] if "chat_id" in params else None
        button = params.get("menu_button") or {"type": "default"}
        self.menu_buttons[chat_id] = button
        return True

    def _get_chat_menu_button(self, params: JSONDict, files: dict[str, FileTuple]) -> JSONDict:
        chat_id = self._resolve_chat(params, sending=False)["id"] if "chat_id" in params else None
        button = self.menu_buttons.get(chat_id) or self.menu_buttons.get(None)
        if button is None or button.get("type") == "default":
            return {"type": "commands"}
        return _copy(button)


def _language_code(params: JSONDict) -> str:
    """The language_code of a bot-settings call: empty or two lowercase letters, as Telegram."""
    code = str(params.get("language_code") or "")
    if code and not re.fullmatch(r"[a-z]{2}", code):
        raise _ApiError("Bad Request: invalid language code specified")
    return code


def _button_pair(button: JSONDict) -> tuple[str, str | None]:
    return button.get("text", ""), button.get("callback_data", button.get("url"))


def _photo_size(stored: StoredFile) -> JSONDict:
    return {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "file_size": stored.file_size,
        "width": stored.width,
        "height": stored.height,
    }


def _document(stored: StoredFile) -> JSONDict:
    document: JSONDict = {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "file_size": stored.file_size,
    }
    if stored.file_name:
        document["file_name"] = stored.file_name
    if stored.mime_type:
        document["mime_type"] = stored.mime_type
    return document


def _check_inline_button(button: Any) -> None:
    if not isinstance(button, dict):
        raise _ApiError("Bad Request: can't parse inline keyboard button: Object expected")
    if not str(button.get("text") or "").strip():
        raise _ApiError("Bad Request: can't parse inline keyboard button: Text must be non-empty")
    kinds = [kind for kind in _BUTTON_KINDS if kind in button]
    if not kinds:
        raise _ApiError(
            "Bad Request: can't parse inline keyboard button: "
            "Text buttons are unallowed in the inline keyboard"
        )
    if len(kinds) > 1:
        raise _ApiError(
            "Bad Request: can't parse inline keyboard button: "
            f"exactly one optional field must be used, got {', '.join(kinds)}"
        )
    if "callback_data" in button:
        data = button["callback_data"]
        if not isinstance(data, str) or not 1 <= len(data.encode("utf-8")) <= 64:
            raise _ApiError("Bad Request: BUTTON_DATA_INVALID")
    if "url" in button:
        url = button["url"]
        if not isinstance(url, str) or not _BUTTON_URL_RE.match(url):
            raise _ApiError(
                f"Bad Request: inline keyboard button URL '{url}' is invalid: Wrong HTTP URL"
            )


def _decode_params(params: Mapping[str, Any]) -> JSONDict:
    """Decode form-style string values (JSON objects, numbers, booleans) leniently."""
    decoded: JSONDict = {}
    for key, value in params.items():
        if not isinstance(value, str):
            decoded[key] = value
        elif key in _JSON_FIELDS:
            try:
                decoded[key] = json.loads(value) if value else None
            except ValueError:
                if key == "reply_markup":
                    raise _ApiError(
                        "Bad Request: can't parse reply keyboard markup JSON object"
                    ) from None
                raise _ApiError(f"Bad Request: can't parse {key} JSON object") from None
        elif key in _INT_FIELDS or key == "chat_id":
            try:
                decoded[key] = int(value)
            except ValueError:
                decoded[key] = value
        elif key in _FLOAT_FIELDS:
            try:
                decoded[key] = float(value)
            except ValueError:
                decoded[key] = value
        elif key in _BOOL_FIELDS:
            decoded[key] = value.lower() in ("true", "1")
        else:
            decoded[key] = value
    return decoded
