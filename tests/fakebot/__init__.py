"""A fake Telegram Bot API for tests, usable in-process (FakeRequest) or over HTTP."""

from tests.fakebot.api import FakeBotAPI, FakeNetworkError, SentMessage, StoredFile
from tests.fakebot.request import FakeRequest
from tests.fakebot.server import FakeBotServer
from tests.fakebot.user import FakeUser

__all__ = [
    "FakeBotAPI",
    "FakeBotServer",
    "FakeNetworkError",
    "FakeRequest",
    "FakeUser",
    "SentMessage",
    "StoredFile",
]
