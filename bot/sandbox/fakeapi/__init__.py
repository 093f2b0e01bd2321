"""A fake Telegram Bot API (tests and the sandbox), in-process (FakeRequest) or over HTTP."""

from bot.sandbox.fakeapi.api import FakeBotAPI, FakeNetworkError, SentMessage, StoredFile
from bot.sandbox.fakeapi.request import FakeRequest
from bot.sandbox.fakeapi.server import FakeBotServer
from bot.sandbox.fakeapi.user import FakeUser

__all__ = [
    "FakeBotAPI",
    "FakeBotServer",
    "FakeNetworkError",
    "FakeRequest",
    "FakeUser",
    "SentMessage",
    "StoredFile",
]
