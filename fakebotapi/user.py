"""The user side: builds Bot API updates for one simulated Telegram user and reads replies."""

from __future__ import annotations

import copy
import re
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from fakebotapi.api import FakeBotAPI, SentMessage
from fakebotapi.formatting import utf16_len

__all__ = ["FakeUser"]

JSONDict = dict[str, Any]
Deliver = Callable[[JSONDict], Awaitable[object]]

_COMMAND_RE = re.compile(r"/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?")
# Small stand-ins for media the bot never decodes.
_STICKER_BYTES = b"RIFF\x1a\x00\x00\x00WEBPVP8 fake-sticker"
_VOICE_BYTES = b"OggS\x00\x02fake-voice"
_VIDEO_BYTES = b"\x00\x00\x00\x18ftypmp42fake-video"


def _command_entity(text: str) -> JSONDict | None:
    """The bot_command entity Telegram attaches to a text that starts with a command."""
    match = _COMMAND_RE.match(text)
    if match is None:
        return None
    return {"type": "bot_command", "offset": 0, "length": utf16_len(match.group(0))}


class FakeUser:
    """One simulated user, chatting with the bot privately (chat_id == user_id) or in groups."""

    def __init__(
        self,
        api: FakeBotAPI,
        user_id: int,
        *,
        first_name: str = "Test",
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "zh-hans",
        deliver: Deliver | None = None,
    ) -> None:
        self.api = api
        self.user_id = user_id
        self.first_name = first_name
        self.last_name = last_name
        self.username = username
        self.language_code = language_code
        self.deliver = deliver
        self._cursor = 0
        self._seen_version = api.chat_version(user_id)
        api.add_chat(self.chat)

    # --- identity ---------------------------------------------------------------------------

    @property
    def user(self) -> JSONDict:
        """This user as a Bot API User object."""
        user: JSONDict = {"id": self.user_id, "is_bot": False, "first_name": self.first_name}
        optional = {
            "last_name": self.last_name,
            "username": self.username,
            "language_code": self.language_code,
        }
        user.update({key: value for key, value in optional.items() if value is not None})
        return user

    @property
    def chat(self) -> JSONDict:
        """The private chat with the bot as a Bot API Chat object."""
        chat: JSONDict = {"id": self.user_id, "type": "private", "first_name": self.first_name}
        if self.last_name is not None:
            chat["last_name"] = self.last_name
        if self.username is not None:
            chat["username"] = self.username
        return chat

    def join_group(
        self, chat_id: int, *, title: str = "Test Group", chat_type: str = "supergroup"
    ) -> JSONDict:
        """Register a group chat this user can then write in via `chat_id=`."""
        chat = {"id": chat_id, "type": chat_type, "title": title}
        self.api.add_chat(chat)
        return chat

    # --- sending ----------------------------------------------------------------------------

    def _message(self, content: JSONDict, chat_id: int | None) -> JSONDict:
        target = self.user_id if chat_id is None else chat_id
        chat = self.api.chat(target)
        if chat is None:
            raise AssertionError(f"chat {target} is unknown; call join_group() first")
        return {
            "message_id": self.api.next_message_id(target),
            "from": self.user,
            "chat": chat,
            "date": self.api.timestamp(),
            **content,
        }

    async def _emit(self, update: JSONDict) -> JSONDict:
        # Replies to this action count as new for wait_for_message(), however fast they come.
        self._seen_version = self.api.chat_version(self.user_id)
        self.api.push_update(update)
        if self.deliver is not None:
            await self.deliver(update)
        return update

    async def _send(self, content: JSONDict, chat_id: int | None) -> JSONDict:
        return await self._emit({"message": self._message(content, chat_id)})

    async def send(self, text: str, *, chat_id: int | None = None) -> JSONDict:
        """Send a text; a leading /command gets its bot_command entity."""
        content: JSONDict = {"text": text}
        entity = _command_entity(text)
        if entity is not None:
            content["entities"] = [entity]
        return await self._send(content, chat_id)

    async def edit(self, sent: JSONDict, text: str) -> JSONDict:
        """Edit the text of a message this user sent (what ``send`` returned), as Telegram
        reports it: an update with ``edited_message``."""
        message = {**sent["message"], "text": text, "edit_date": self.api.timestamp()}
        message.pop("entities", None)
        return await self._emit({"edited_message": message})

    async def command(
        self, name: str, args: str = "", *, chat_id: int | None = None, mention: bool = False
    ) -> JSONDict:
        """Send /name [args]; mention=True writes /name@botname as in groups."""
        text = "/" + name.lstrip("/")
        if mention:
            text += f"@{self.api.bot_username}"
        if args:
            text += f" {args}"
        return await self.send(text, chat_id=chat_id)

    async def send_photo(
        self, data: bytes, caption: str | None = None, *, chat_id: int | None = None
    ) -> JSONDict:
        """Send a compressed photo (message.photo, largest size last)."""
        content: JSONDict = {"photo": self.api.add_user_photo(data)}
        if caption is not None:
            content["caption"] = caption
        return await self._send(content, chat_id)

    async def send_image_file(
        self,
        data: bytes,
        filename: str = "photo.jpg",
        mime_type: str = "image/jpeg",
        *,
        caption: str | None = None,
        chat_id: int | None = None,
    ) -> JSONDict:
        """Send an image uncompressed, as a file (message.document)."""
        return await self.send_document(data, filename, mime_type, caption=caption, chat_id=chat_id)

    async def send_document(
        self,
        data: bytes,
        filename: str,
        mime_type: str,
        *,
        caption: str | None = None,
        chat_id: int | None = None,
    ) -> JSONDict:
        """Send a file (message.document)."""
        info = self.api.add_user_file(
            data, kind="document", file_name=filename, mime_type=mime_type
        )
        content: JSONDict = {"document": {**info, "file_name": filename, "mime_type": mime_type}}
        if caption is not None:
            content["caption"] = caption
        return await self._send(content, chat_id)

    async def send_location(
        self, latitude: float, longitude: float, *, chat_id: int | None = None
    ) -> JSONDict:
        """Share a location."""
        location = {"latitude": latitude, "longitude": longitude}
        return await self._send({"location": location}, chat_id)

    async def send_contact(
        self,
        phone_number: str,
        *,
        own: bool = True,
        first_name: str = "Contact",
        chat_id: int | None = None,
    ) -> JSONDict:
        """Share a contact; own=True is the user's own number (contact.user_id == user id)."""
        contact: JSONDict = {"phone_number": phone_number}
        if own:
            contact["first_name"] = self.first_name
            contact["user_id"] = self.user_id
            if self.last_name is not None:
                contact["last_name"] = self.last_name
        else:
            contact["first_name"] = first_name
        return await self._send({"contact": contact}, chat_id)

    async def send_sticker(self, *, chat_id: int | None = None) -> JSONDict:
        """Send a static sticker."""
        info = self.api.add_user_file(_STICKER_BYTES, kind="sticker")
        sticker = {
            **info,
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "type": "regular",
            "emoji": "👍",
        }
        return await self._send({"sticker": sticker}, chat_id)

    async def send_voice(
        self, data: bytes = _VOICE_BYTES, *, duration: int = 1, chat_id: int | None = None
    ) -> JSONDict:
        """Send a voice note."""
        info = self.api.add_user_file(data, kind="voice", mime_type="audio/ogg")
        voice = {**info, "duration": duration, "mime_type": "audio/ogg"}
        return await self._send({"voice": voice}, chat_id)

    async def send_video(
        self, data: bytes = _VIDEO_BYTES, *, duration: int = 1, chat_id: int | None = None
    ) -> JSONDict:
        """Send a video."""
        info = self.api.add_user_file(data, kind="video", mime_type="video/mp4")
        video = {**info, "width": 640, "height": 360, "duration": duration}
        video["mime_type"] = "video/mp4"
        return await self._send({"video": video}, chat_id)

    async def send_animation(
        self, data: bytes = _VIDEO_BYTES, *, chat_id: int | None = None
    ) -> JSONDict:
        """Send a GIF; like Telegram, the message carries both animation and document."""
        info = self.api.add_user_file(
            data, kind="animation", file_name="animation.mp4", mime_type="video/mp4"
        )
        animation = {
            **info,
            "width": 320,
            "height": 240,
            "duration": 1,
            "file_name": "animation.mp4",
            "mime_type": "video/mp4",
        }
        document = {key: animation[key] for key in ("file_id", "file_unique_id", "file_size")}
        document.update(file_name="animation.mp4", mime_type="video/mp4")
        return await self._send({"animation": animation, "document": document}, chat_id)

    async def reply_to(self, message: SentMessage, text: str) -> JSONDict:
        """Reply to a bot message with a text."""
        original = self.api.get_message(message.chat_id, message.message_id)
        if original is None:
            raise AssertionError(f"message {message.message_id} no longer exists")
        original.pop("reply_to_message", None)
        content: JSONDict = {"text": text, "reply_to_message": original}
        entity = _command_entity(text)
        if entity is not None:
            content["entities"] = [entity]
        return await self._send(content, message.chat_id)

    # --- the chat itself ---------------------------------------------------------------------

    async def block_bot(self) -> JSONDict:
        """Block the bot: sends to this chat answer 403, and the bot is told (my_chat_member)."""
        self.api.block(self.user_id)
        return await self._emit({"my_chat_member": self._membership("member", "kicked")})

    async def unblock_bot(self) -> JSONDict:
        """Unblock the bot (Telegram: "restart"): the bot may write again, and is told so."""
        self.api.unblock(self.user_id)
        return await self._emit({"my_chat_member": self._membership("kicked", "member")})

    def _membership(self, old: str, new: str) -> JSONDict:
        """A ChatMemberUpdated of the bot in this private chat, from ``old`` to ``new`` status."""

        def member(status: str) -> JSONDict:
            state: JSONDict = {"status": status, "user": self.api.bot_user}
            if status == "kicked":
                state["until_date"] = 0  # for ever
            return state

        return {
            "chat": self.chat,
            "from": self.user,
            "date": self.api.timestamp(),
            "old_chat_member": member(old),
            "new_chat_member": member(new),
        }

    # --- buttons ----------------------------------------------------------------------------

    async def press(self, label_or_data: str, *, message: SentMessage | None = None) -> JSONDict:
        """Press the inline button whose callback_data equals, or whose label contains, the text."""
        target = message if message is not None else self._newest_with_keyboard()
        if target is None:
            raise AssertionError(f"no bot message with an inline keyboard in chat {self.user_id}")
        if target.deleted:
            raise AssertionError(f"message {target.message_id} was deleted")
        rows = (target.reply_markup or {}).get("inline_keyboard", [])
        buttons: list[JSONDict] = [button for row in rows for button in row]
        button = next((b for b in buttons if b.get("callback_data") == label_or_data), None)
        if button is None:
            button = next((b for b in buttons if label_or_data in b.get("text", "")), None)
        if button is None:
            available = [(b.get("text"), b.get("callback_data", b.get("url"))) for b in buttons]
            raise AssertionError(
                f"no button matching {label_or_data!r} in message {target.message_id}; "
                f"available: {available}"
            )
        if "callback_data" not in button:
            raise AssertionError(f"button {button.get('text')!r} is not a callback button")
        return await self.press_data(button["callback_data"], target)

    async def press_data(self, data: str | None, message: SentMessage) -> JSONDict:
        """Send a callback query with arbitrary (possibly forged) data for `message`; None sends
        one without data, as a broken or hostile client may."""
        query: JSONDict = {
            "id": self.api.new_callback_query_id(),
            "from": self.user,
            # Read through the API (under its lock) in case an HTTP thread is editing it.
            "message": self.api.get_message(message.chat_id, message.message_id)
            or copy.deepcopy(message.raw),
            "chat_instance": f"instance-{message.chat_id}",
        }
        if data is not None:
            query["data"] = data
        return await self._emit({"callback_query": query})

    def _newest_with_keyboard(self) -> SentMessage | None:
        for sent in self.newest_first():
            if not sent.deleted and sent.buttons:
                return sent
        return None

    # --- reading ----------------------------------------------------------------------------

    @property
    def transcript(self) -> list[SentMessage]:
        """Every message the bot sent to this private chat, in order, edits applied."""
        return self.api.messages_to(self.user_id)

    def newest_first(self) -> Iterator[SentMessage]:
        """The bot's messages to this private chat, newest first (cheap on a long chat)."""
        return self.api.newest_to(self.user_id)

    @property
    def last(self) -> SentMessage:
        """The newest bot message that has not been deleted."""
        for sent in self.newest_first():
            if not sent.deleted:
                return sent
        raise AssertionError(f"the bot has sent nothing to chat {self.user_id}")

    def texts(self) -> list[str]:
        """Visible texts (or captions) of the bot messages that were not deleted."""
        return [sent.plain for sent in self.transcript if not sent.deleted]

    def new_messages(self) -> list[SentMessage]:
        """Bot messages sent since the previous call (edits of older ones are not repeated)."""
        transcript = self.transcript
        fresh = transcript[self._cursor :]
        self._cursor = len(transcript)
        return fresh

    @property
    def callback_answers(self) -> list[JSONDict]:
        """The bot's answers to this user's callback queries."""
        return [a for a in list(self.api.callback_answers) if a["user_id"] == self.user_id]

    async def wait_for_message(self, timeout: float = 5.0) -> SentMessage:  # noqa: ASYNC109
        """Wait for a bot send/edit/delete here, newer than the last action or wait."""
        sent = await self.api.wait_for_chat_change(self.user_id, self._seen_version, timeout)
        if sent is None:
            raise AssertionError(f"the bot sent nothing to chat {self.user_id} in {timeout} s")
        self._seen_version = self.api.chat_version(self.user_id)
        return sent
