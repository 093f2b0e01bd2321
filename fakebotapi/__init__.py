"""A fake Telegram Bot API (tests and the sandbox), in-process (FakeRequest) or over HTTP."""

from fakebotapi.api import FakeBotAPI, FakeNetworkError, SentMessage, StoredFile
from fakebotapi.request import FakeRequest
from fakebotapi.server import FakeBotServer, ServedCall
from fakebotapi.user import FakeUser

__all__ = [
    "FakeBotAPI",
    "FakeBotServer",
    "FakeNetworkError",
    "FakeRequest",
    "FakeUser",
    "SentMessage",
    "ServedCall",
    "StoredFile",
]
