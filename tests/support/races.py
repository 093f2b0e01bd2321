"""Races: two updates in flight at once through the real Application, and what they changed.

The in-process fake Bot API answers a call without ever giving the event loop away, so two
updates handed to the Application together would run one after the other. ``RoundTrip`` puts the
API a network away (no real time passes: each call lets every other ready update run first), and
``at_once`` checks that the updates it fires were indeed all in flight before any was done. Every
call also checks that no database transaction is open while it travels.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any

from bot.buttons import decode_case
from bot.errors import ShaoziError
from bot.i18n import resolve_language
from bot.labels import STATUS_LABELS
from bot.vocabulary.models import Case
from fakebotapi import FakeBotAPI, FakeRequest, FakeUser, SentMessage
from storage.db import Database
from tests.support import tables
from tests.support.chat import Bot

# handlers/common.on_error's answer to an update whose handling failed.
APOLOGY = "Sorry, something went wrong on our side. What you entered is kept; please try again."


class RoundTrip(FakeRequest):
    """The fake API behind a network: before each answer the event loop runs everything else
    that is ready, ``turns`` times over, as it would while a request travels."""

    def __init__(self, api: FakeBotAPI, turns: int = 3) -> None:
        super().__init__(api)
        self.turns = turns
        # The bot's database, once it runs: no transaction of it may be open across a call.
        # The calls made while one was are kept here (an error raised in the call would reach
        # PTB as a network error, which the outbox retries without a word).
        self.db: Database | None = None
        self.in_transaction: list[str] = []

    async def do_request(self, url: str, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        if self.db is not None and self.db.in_transaction:
            self.in_transaction.append(url.rsplit("/", 1)[-1])
        for _ in range(self.turns):
            await asyncio.sleep(0)
        return await super().do_request(url, *args, **kwargs)


async def at_once(*actions: Awaitable[object]) -> None:
    """Fire the actions together; fail unless every one was under way before any had ended."""
    log: list[str] = []

    async def tracked(action: Awaitable[object]) -> None:
        log.append("start")
        try:
            await action
        finally:
            log.append("end")

    await asyncio.gather(*(tracked(action) for action in actions))
    assert log[: len(actions)] == ["start"] * len(actions), f"not concurrent: {log}"


@dataclass
class Marks:
    """Where the history and the outbox stood before a race: what came after is its effect."""

    bot: Bot
    event: int = 0
    outbox: int = 0

    def __post_init__(self) -> None:
        self.event = int(tables.value(self.bot.db, "SELECT COALESCE(MAX(id), 0) FROM case_events"))
        self.outbox = int(tables.value(self.bot.db, "SELECT COALESCE(MAX(id), 0) FROM outbox"))

    def events(self) -> list[str]:
        """The kinds of the case events recorded since the mark."""
        found = tables.rows(
            self.bot.db, "SELECT kind FROM case_events WHERE id > ? ORDER BY id", (self.event,)
        )
        return [r["kind"] for r in found]

    def queued(self) -> list[tuple[int, str]]:
        """(chat, key) of the notifications queued since the mark."""
        found = tables.rows(
            self.bot.db,
            "SELECT chat_id, dedupe_key FROM outbox WHERE id > ? ORDER BY id",
            (self.outbox,),
        )
        return [(r["chat_id"], r["dedupe_key"]) for r in found]

    def recipients(self) -> list[int]:
        """Who the notifications queued since the mark go to, each once (checked)."""
        chats = [chat for chat, _key in self.queued()]
        assert len(chats) == len(set(chats)), f"someone is told twice: {self.queued()}"
        return chats


def said(bot: Bot, user: FakeUser, error: ShaoziError) -> str:
    """What the bot says for ``error`` to ``user``, in the user's language."""
    language = resolve_language(None, user.language_code, bot.city.city.default_language)
    return error.render(bot.services.catalogs.translator(language).gettext)


def translated(bot: Bot, user: FakeUser, msgid: str) -> str:
    language = resolve_language(None, user.language_code, bot.city.city.default_language)
    return bot.services.catalogs.translator(language).gettext(msgid)


def answers(user: FakeUser) -> list[str]:
    """The texts of the bot's answers to the user's button presses, oldest first."""
    return [a.get("text") or "" for a in user.callback_answers]


def no_apology(bot: Bot, *users: FakeUser) -> None:
    """Nobody was told that something went wrong on our side (an error no handler expected)."""
    for user in users:
        apology = translated(bot, user, APOLOGY)
        seen = [*answers(user), *(m.plain for m in user.transcript)]
        assert not any(apology in text for text in seen), seen


def fresh(bot: Bot, user: FakeUser, card: SentMessage, case: Case) -> bool:
    """Whether the card shows the case as it is now: its status, and buttons (if any) that act
    on this version of it."""
    pressed = [decode_case(data) for row in card.buttons for _label, data in row]
    versions = {p.version for p in pressed if p is not None and p.case_id == case.id}
    status = translated(bot, user, STATUS_LABELS[case.status])
    return versions <= {case.version} and status in card.plain
