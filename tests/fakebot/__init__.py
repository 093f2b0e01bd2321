"""The fake Telegram Bot API, now shipped in bot.sandbox.fakeapi; re-exported for the tests."""

from bot.sandbox.fakeapi import (
    FakeBotAPI,
    FakeBotServer,
    FakeNetworkError,
    FakeRequest,
    FakeUser,
    SentMessage,
    StoredFile,
)

__all__ = [
    "FakeBotAPI",
    "FakeBotServer",
    "FakeNetworkError",
    "FakeRequest",
    "FakeUser",
    "SentMessage",
    "StoredFile",
]
