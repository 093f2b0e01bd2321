"""The outbox's delivery: sends queued notifications within Telegram's limits, at least once.

A row goes as its parts (photos, a map point, the text with its buttons; a text that fits rides
as the caption of a single photo), each recorded as Telegram accepts it: a retry or a crash
resends at most the part in flight, nothing else is sent twice and nothing is lost. A part
Telegram refuses for good is left out and the rest still goes. Rows of one chat go out in the
order they were queued.

Limits (Telegram's, https://core.telegram.org/bots/faq): about 30 messages a second overall,
one a second to a private chat, 20 a minute to a group. They are kept on the injected clock,
so tests move time instead of waiting.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import math
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from telegram import Bot, InlineKeyboardMarkup, InputMediaPhoto, Message
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from bot import accounts
from bot.cards import payload_at, visible_len
from bot.clock import Clock
from bot.photos import read_photo
from bot.tg.keyboards import keyboard
from bot.vocabulary.models import OutboxRow
from storage.db import Database

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 12
CAPTION = 1024  # the longest caption Telegram takes, counted as bot.cards.visible_len counts
MAX_BACKOFF = dt.timedelta(minutes=10)
# Telegram's answers that mean this chat can no longer be written to.
GONE = ("chat not found", "bot was blocked", "user is deactivated", "bot was kicked")
ALBUM = 10  # the most photos one sendMediaGroup takes
# How long a worker's claim on outbox rows lasts (several workers): a worker that dies while
# sending leaves its rows to the others after this; one alive sends a row within seconds.
CLAIM = dt.timedelta(seconds=60)
# Several workers: the share of a second's overall budget one pass claims and takes, so that
# what it takes it sends within the second (at least PASS_LEAST: Telegram's own 30 go in one
# pass).
PASS_SHARE = 0.1
PASS_LEAST = 30
# A part that would start this close to the end of its budget's second waits for the next
# pass: it would reach Telegram in the next second, over that second's budget.
LATE = dt.timedelta(milliseconds=20)


@dataclass(frozen=True)
class Limits:
    overall_per_second: float = 30.0  # 0: no overall limit
    private_interval: float = 1.0  # seconds between two messages to one private chat
    group_per_minute: int = 20
    concurrency: int = 16  # requests in flight at once

    @classmethod
    def unlimited(cls) -> Limits:
        return cls(overall_per_second=0.0, private_interval=0.0, group_per_minute=0)


@dataclass
class DeliveryReport:
    sent: int = 0
    postponed: int = 0
    failed: int = 0
    dropped: int = 0
    waiting: int = 0  # due, but held back by a limit this round

    def add(self, other: DeliveryReport) -> None:
        for name in ("sent", "postponed", "failed", "dropped", "waiting"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


class Pacer:
    """Telegram's rate limits, measured on the injected clock."""

    def __init__(self, limits: Limits, clock: Clock) -> None:
        self.limits, self.clock = limits, clock
        # A bucket of one second's worth: the rate, with at most a second's burst.
        self._capacity = max(1.0, limits.overall_per_second)
        self._tokens = self._capacity
        self._refilled = clock.now()
        self._private_free: dict[int, dt.datetime] = {}
        self._group_sends: dict[int, deque[dt.datetime]] = {}

    def _refill(self, now: dt.datetime) -> None:
        rate = self.limits.overall_per_second
        if rate <= 0:
            return
        elapsed = max(0.0, (now - self._refilled).total_seconds())
        self._tokens = min(self._capacity, self._tokens + elapsed * rate)
        self._refilled = now

    def may_send(self, chat_id: int, count: int) -> bool:
        """Whether ``count`` messages may go to the chat now."""
        now = self.clock.now()
        self._refill(now)
        if self.limits.overall_per_second > 0 and self._tokens < 1:
            return False
        if chat_id > 0:
            free = self._private_free.get(chat_id)
            return free is None or free <= now
        if self.limits.group_per_minute <= 0:
            return True
        sends = self._group_sends.setdefault(chat_id, deque())
        while sends and sends[0] <= now - dt.timedelta(minutes=1):
            sends.popleft()
        return len(sends) + count <= max(self.limits.group_per_minute, count)

    def spend(self, chat_id: int, count: int) -> None:
        now = self.clock.now()
        if len(self._private_free) > 10_000:  # forget chats whose pause is over
            self._private_free = {c: t for c, t in self._private_free.items() if t > now}
        if self.limits.overall_per_second > 0:
            self._tokens -= count
        if chat_id > 0 and self.limits.private_interval > 0:
            start = max(now, self._private_free.get(chat_id, now))
            self._private_free[chat_id] = start + dt.timedelta(
                seconds=self.limits.private_interval * count
            )
        elif chat_id < 0 and self.limits.group_per_minute > 0:
            self._group_sends.setdefault(chat_id, deque()).extend([now] * count)

    def overall_exhausted(self) -> bool:
        self._refill(self.clock.now())
        return self.limits.overall_per_second > 0 and self._tokens < 1

    def pause(self, seconds: float) -> None:
        """Telegram said to wait (RetryAfter): no message goes out before then."""
        if self.limits.overall_per_second > 0:
            self._tokens = min(self._tokens, -seconds * self.limits.overall_per_second)
            self._refilled = self.clock.now()


def markup(payload: dict[str, Any]) -> InlineKeyboardMarkup | None:
    return keyboard(payload.get("buttons") or [])


def fits_caption(text: str) -> bool:
    """Whether an HTML text may go as the caption of a photo."""
    return visible_len(text) <= CAPTION


@dataclass(frozen=True)
class Part:
    """One request of a queued notification: photos (an album is one request), a map point, or
    the text with the buttons, which rides as the caption of a single photo when it fits."""

    photos: tuple[str, ...] = ()
    location: tuple[float, float] | None = None
    text: str | None = None

    @property
    def kind(self) -> str:
        if self.photos:
            return "photo with the text" if self.text else "photos"
        return "map point" if self.location else "text"

    def fallbacks(self) -> tuple[Part, ...]:
        """What still goes when Telegram refuses this part for good: the text alone, when it
        was the caption of the refused photo."""
        return (Part(text=self.text),) if self.photos and self.text else ()


def parts(payload: dict[str, Any]) -> list[Part]:
    """A row's parts in the order they go: its photos (albums of up to ten), its map point, its
    text and buttons. A text right after a single photo is that photo's caption when it fits:
    one message instead of two (an album cannot carry buttons)."""
    photos = list(payload.get("photos") or [])
    result = [Part(photos=tuple(photos[i : i + ALBUM])) for i in range(0, len(photos), ALBUM)]
    location = payload.get("location")
    if location:
        result.append(Part(location=(float(location[0]), float(location[1]))))
    text = payload.get("text")
    if text:
        if result and len(result[-1].photos) == 1 and fits_caption(text):
            result[-1] = Part(photos=result[-1].photos, text=text)
        else:
            result.append(Part(text=text))
    return result


def message_count(row: OutboxRow, moment: dt.datetime) -> int:
    """How many Telegram messages the rest of a row becomes (an album counts as one request)."""
    return len(parts(payload_at(row.payload, moment))[row.parts_sent :]) or 1


def gone(exc: TelegramError) -> bool:
    """Whether Telegram's answer means this chat can no longer be written to."""
    return isinstance(exc, Forbidden) or any(reason in exc.message.lower() for reason in GONE)


async def send_part(
    bot: Bot,
    db: Database,
    root: Path,
    chat_id: int,
    part: Part,
    buttons: InlineKeyboardMarkup | None,
) -> None:
    """Send one part of a notification; the buttons go with its text."""
    buttons = buttons if part.text else None
    if part.photos:
        await send_media(bot, db, root, chat_id, list(part.photos), part.text, buttons)
    elif part.location is not None:
        await bot.send_location(chat_id, latitude=part.location[0], longitude=part.location[1])
    elif part.text:
        await bot.send_message(chat_id, part.text, reply_markup=buttons)


async def send_photos(bot: Bot, db: Database, root: Path, chat_id: int, hashes: list[str]) -> None:
    """Send stored photos, in albums of up to ten."""
    for start in range(0, len(hashes), ALBUM):
        await send_media(bot, db, root, chat_id, hashes[start : start + ALBUM])


async def send_media(
    bot: Bot,
    db: Database,
    root: Path,
    chat_id: int,
    hashes: list[str],
    caption: str | None = None,
    buttons: InlineKeyboardMarkup | None = None,
) -> None:
    """Send up to ten stored photos: one (with its caption and buttons), or an album. A photo
    Telegram already has goes by its file id: its bytes go up once, not once per recipient (a
    broadcast's photo, a case's photos for each officer and contact)."""
    known = await db.lookup.photos.file_ids(hashes)
    try:
        sent = await _send_album(bot, root, chat_id, hashes, known, caption, buttons)
    except BadRequest as exc:
        stale: dict[str, str | None] = {sha: None for sha in hashes if sha in known}
        if not stale or "file" not in exc.message.lower():
            raise
        # A file id Telegram no longer takes (another bot's token, say): send the bytes.
        log.warning("file ids of %d photos refused (%s); uploading them", len(stale), exc)
        async with db.autocommit() as session:
            await session.photos.set_file_ids(stale)
        for sha in stale:
            del known[sha]
        sent = await _send_album(bot, root, chat_id, hashes, known, caption, buttons)
    learned: dict[str, str | None] = {
        sha: message.photo[-1].file_id
        for sha, message in zip(hashes, sent, strict=False)
        if sha not in known and message.photo
    }
    if learned:
        async with db.autocommit() as session:
            await session.photos.set_file_ids(learned)


async def _send_album(
    bot: Bot,
    root: Path,
    chat_id: int,
    hashes: list[str],
    known: dict[str, str],
    caption: str | None,
    buttons: InlineKeyboardMarkup | None,
) -> Sequence[Message]:
    media: list[str | bytes] = [known.get(sha) or read_photo(root, sha) for sha in hashes]
    if len(media) == 1:
        return [await bot.send_photo(chat_id, media[0], caption=caption, reply_markup=buttons)]
    return await bot.send_media_group(chat_id, [InputMediaPhoto(item) for item in media])


def _first(rows: list[tuple[OutboxRow, int]], messages: int) -> list[tuple[OutboxRow, int]]:
    """The first rows whose messages fit in ``messages``, in order."""
    fitting = []
    for row, count in rows:
        if count > messages:
            break
        fitting.append((row, count))
        messages -= count
    return fitting


def _seconds(value: float | dt.timedelta) -> float:
    return value.total_seconds() if isinstance(value, dt.timedelta) else float(value)


class SentMarks:
    """Records rows as sent in groups (a group commit): each caller waits until its row is
    committed, and the rows that finish while one statement is on its way go together in the
    next. On PostgreSQL every statement is a round trip; the rows in flight at once then cost
    one, not one each, and still no row's task ends before its row is recorded."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db, self.clock = db, clock
        self._waiting: list[tuple[int, asyncio.Future[None]]] = []
        self._writing = False

    async def mark(self, row_id: int) -> None:
        """Record the row as sent; return once that is committed (raise if it was not)."""
        done = asyncio.get_running_loop().create_future()
        self._waiting.append((row_id, done))
        if not self._writing:
            self._writing = True
            try:
                await self._write()
            finally:
                self._writing = False
        await done

    async def _write(self) -> None:
        """Write group after group until no row waits (this task writes the others' too)."""
        while self._waiting:
            group, self._waiting = self._waiting, []
            try:
                async with self.db.autocommit() as session:
                    await session.outbox.mark_many_sent([row for row, _ in group], self.clock.now())
            except Exception as exc:  # this group is not recorded: its rows go again
                for _, waiter in group:
                    if not waiter.done():
                        waiter.set_exception(exc)
                continue
            except asyncio.CancelledError:  # stopping: no row that waits here is recorded
                for _, waiter in group + self._waiting:
                    waiter.cancel()
                self._waiting = []
                raise
            for _, waiter in group:
                if not waiter.done():  # its task may have been cancelled meanwhile
                    waiter.set_result(None)


@dataclass
class OutboxWorker:
    """Sends due outbox rows: ``run_once`` for one pass, ``run_forever`` as a background task."""

    bot: Bot
    db: Database
    clock: Clock
    photos_dir: Path
    limits: Limits = field(default_factory=Limits)
    batch: int = 500
    # When a quiet (not urgent) message may go, from a moment: the city's sending window.
    window: Callable[[dt.datetime], dt.datetime] | None = None
    # This worker's name when several send from one outbox: rows are claimed, and Telegram's
    # limits are kept in the database for the bot as a whole (SendBudgetRepo).
    holder: str | None = None

    def __post_init__(self) -> None:
        self.pacer = Pacer(self.limits, self.clock)
        self.marks = SentMarks(self.db, self.clock)

    async def run_once(self) -> DeliveryReport:
        """Send what is due and allowed now; rows held back by a limit wait for the next pass."""
        if self.holder is None:
            return await self._pass(await self.db.read.outbox.due(self.clock.now(), self.batch))
        now = self.clock.now()
        batch = self.batch
        if self.limits.overall_per_second > 0:  # no more rows than a pass may send
            batch = min(batch, self._share())
        async with self.db.transaction() as tx:  # one transaction: see OutboxRepo.claim
            rows = await tx.outbox.claim(self.holder, now, now + CLAIM, batch)
        report = await self._pass(rows)
        # Killed before this line, the rows not sent wait for the claim to run out. A row sent,
        # postponed or given up is let go with that record: only rows left waiting are held.
        if report.waiting:
            async with self.db.autocommit() as session:
                await session.outbox.release(self.holder)
        return report

    async def _pass(self, rows: list[OutboxRow]) -> DeliveryReport:
        report = DeliveryReport()
        held: set[int] = set()  # chats with an earlier row not sent this pass: keep their order
        semaphore = asyncio.Semaphore(max(1, self.limits.concurrency))
        tasks: list[asyncio.Task[str]] = []
        admitted: list[tuple[OutboxRow, int]] = []  # rows that may go, with their messages
        stop = False
        for row in rows:
            if stop or row.chat_id in held:
                report.waiting += 1
                continue
            if row.quiet and self.window is not None:
                opens = self.window(self.clock.now())
                if opens > self.clock.now():  # a long sending ran into quiet hours
                    async with self.db.transaction() as tx:
                        await tx.outbox.hold_quiet(opens)
                    held.add(row.chat_id)
                    report.waiting += 1
                    continue
            count = message_count(row, self.clock.now())
            held.add(row.chat_id)  # one row per chat in flight, in queue order
            if not self.pacer.may_send(row.chat_id, count):
                report.waiting += 1
                stop = self.pacer.overall_exhausted()
                continue
            admitted.append((row, count))
            if self.holder is None:
                self.pacer.spend(row.chat_id, count)
        deadline = None
        if self.holder is not None:  # several workers: the bot-wide budget decides
            second = self.clock.now().replace(microsecond=0)
            granted = await self._take_budget(admitted, second)
            report.waiting += len(admitted) - len(granted)
            for row, count in granted:
                self.pacer.spend(row.chat_id, count)
            admitted = granted
            if self.limits.overall_per_second > 0:
                # Taken from this second's budget: a row that could not start within it waits
                # for the next pass (Telegram counts a message in the second it arrives).
                deadline = second + dt.timedelta(seconds=1)
        for row, _count in admitted:
            tasks.append(asyncio.create_task(self._guarded(semaphore, row, deadline)))
        try:
            outcomes = await asyncio.gather(*tasks)
        except BaseException:
            # Stopped (shutdown) or failed: the rows not yet sent wait for the next pass
            # instead of going out from an orphaned task.
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        for outcome in outcomes:
            setattr(report, outcome, getattr(report, outcome) + 1)
        return report

    def _share(self) -> int:
        """The messages of a second's overall budget one pass takes (several workers)."""
        return max(PASS_LEAST, math.ceil(self.limits.overall_per_second * PASS_SHARE))

    async def _take_budget(
        self, rows: list[tuple[OutboxRow, int]], second: dt.datetime
    ) -> list[tuple[OutboxRow, int]]:
        """Spend the bot-wide budget (several workers) of ``second`` for a pass's rows, each
        with its count of messages; return the rows that may go, in order. A pass takes a
        share of the second (what it can send within it): its first rows, each chat's period
        for them (one statement for the private chats), then the overall second for the rows
        whose chat may have one, as much of it as is left; the rest wait for the next pass.
        One short transaction a pass, not one a message: three workers at 1,000 messages a
        second would otherwise queue on the overall row."""
        limits = self.limits
        minute = second.replace(second=0)
        if limits.overall_per_second > 0 and rows:
            rows = _first(rows, max(rows[0][1], self._share()))
        async with self.db.transaction() as tx:
            private = [
                (f"chat:{row.chat_id}", count)
                for row, count in rows
                if row.chat_id > 0 and limits.private_interval > 0
            ]
            # The pause after a message to a private chat, counted in whole seconds.
            free = await tx.budget.take_each(private, second, 1)
            chats_ok = []
            for row, count in rows:
                if row.chat_id > 0 and limits.private_interval > 0:
                    taken = f"chat:{row.chat_id}" in free
                elif row.chat_id < 0 and limits.group_per_minute > 0:
                    taken = await tx.budget.take(
                        f"group:{row.chat_id}", minute, count, limits.group_per_minute
                    )
                else:
                    taken = True
                if taken:
                    chats_ok.append((row, count))
            if limits.overall_per_second <= 0 or not chats_ok:
                return chats_ok
            total = sum(count for _, count in chats_ok)
            limit = max(1, int(limits.overall_per_second))
            granted = await tx.budget.take_up_to("overall", second, total, limit)
        return _first(chats_ok, granted)

    async def _guarded(
        self, semaphore: asyncio.Semaphore, row: OutboxRow, deadline: dt.datetime | None = None
    ) -> str:
        async with semaphore:
            return await self.deliver(row, deadline)

    async def deliver(self, row: OutboxRow, deadline: dt.datetime | None = None) -> str:
        """Send the parts of a row not yet settled and record the outcome: sent, postponed,
        failed or dropped. Each part is recorded as soon as Telegram took it, so a retry (after
        RetryAfter, a network error, a crash) goes on from the first part not yet sent: at
        most the part in flight goes twice."""
        # The wording of this moment: one queued for the day before may have one for the day.
        payload = payload_at(row.payload, self.clock.now())
        todo = parts(payload)
        buttons = markup(payload)
        refusals: list[str] = []
        lost = False  # the last part, the point of the notification, was refused
        try:
            for index in range(row.parts_sent, len(todo)):
                if deadline is not None and self.clock.now() >= deadline - LATE:
                    return "waiting"  # the next pass goes on from this part
                refused = await self._send_part(row, todo[index], buttons)
                refusals.extend(refused)
                # Every way of sending it refused: the part is not there at all.
                lost = len(refused) > len(todo[index].fallbacks())
                if index + 1 < len(todo):
                    async with self.db.autocommit() as session:
                        await session.outbox.mark_parts_sent(row.id, index + 1)
        except RetryAfter as exc:
            wait = _seconds(exc.retry_after)
            self.pacer.pause(wait)
            if self.holder is not None and self.limits.overall_per_second > 0:
                # Every worker waits, not only the one Telegram told.
                # The last whole second before sending may start again.
                last = self.clock.now() + dt.timedelta(seconds=wait, microseconds=-1)
                limit = max(1, int(self.limits.overall_per_second))
                async with self.db.autocommit() as session:
                    await session.budget.pause("overall", last.replace(microsecond=0), limit)
            await self._postpone(row, dt.timedelta(seconds=wait), str(exc), count_attempt=False)
            return "postponed"
        except (Forbidden, BadRequest) as exc:  # what _send_part lets through: the chat is gone
            await self._chat_gone(row, exc.message)
            return "dropped"
        except (NetworkError, OSError) as exc:  # timeouts, 5xx answers, an unreadable photo
            if row.attempts + 1 >= MAX_ATTEMPTS:
                async with self.db.transaction() as tx:
                    await tx.outbox.give_up(row.id, "failed", str(exc))
                return "failed"
            backoff = min(MAX_BACKOFF, dt.timedelta(seconds=2 ** (row.attempts + 1)))
            await self._postpone(row, backoff, str(exc))
            return "postponed"
        except TelegramError as exc:
            log.error("outbox row %s failed: %s", row.id, exc)
            async with self.db.transaction() as tx:
                await tx.outbox.give_up(row.id, "failed", str(exc))
            return "failed"
        error = "; ".join(refusals) or None
        if lost:
            async with self.db.transaction() as tx:
                await tx.outbox.give_up(row.id, "failed", error or "")
            return "failed"
        if error is None:  # the hot path: committed with the rows sent alongside it
            await self.marks.mark(row.id)
            return "sent"
        async with self.db.autocommit() as session:
            await session.outbox.mark_sent(row.id, self.clock.now(), error)
        return "sent"

    async def _send_part(
        self, row: OutboxRow, part: Part, buttons: InlineKeyboardMarkup | None
    ) -> list[str]:
        """Send one part; Telegram's refusals for good (400, a photo file gone), each logged.

        A refused part is left out and the rest still goes; the card whose photo was refused
        goes alone. Only a chat that is gone ends the row here (the error is raised)."""
        refusals: list[str] = []
        for attempt in (part, *part.fallbacks()):
            try:
                await send_part(self.bot, self.db, self.photos_dir, row.chat_id, attempt, buttons)
                return refusals
            except BadRequest as exc:
                if gone(exc):
                    raise
                reason = exc.message
            except FileNotFoundError as exc:  # a stored photo that is no longer there
                reason = str(exc)
            log.error("outbox row %s: %s refused, left out: %s", row.id, attempt.kind, reason)
            refusals.append(f"{attempt.kind}: {reason}")
        return refusals

    async def _postpone(
        self, row: OutboxRow, wait: dt.timedelta, error: str, *, count_attempt: bool = True
    ) -> None:
        async with self.db.transaction() as tx:
            await tx.outbox.postpone(row.id, self.clock.now() + wait, error, count_attempt)

    async def _chat_gone(self, row: OutboxRow, reason: str) -> None:
        """Stop writing to a chat that blocked the bot or no longer exists."""
        async with self.db.transaction() as tx:
            await tx.outbox.give_up(row.id, "dropped", reason)
            await accounts.chat_gone(tx, row.chat_id, self.clock.now(), reason)

    async def drain(self) -> DeliveryReport:
        """Pass after pass until nothing due can go now (what waits for a limit stays)."""
        total = DeliveryReport()
        while True:
            report = await self.run_once()
            total.add(report)
            if report.sent + report.failed + report.dropped + report.postponed == 0:
                total.waiting = report.waiting
                return total

    async def run_forever(
        self, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep, idle: float = 0.5
    ) -> None:
        """The background task: pass after pass, resting when nothing went out."""
        while True:
            try:
                report = await self.run_once()
            except Exception:  # a database hiccup must not end delivery for good
                log.exception("outbox pass failed")
                report = DeliveryReport()
            if report.sent + report.failed + report.dropped == 0:
                await sleep(idle if report.waiting == 0 else 0.05)
            else:
                await sleep(0)


async def stop_task(task: asyncio.Task[None] | None) -> None:
    if task is None:
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
