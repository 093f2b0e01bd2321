"""The bot's Bot API client (bot/tg/http.py): many calls at once share a bounded set of
connections, and none fails for want of one."""

from __future__ import annotations

import asyncio

from telegram import Bot

from bot.tg.http import SpreadRequest
from fakebotapi import FakeBotAPI, FakeBotServer, FakeUser, ServedCall

USER_ID = 4242


async def test_many_calls_at_once_share_a_few_connections(api: FakeBotAPI) -> None:
    """Forty messages sent at once, the server 50 ms away, through at most 8 connections: each
    arrives once; the calls beyond 8 waited for a free connection (python-telegram-bot's own
    pool fails a call that has waited a second for one)."""
    FakeUser(api, USER_ID)
    heard: list[ServedCall] = []
    with FakeBotServer(api, rtt_ms=50, on_call=heard.append) as server:
        bot = Bot(api.token, base_url=server.base_url, request=SpreadRequest(8))
        async with bot:
            await asyncio.gather(*(bot.send_message(USER_ID, f"n{n}") for n in range(40)))
    texts = sorted(c.params["text"] for c in heard if c.method == "sendMessage")
    assert texts == sorted(f"n{n}" for n in range(40))
    assert 1 < len({c.client for c in heard}) <= 8
