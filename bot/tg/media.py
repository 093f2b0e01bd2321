"""Media from Telegram: what kind of message came, and the bytes of a photo or image file."""

from __future__ import annotations

from telegram import Message
from telegram.error import BadRequest

from bot.photos import MAX_BYTES, FileTooBig


def kind_of(message: Message) -> str:
    """What the user sent, in the words the steps care about."""
    if message.location is not None or message.venue is not None:
        return "location"
    if message.photo:
        return "photo"
    if message.document is not None:
        mime = message.document.mime_type or ""
        return "image" if mime.startswith("image/") else "document"
    if message.contact is not None:
        return "contact"
    if message.sticker is not None:
        return "sticker"
    if message.voice is not None or message.audio is not None:
        return "voice"
    if message.video is not None or message.animation is not None or message.video_note is not None:
        return "video"
    if message.text is not None:
        return "text"
    return "other"


async def download(message: Message) -> bytes:
    """Fetch the photo or image file of a message, refusing what is too big up front."""
    attachment = message.photo[-1] if message.photo else message.document
    assert attachment is not None
    if attachment.file_size is not None and attachment.file_size > MAX_BYTES:
        raise FileTooBig()
    try:
        file = await attachment.get_file()
        return bytes(await file.download_as_bytearray())
    except BadRequest as exc:
        if "too big" in exc.message.lower():
            raise FileTooBig() from None
        raise
