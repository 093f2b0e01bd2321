#!/usr/bin/env python3
"""Capacity: the real bot, as a child process over HTTP long polling, with many people at once.

``run_bot.py run`` polls a fake Bot API server on 127.0.0.1 (fakebotapi.FakeBotServer) through
python-telegram-bot's own HTTP client; every Bot API call answers ``--rtt-ms`` after it was made
(default 50: a server in the region, as far from Telegram as that). Before the bot starts, its
database gets ``--seed-cases`` cases over the last three years (bench/stats.py's seeding, its own
sqlite3 connection), the reminder sweep's one-off catch-up over them, an invite for each officer
and the supervisor, and the citizens: each has a case of theirs already, and three in five a
report in progress at its place, description or photo step (without that they would all move
through the same steps together, and a run's window would see one step instead of the mix). The
city is the sample city with room for many reports a person a day and no quiet hours (the same
messages go out whatever the hour). Then, all at the same time:

- ``--users`` citizens file complete reports with a 1280×960 photo (every third in their real
  name with a phone number; every fifth at the place and category of a case filed a moment
  before, where the bot offers that case and they follow it instead), ask /my and open their
  newest case from it, and every other round send three /status at once (numbers that exist
  nowhere, so each answer names the update it answers);
- one officer per department triages each new case that reaches them: accept, a colour, the
  level, then the department handles it or orders an enterprise found by a typed name, with the
  default deadline;
- a supervisor asks /export for a year, then /stats for a year, again and again.

Seven runs, each on a fresh copy of the seeded database and a fresh fake server:

- serial: ``SHAOZI_CONCURRENT_UPDATES=1`` (one update at a time, as python-telegram-bot does
  unless told otherwise), at ``--rtt-ms``, everyone acting as soon as they have their answer;
- concurrent: the bot's own processing (the setting left to its default, or
  ``--concurrent-updates``), likewise;
- cpu: as concurrent with no round trip at all: what the machine itself allows;
- latency: as concurrent, everyone together paced at half the concurrent rate (the supervisor
  apart: a year's export is always running); serial-latency and cpu-latency likewise, at half
  the serial and the cpu rate;
- kills: as latency, the bot SIGKILLed ``--kills`` times and started again at once.

What is measured, all of it from the calls the fake server answered (``on_call``) and, once a
run is over, the bot's database:

- an update's first answer: the first call the bot made to its sender's chat (or the
  answerCallbackQuery of a button press) between the update's arrival at the server and the
  answer the person waits for (a step's next question, found by its buttons or keyboard);
- the sustained rate: updates first answered per second in the run's window, after a warm-up;
- p50 and p99 from arrival to first answer, over the updates sent in a latency run's window;
- order violations: answers that came before the answer to an update the same person sent
  earlier (each user's answers in the order their updates were sent);
- duplicate effects: cases beyond the Submit presses of their reporter, and case events
  (a submit, an acceptance, an assignment, a follow, ...) written twice by the same person on
  the same case;
- handled twice: button presses the bot answered twice (answerCallbackQuery calls per press, the
  refused ones too), and messages given to two lives of the bot (a restart re-delivers what was
  never confirmed) that were answered in the first and drew their answer again in the second;
- lost (kills run): updates sent, never answered, and never handled: a person who gets no answer
  within ``--timeout`` gives up (another takes their place), so the database still shows whether
  their last update was handled (their draft moved on to the step after it, their case filed,
  the case they followed, the case they accepted or assigned); a press or a question that
  changes nothing but its answer was handled only if answered.

The last line holds the figures as key=value pairs (ratio = concurrent ÷ cpu, speedup =
concurrent ÷ serial; p50_ms and p99_ms are the latency run's, serial_ and cpu_ those of the
other two). Targets (issue 15): ratio ≥ 0.8, speedup ≥ 10, p99 ≤ 500 ms at 50 ms,
no order violation, duplicate or lost update. ``--quick`` is a small run (20 users, 2,000 cases,
one kill) that finishes within a minute.

Run from the repository root: python bench/capacity.py [--users N] [--rtt-ms MS] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import resource
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import handlers
from bench.stats import ENTERPRISES, seed
from bot.accounts import visit
from bot.city import CityConfig, load_city
from bot.clock import SystemClock
from bot.invites import InviteSpec, create_invite
from bot.report_flow import new_draft
from bot.reports import Step, save_draft
from bot.schedule import run_sweeps
from bot.settings import SAMPLE_CITY, Settings
from bot.tg.app import ShaoziApp, shutdown
from bot.vocabulary.roles import Role
from fakebotapi import FakeBotAPI, FakeBotServer, FakeUser, SentMessage, ServedCall
from sandbox.core import offline_settings, start_on_fake_api
from tests.support.images import mosaic, phone_jpeg
from tests.support.process import RUN_BOT, environment
from tests.support.tables import execute, reading

TOKEN = "123456:CAPACITY"
HOST = "127.0.0.1"
NUMBER = re.compile(r"YH-\d{8}-\d{4,}")
# The accept button of a new case's card, before anything was chosen: cs:1:acc:CASE:VERSION.
ACCEPT = re.compile(r"^cs:1:acc:(\d+):(\d+)$")
JSONDict = dict[str, Any]


# --- What the server saw ----------------------------------------------------------------------


@dataclass(frozen=True)
class Event:
    """A Bot API call the bot made and the fake server answered, as the benchmark reads it."""

    seq: int
    at: float
    method: str
    chat_id: int | None
    message_id: int | None
    text: str
    markup: str
    ok: bool
    query_id: str | None

    @property
    def edit(self) -> bool:
        return self.method.startswith("edit")

    def buttons(self) -> list[tuple[str, str]]:
        """(label, callback data) of the inline keyboard the call carried."""
        if '"inline_keyboard"' not in self.markup:
            return []
        rows = json.loads(self.markup).get("inline_keyboard") or []
        return [(b.get("text", ""), b.get("callback_data", "")) for row in rows for b in row]


def _number(value: Any) -> int | None:
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)
    return None


def read_call(call: ServedCall, seq: int) -> Event:
    params, result = call.params, call.result
    message_id = _number(params.get("message_id"))
    if message_id is None and isinstance(result, dict):
        message_id = _number(result.get("message_id"))
    markup = params.get("reply_markup") or ""
    query = params.get("callback_query_id")
    return Event(
        seq=seq,
        at=call.at,
        method=call.method,
        chat_id=_number(params.get("chat_id")),
        message_id=message_id,
        text=str(params.get("text") or params.get("caption") or ""),
        markup=markup if isinstance(markup, str) else json.dumps(markup),
        ok=call.status == 200,
        query_id=str(query) if query is not None else None,
    )


# An awaited answer, recognised by the buttons or keyboard it carries, or the message it edits.
Ready = Callable[[Event], bool]


def carries(*fragments: str) -> Ready:
    """A send or edit whose keyboard holds one of ``fragments`` (callback data, a key)."""
    return lambda e: e.ok and any(fragment in e.markup for fragment in fragments)


def edits(message_id: int) -> Ready:
    return lambda e: e.ok and e.edit and e.message_id == message_id


def names(text: str) -> Ready:
    """A message (not an edit, no inline keyboard) that names ``text``: a case number."""
    return lambda e: (
        e.ok
        and e.method == "sendMessage"
        and text in e.text
        and '"inline_keyboard"' not in e.markup
    )


def shows_case(text: str) -> Ready:
    """The reporter's view of a case: a message naming ``text``, bare or with the one button a
    case that has ended may carry, to ask for a review (rv:1:ask:CASE)."""
    named = names(text)
    return lambda e: (
        named(e)
        or (e.ok and e.method == "sendMessage" and text in e.text and "rv:1:ask:" in e.markup)
    )


def nth(method: str, count: int) -> Ready:
    """The ``count``-th successful call of ``method``."""
    seen = 0

    def ready(e: Event) -> bool:
        nonlocal seen
        if e.ok and e.method == method:
            seen += 1
        return seen >= count

    return ready


def button_data(message: SentMessage) -> list[str]:
    """The callback data of a message's inline buttons, as the message is now."""
    return [d for row in message.buttons for _, d in row if d]


def data(prefix: str) -> str:
    """A keyboard fragment: callback data starting with ``prefix`` (its JSON opening quote)."""
    return '"' + prefix


# What the bot's database shows once an update was handled (kills run: was it handled?).
Effect = Callable[[sqlite3.Connection], bool]


def draft_at(user_id: int, *steps: str, photos: int = 0) -> Effect:
    def handled(conn: sqlite3.Connection) -> bool:
        row = conn.execute("SELECT step, data FROM drafts WHERE user_id = ?", (user_id,)).fetchone()
        if row is None or row[0] not in steps:
            return False
        return len(json.loads(row[1]).get("photos") or []) >= photos

    return handled


def cases_of(user_id: int, more_than: int, seeded_max: int) -> Effect:
    """More than ``more_than`` cases filed by the user since the seeding."""
    sql = "SELECT COUNT(*) FROM case_reporters WHERE user_id = ? AND case_id > ?"
    return lambda conn: int(conn.execute(sql, (user_id, seeded_max)).fetchone()[0]) > more_than


def follows_of(user_id: int, more_than: int) -> Effect:
    sql = "SELECT COUNT(*) FROM case_followers WHERE user_id = ?"
    return lambda conn: int(conn.execute(sql, (user_id,)).fetchone()[0]) > more_than


def case_in(case_id: int, *statuses: str) -> Effect:
    def handled(conn: sqlite3.Connection) -> bool:
        row = conn.execute("SELECT status FROM cases WHERE id = ?", (case_id,)).fetchone()
        return row is not None and row[0] in statuses

    return handled


@dataclass(eq=False)
class Sent:
    """One update the benchmark sent, and what became of it."""

    user_id: int
    kind: str
    ready: Ready
    pushed: float
    update_id: int
    future: asyncio.Future[Event]
    effect: Effect | None = None
    query_id: str | None = None
    first: float | None = None
    done: float | None = None
    answer: Event | None = None
    callback_answers: int = 0
    timed_out: bool = False

    @property
    def latency(self) -> float | None:
        return None if self.first is None else self.first - self.pushed


class Unanswered(Exception):
    """A person waited ``--timeout`` for an answer and gave up."""


class Unexpected(Exception):
    """The bot answered something the person did not expect (no such button...)."""


class Closing(Exception):
    """The run is ending: nobody sends anything new."""


class Pacer:
    """Everyone's updates together at ``rate`` a second (a token bucket a few tokens deep)."""

    def __init__(self, rate: float) -> None:
        self.rate = max(rate, 0.5)
        self.tokens = 0.0
        self.depth = 3.0
        self.last = time.monotonic()
        self.lock = asyncio.Lock()

    async def take(self) -> None:
        async with self.lock:  # first come, first served
            while True:
                now = time.monotonic()
                self.tokens = min(self.depth, self.tokens + (now - self.last) * self.rate)
                self.last = now
                if self.tokens >= 1:
                    self.tokens -= 1
                    return
                await asyncio.sleep((1 - self.tokens) / self.rate)


# --- The bot as a child process ---------------------------------------------------------------


class BotProcess:
    """run_bot.py run, polling the fake server; its output goes to ``bot.log``. With
    ``profile``, py-spy samples each life of it into ``profile``-LIFE.txt (collapsed stacks of
    the threads holding the GIL: what holds up the event loop)."""

    def __init__(self, folder: Path, env: dict[str, str], profile: Path | None = None) -> None:
        self.folder, self.env, self.profile = folder, env, profile
        self.log = folder / "bot.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.lives = 0
        self.spies: list[subprocess.Popen[bytes]] = []

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, RUN_BOT, "run"],
                cwd=self.folder,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.lives += 1
        if self.profile is not None:
            spy = Path(sys.executable).with_name("py-spy")
            out = self.profile.with_name(f"{self.profile.name}-{self.lives}.txt")
            record = ["record", "--format", "raw", "--rate", "200", "--nonblocking", "--gil"]
            record += ["--subprocesses", "-o", str(out), "--pid", str(self.process.pid)]
            self.spies.append(
                subprocess.Popen(
                    [spy, *record], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
                )
            )

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        if self.alive():
            assert self.process is not None
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self, grace: float) -> None:
        """SIGTERM, then SIGKILL if it has not ended within ``grace`` seconds."""
        if not self.alive():
            return
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            self.kill()

    def cpu_seconds(self) -> tuple[float, float]:
        """User and system time of the running bot (all its threads), and of the processes it
        started (the workers of its exports and charts)."""
        if not self.alive():
            return 0.0, 0.0
        assert self.process is not None
        processes = _processes()
        own, parents, workers = processes.get(self.process.pid, (0, 0))[1], {self.process.pid}, 0
        while parents:
            pid = parents.pop()
            children = {child for child, (parent, _) in processes.items() if parent == pid}
            workers += sum(processes[child][1] for child in children)
            parents |= children
        tick = os.sysconf("SC_CLK_TCK")
        return own / tick, workers / tick

    def tracebacks(self) -> int:
        return self.log.read_text("utf-8", errors="replace").count("Traceback")


def _processes() -> dict[int, tuple[int, int]]:
    """Every process's parent and user + system ticks, from /proc."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        found[int(entry.name)] = (int(fields[1]), int(fields[11]) + int(fields[12]))
    return found


def harness_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# --- The seeded city ----------------------------------------------------------------------------


# Where each citizen is when a run begins, in turn: with nothing begun, or with a report begun
# and at its place, description or photo step, or with a report of theirs already filed. Without
# it they would all move through the same steps together (one update at a time, 200 people take
# three minutes for one step each), and a run's window would see one step instead of the mix.
STARTS = ("new", "location", "description", "photos", "filed")
CITIZEN_IDS = 100_000  # the seeded citizens are CITIZEN_IDS + 1, + 2, ...


@dataclass(frozen=True)
class Citizen:
    """A citizen of the seeded database and the report they are in the middle of."""

    user_id: int
    start: str
    category: str
    place: tuple[float, float]


@dataclass(frozen=True)
class World:
    """What every run starts from: the seeded database, the city, the invites, the photos."""

    root: Path
    city_file: Path
    city: CityConfig
    database: Path
    invites: list[tuple[InviteSpec, str]]
    citizens: list[Citizen]
    seeded_max: int
    photos: list[bytes]


def description(user_id: int, turn: int) -> str:
    return f"Report {user_id}-{turn}: the fire exit on floor 2 is chained shut."


def places(city: CityConfig, skip: int = 0) -> Iterator[tuple[float, float]]:
    """Places about 330 m apart inside the city's districts, ``skip`` first ones left out: no
    two reports are neighbours (a neighbour of the same category is offered as a duplicate)."""
    cells = [cell for district in city.districts for cell in _cells(district.boundary)]
    cells = cells[skip % len(cells) :] + cells[: skip % len(cells)]
    while True:
        yield from cells


def city_file(folder: Path) -> Path:
    """The sample city, with room for many reports a person a day and no quiet hours (so the
    same messages go out whatever the hour the benchmark runs at)."""
    text = SAMPLE_CITY.read_text("utf-8")
    text, limits = re.subn(r"(?m)^reports_per_day = \d+$", "reports_per_day = 1000", text)
    text, quiet = re.subn(r'(?m)^end = "21:00"$', 'end = "08:00"', text)
    if (limits, quiet) != (1, 1):
        raise SystemExit("the sample city's reports_per_day or quiet_hours changed shape")
    path = folder / "city.toml"
    path.write_text(text, "utf-8")
    return path


async def prepare(root: Path, seed_cases: int, users: int, photo_count: int) -> World:
    """Seed the database every run copies (the cases, the sweep's catch-up on them, the
    citizens and their drafts), and make the invites."""
    path = city_file(root)
    city = load_city(path)
    folder = root / "template"
    folder.mkdir()
    settings = offline_settings(folder, TOKEN)
    app = await start_on_fake_api(FakeBotAPI(token=TOKEN), settings, handlers.install, city=city)
    try:
        return await _prepare(root, path, city, app, seed_cases, users, photo_count)
    finally:
        await shutdown(app)
        await app.shutdown()


async def _prepare(
    root: Path,
    path: Path,
    city: CityConfig,
    app: ShaoziApp,
    seed_cases: int,
    users: int,
    photo_count: int,
) -> World:
    services = app.bot_data.services
    settings = services.settings
    now = SystemClock().now()
    assert isinstance(settings.database, Path)  # an SQLite file
    seeded_s = seed(settings.database, city, seed_cases, now)
    began = time.perf_counter()
    # The first sweep after seeding visits every open case once; done here, before any staff
    # exists, the running bot's sweeps find only what comes due during the benchmark.
    await run_sweeps(services)
    swept_s = time.perf_counter() - began
    specs = [InviteSpec(Role.OFFICER, d.code) for d in city.departments]
    specs.append(InviteSpec(Role.SUPERVISOR))
    invites = [(spec, await create_invite(services.db, spec, now)) for spec in specs]
    citizens = []
    where = places(city)
    for n in range(users):
        user_id = CITIZEN_IDS + 1 + n
        category = city.categories[n % len(city.categories)]
        citizen = Citizen(user_id, STARTS[n % len(STARTS)], category.code, next(where))
        citizens.append(citizen)
        account = await visit(services, user_id, "en")  # as their first message would
        if citizen.start in ("new", "filed"):
            continue
        draft = await new_draft(services, account)  # as /report would
        draft.step = Step(citizen.start)
        draft.data.category = citizen.category
        if draft.step is not Step.LOCATION:
            lat, lon = citizen.place
            district = city.district_at(lat, lon)
            draft.data.latitude, draft.data.longitude = lat, lon
            draft.data.district = district.code if district else None
        if draft.step is Step.PHOTOS:
            draft.data.description = description(user_id, -1)
        await save_draft(services.db, draft, now)
    with reading(settings.database) as conn:
        seeded_max = int(conn.execute("SELECT COALESCE(MAX(id), 0) FROM cases").fetchone()[0])
    for n, citizen in enumerate(citizens):
        # A seeded case becomes theirs, so that /my lists something from the start.
        if n < seeded_max:
            execute(
                settings.database,
                "UPDATE case_reporters SET user_id = ? WHERE case_id = ?",
                (citizen.user_id, n + 1),
            )
    began = time.perf_counter()
    photos = [phone_jpeg(mosaic(1280, 960, seed=n)) for n in range(photo_count)]
    print(
        f"seeded {seed_cases:,} cases in {seeded_s:.1f} s, sweep catch-up {swept_s:.1f} s;"
        f" {photo_count} photos of 1280×960 made in {time.perf_counter() - began:.1f} s",
        flush=True,
    )
    return World(root, path, city, settings.database, invites, citizens, seeded_max, photos)


# --- One run ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunSpec:
    name: str
    rtt_ms: float
    serial: bool
    rate: float | None  # everyone together, updates a second; None: as fast as answers come
    kills: int = 0


@dataclass(frozen=True)
class Options:
    users: int
    rtt_ms: float
    seed_cases: int
    kills: int
    window: float
    warmup: float
    kill_every: float
    timeout: float
    photos: int
    concurrent_updates: int | None
    quick: bool
    runs: frozenset[str] = frozenset()  # the runs to make (all when empty)
    half_rate: float = 20.0  # the paced runs' rate when the run it is half of is left out
    keep: Path | None = None  # where the runs' folders (database, bot.log) stay
    py_spy: Path | None = None  # where py-spy's profile of each life of the bot goes
    bot_env: tuple[tuple[str, str], ...] = ()  # more environment of the bot (its settings)


@dataclass(frozen=True)
class Filed:
    number: str
    category: str
    place: tuple[float, float]
    reporter: int


@dataclass
class Result:
    name: str
    updates: int = 0
    per_s: float = 0.0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    answered: int = 0
    unanswered: int = 0
    unexpected: int = 0
    order_violations: int = 0
    duplicates: int = 0
    handled_twice: int = 0
    lost: int = 0
    handled_unanswered: int = 0
    cards_twice: int = 0
    reports: int = 0
    follows: int = 0
    triaged: int = 0
    exports: int = 0
    export_s: float = 0.0
    bot_cores: float = 0.0  # the bot's own process
    worker_cores: float = 0.0  # the processes it started
    harness_cores: float = 0.0
    tracebacks: int = 0
    load: float = 0.0  # the machine's 1-minute load average as the run ended (2 cores)
    # At each kill: updates sent since the kill before and not answered yet, and how many of
    # them the bot had taken from the server.
    at_kills: list[tuple[int, int]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class Run:
    """One run: a fresh database copy, a fake server, the bot, and everyone acting."""

    def __init__(self, spec: RunSpec, world: World, options: Options) -> None:
        self.spec, self.world, self.options = spec, world, options
        self.loop = asyncio.get_running_loop()
        self.api = FakeBotAPI(token=TOKEN)
        self.server = FakeBotServer(self.api, HOST, rtt_ms=spec.rtt_ms, on_call=self.on_call)
        self.folder = world.root / spec.name
        self.life = 0
        self.seq = 0
        self.sent: list[Sent] = []
        self.inflight: dict[int, list[Sent]] = defaultdict(list)
        self.events: dict[int, list[Event]] = defaultdict(list)
        self.changed: dict[int, asyncio.Event] = defaultdict(asyncio.Event)
        self.by_query: dict[str, Sent] = {}
        self.consumed: set[int] = set()
        self.deliveries: dict[int, list[tuple[float, int]]] = defaultdict(list)
        # Which life of the bot (0, then one more at each restart) made a call: the life in
        # which its connection was first seen. A killed bot's long poll may still be answered
        # after the restart; it goes to nobody, and is not counted as the new life's.
        self.port_life: dict[int, int] = {}
        self.started = asyncio.Event()
        self.pacer: Pacer | None = Pacer(spec.rate) if spec.rate else None
        self.timeout = options.timeout if spec.rate else max(120.0, options.timeout)
        self.closing = False
        self.filed: list[Filed] = []
        self.filed_by: dict[int, int] = defaultdict(int)
        self.followed_by: dict[int, int] = defaultdict(int)
        self.next_user = CITIZEN_IDS + len(world.citizens)
        self.places = places(world.city, skip=len(world.citizens))
        self.photo_index = 0
        self.status_index = 0
        self.result = Result(spec.name)
        self.unexpected: list[str] = []

    # The server's thread hands each answered call to the event loop.
    def on_call(self, call: ServedCall) -> None:
        with contextlib.suppress(RuntimeError):  # the loop has closed: the run is over
            self.loop.call_soon_threadsafe(self.observe, call)

    def observe(self, call: ServedCall) -> None:
        self.seq += 1
        method = call.method.lower()
        life = self.port_life.setdefault(call.client[1], self.life)
        if method in ("getupdates", "deletewebhook"):
            if life == self.life:
                self.started.set()  # this life of the bot is about to poll
            if method == "getupdates" and call.status == 200:
                for update in call.result or ():
                    self.deliveries[update["update_id"]].append((call.at, life))
            return
        event = read_call(call, self.seq)
        user_id = event.chat_id
        if event.query_id is not None:
            pressed = self.by_query.get(event.query_id)
            if pressed is None:
                return
            pressed.callback_answers += 1
            user_id = pressed.user_id
        if user_id is None:
            return
        self.events[user_id].append(event)
        waiting = self.inflight.get(user_id)
        if waiting:
            for sent in waiting:
                if event.at >= sent.pushed and sent.ready(event):
                    waiting.remove(sent)
                    self.settle(sent, event)
                    break
        self.changed[user_id].set()

    def settle(self, sent: Sent, event: Event) -> None:
        """The awaited answer came; the first answer is the earliest call to the chat since
        the update arrived that is no other update's awaited answer (a burst's own answers)."""
        sent.done, sent.answer, sent.first = event.at, event, event.at
        for earlier in reversed(self.events[sent.user_id]):
            if earlier.at < sent.pushed:
                break
            if earlier.ok and earlier.seq not in self.consumed:
                sent.first = min(sent.first, earlier.at)
        self.consumed.add(event.seq)
        if not sent.future.done():
            sent.future.set_result(event)

    # --- sending ------------------------------------------------------------------------------

    async def push(
        self,
        person: FakeUser,
        kind: str,
        act: Callable[[], Awaitable[JSONDict]],
        ready: Ready,
        effect: Effect | None = None,
        *,
        paced: bool = True,
    ) -> Sent:
        if self.closing:
            raise Closing()
        if self.pacer is not None and paced:
            await self.pacer.take()
            if self.closing:
                raise Closing()
        pushed = time.monotonic()
        update = await act()  # never suspends: the update is queued at the server at once
        query = update.get("callback_query")
        sent = Sent(
            user_id=person.user_id,
            kind=kind,
            ready=ready,
            pushed=pushed,
            update_id=update["update_id"],
            future=self.loop.create_future(),
            effect=effect,
            query_id=query["id"] if query else None,
        )
        self.sent.append(sent)
        self.inflight[person.user_id].append(sent)
        if sent.query_id is not None:
            self.by_query[sent.query_id] = sent
        return sent

    async def wait(self, sent: Sent) -> Event:
        """The awaited answer; Unanswered after the timeout (the answer may still come later,
        and is recorded then)."""
        # asyncio.wait, not wait_for: it leaves the future alone on a timeout, and never
        # swallows the task's own cancellation when the answer comes at that very moment.
        await asyncio.wait([sent.future], timeout=self.timeout)
        if not sent.future.done():
            sent.timed_out = True
            raise Unanswered(sent.kind)
        return sent.future.result()

    async def step(
        self,
        person: FakeUser,
        kind: str,
        act: Callable[[], Awaitable[JSONDict]],
        ready: Ready,
        effect: Effect | None = None,
        *,
        paced: bool = True,
    ) -> Event:
        return await self.wait(await self.push(person, kind, act, ready, effect, paced=paced))

    def message(self, person: FakeUser, message_id: int | None) -> SentMessage:
        for message in person.newest_first():
            if message.message_id == message_id:
                return message
        raise Unexpected(f"message {message_id} is not in chat {person.user_id}")

    async def press(
        self,
        person: FakeUser,
        message_id: int | None,
        choose: Callable[[str], bool],
        kind: str,
        ready: Ready,
        effect: Effect | None = None,
    ) -> Event:
        """Press the first button of the message whose callback data ``choose`` accepts."""
        message = self.message(person, message_id)
        chosen = next((d for d in button_data(message) if choose(d)), None)
        if chosen is None:
            shown = button_data(message)
            raise Unexpected(f"{kind}: no such button in {message.plain[:80]!r}: {shown}")
        return await self.step(
            person, kind, lambda: person.press_data(chosen, message), ready, effect
        )

    # --- the people ---------------------------------------------------------------------------

    def person(self, user_id: int | None = None, name: str = "Citizen") -> FakeUser:
        if user_id is None:
            self.next_user += 1
            user_id = self.next_user
        return FakeUser(self.api, user_id, first_name=name, language_code="en")

    async def citizen(self, citizen: Citizen, index: int) -> None:
        await asyncio.sleep(index / max(1, self.options.users))  # all start within a second
        person = self.person(citizen.user_id)
        start: Citizen | None = citizen
        turn = index
        while True:
            try:
                if start is None or start.start != "filed":
                    await self.report(person, turn, start)
                start = None
                await self.follow_up(person, turn)
            except Closing:
                return
            except Unanswered:
                person, start = self.person(), None  # they give up; someone else starts
            except Unexpected as exc:
                self.note_unexpected(str(exc))
                person, start = self.person(), None
            turn += 1

    def note_unexpected(self, text: str) -> None:
        self.result.unexpected += 1
        if len(self.unexpected) < 5:
            self.unexpected.append(text)

    async def report(self, person: FakeUser, turn: int, begun: Citizen | None = None) -> None:
        """One complete report with a photo: filed, or a case followed instead. ``begun``: the
        seeded draft it goes on with."""
        uid = person.user_id
        categories = self.world.city.categories
        target = None
        others = [f for f in self.filed[-50:] if f.reporter != uid]
        if begun is not None:
            category, place = begun.category, begun.place
        elif turn % 5 == 4 and others:
            target = random.choice(others)
            category = target.category
            place = (target.place[0] + 0.0002, target.place[1])  # about 20 m away
        else:
            category = categories[turn % len(categories)].code
            place = next(self.places)
        mine, follows = self.filed_by[uid], self.followed_by[uid]
        start = begun.start if begun is not None else "new"
        if start == "new":
            await self.choose_category(person, category)
        if start in ("new", "location"):
            await self.locate(person, place)
        if start != "photos":
            await self.step(
                person,
                "description",
                lambda: person.send(description(uid, turn)),
                carries(data("rep:1:nophoto:")),
                draft_at(uid, "photos"),
            )
        photo = self.world.photos[self.photo_index % len(self.world.photos)]
        self.photo_index += 1
        ask = await self.step(
            person,
            "photo",
            lambda: person.send_photo(photo),
            carries(data("rep:1:done:")),
            draft_at(uid, "photos", photos=1),
        )
        ask = await self.press(
            person,
            ask.message_id,
            lambda d: d.startswith("rep:1:done:"),
            "done",
            carries(data("rep:1:anon:")),
            draft_at(uid, "identity"),
        )
        summary = carries(data("rep:1:confirm:"), data("rep:1:dupnew:"))
        if turn % 3 == 1:
            await self.press(
                person,
                ask.message_id,
                lambda d: d.startswith("rep:1:real:"),
                "real name",
                carries('"remove_keyboard"'),
                draft_at(uid, "name"),
            )
            await self.step(
                person,
                "name",
                lambda: person.send("Chen Jing"),
                carries('"request_contact"'),
                draft_at(uid, "phone"),
            )
            ask = await self.step(
                person,
                "phone",
                lambda: person.send_contact("13912345678"),
                summary,
                draft_at(uid, "summary", "duplicates"),
            )
        else:
            ask = await self.press(
                person,
                ask.message_id,
                lambda d: d.startswith("rep:1:anon:"),
                "anonymous",
                summary,
                draft_at(uid, "summary", "duplicates"),
            )
        await self.submit(person, ask, category, place, target, mine, follows)

    async def choose_category(self, person: FakeUser, category: str) -> None:
        uid = person.user_id
        ask = await self.step(
            person,
            "/report",
            lambda: person.command("report"),
            carries(data("rep:1:cat:"), data("rep:1:restart:")),
            draft_at(uid, "category"),
        )
        if data("rep:1:restart:") in ask.markup:  # a draft from before: start over
            ask = await self.press(
                person,
                ask.message_id,
                lambda d: d.startswith("rep:1:restart:"),
                "restart",
                carries(data("rep:1:cat:")),
            )
        await self.press(
            person,
            ask.message_id,
            lambda d: d.startswith("rep:1:cat:") and d.endswith(":" + category),
            "category",
            carries('"request_location"'),
            draft_at(uid, "location"),
        )

    async def locate(self, person: FakeUser, place: tuple[float, float]) -> None:
        uid = person.user_id
        ask = await self.step(
            person,
            "location",
            lambda: person.send_location(*place),
            carries('"remove_keyboard"', data("rep:1:dist:")),
            draft_at(uid, "description", "district"),
        )
        if data("rep:1:dist:") in ask.markup:
            await self.press(
                person,
                ask.message_id,
                lambda d: d.startswith("rep:1:dist:"),
                "district",
                carries('"remove_keyboard"'),
                draft_at(uid, "description"),
            )

    async def submit(
        self,
        person: FakeUser,
        ask: Event,
        category: str,
        place: tuple[float, float],
        target: Filed | None,
        mine: int,
        follows: int,
    ) -> None:
        """Follow the case offered as the same, or submit (after "mine is different")."""
        uid = person.user_id
        if data("rep:1:dupnew:") in ask.markup:
            if target is not None and data("rep:1:dup:") in ask.markup:
                await self.press(
                    person,
                    ask.message_id,
                    lambda d: d.startswith("rep:1:dup:"),
                    "follow",
                    lambda e: (
                        e.ok
                        and e.method == "sendMessage"
                        and '"remove_keyboard"' in e.markup
                        and NUMBER.search(e.text) is not None
                    ),
                    follows_of(uid, follows),
                )
                self.followed_by[uid] += 1
                self.result.follows += 1
                return
            ask = await self.press(
                person,
                ask.message_id,
                lambda d: d.startswith("rep:1:dupnew:"),
                "different",
                carries(data("rep:1:confirm:")),
                draft_at(uid, "summary"),
            )
        receipt = ask.message_id

        def filed(e: Event) -> bool:
            if not e.ok or NUMBER.search(e.text) is None:
                return False
            if e.edit:
                return e.message_id == receipt
            return e.method == "sendMessage" and '"remove_keyboard"' in e.markup

        answer = await self.press(
            person,
            receipt,
            lambda d: d.startswith("rep:1:confirm:"),
            "submit",
            filed,
            cases_of(uid, mine, self.world.seeded_max),
        )
        found = NUMBER.search(answer.text)
        assert found is not None
        self.filed.append(Filed(found.group(0), category, place, uid))
        self.filed_by[uid] += 1
        self.result.reports += 1

    async def follow_up(self, person: FakeUser, turn: int) -> None:
        """/my, the newest case opened from it; every other turn three /status at once."""
        listing = await self.step(
            person, "/my", lambda: person.command("my"), carries(data("trk:1:case:"))
        )
        label, chosen = next(
            ((label, d) for label, d in listing.buttons() if d.startswith("trk:1:case:")),
            ("", ""),
        )
        await self.press(
            person, listing.message_id, lambda d: d == chosen, "open", shows_case(label)
        )
        if turn % 2 == 0:
            return
        burst = []
        for _ in range(3):
            self.status_index += 1
            burst.append(await self.ask_status(person, f"YH-19990101-{self.status_index:06d}"))
        for sent in burst:
            await self.wait(sent)

    async def ask_status(self, person: FakeUser, number: str) -> Sent:
        """/status of a number that exists nowhere: its answer names it, and nothing else does."""
        return await self.push(
            person,
            "/status",
            lambda: person.command("status", number),
            lambda e: e.ok and number in e.text,
        )

    async def officer(self, person: FakeUser) -> None:
        done: set[int] = set()
        turn = 0
        while True:
            card = await self.next_card(person, done)
            done.add(card.message_id)
            try:
                await self.triage(person, card, turn)
                self.result.triaged += 1
            except Closing:
                return
            except Unanswered:
                pass  # on to the next card
            except Unexpected as exc:
                self.note_unexpected(str(exc))
            turn += 1

    async def next_card(self, person: FakeUser, done: set[int]) -> SentMessage:
        """The oldest new case the officer has not looked at yet (waits for one)."""
        while True:
            signal_ = self.changed[person.user_id]
            signal_.clear()
            for message in person.transcript:
                if message.message_id in done or message.deleted:
                    continue
                if any(ACCEPT.match(d) for d in button_data(message)):
                    return message
            await signal_.wait()

    async def triage(self, person: FakeUser, card: SentMessage, turn: int) -> None:
        """Accept (colour, level), then handle it (default deadline) or order an enterprise (the
        first wording, the first deadline)."""
        accept = next(m for d in button_data(card) if (m := ACCEPT.match(d)))
        case_id = int(accept.group(1))
        found = NUMBER.search(card.plain)
        number = found.group(0) if found else str(case_id)
        mid: int | None = card.message_id

        def card_of(e: Event) -> bool:
            # The card edited in place, or sent anew where Telegram would not edit it.
            return (e.ok and e.edit and e.message_id == mid) or (
                e.ok and e.method in ("sendMessage", "sendPhoto") and f":{case_id}:" in e.markup
            )

        colour = ("blue", "yellow")[turn % 2]
        await self.press(
            person, mid, lambda d: ACCEPT.match(d) is not None, "accept", edits(card.message_id)
        )
        await self.press(
            person, mid, lambda d: d.endswith(f":{colour}"), "colour", edits(card.message_id)
        )
        shown = await self.press(
            person,
            mid,
            lambda d: d.endswith(":general"),
            "level",
            card_of,
            case_in(case_id, "accepted", "assigned"),
        )
        mid = shown.message_id
        assigned = case_in(case_id, "assigned")
        if turn % 2 == 0:
            await self.press(
                person,
                mid,
                lambda d: d.startswith(f"cs:1:hdl:{case_id}:"),
                "handle",
                edits(mid or 0),
            )
            await self.press(
                person,
                mid,
                lambda d: d.startswith(f"cs:1:dl:{case_id}:"),
                "deadline",
                card_of,
                assigned,
            )
            return
        await self.press(
            person, mid, lambda d: d.startswith(f"cs:1:asg:{case_id}:"), "order", names(number)
        )
        name = f"Enterprise {random.randint(1, ENTERPRISES)}"
        choice = await self.step(
            person,
            "enterprise",
            lambda: person.send(name),
            carries(data(f"cs:1:asge:{case_id}:")),
        )
        mid = choice.message_id
        await self.press(
            person,
            mid,
            lambda d: d.startswith(f"cs:1:asge:{case_id}:"),
            "choose",
            edits(mid or 0),
        )
        # The order's page: the city's first wording is chosen; a deadline sends the order.
        await self.press(
            person,
            mid,
            lambda d: d.startswith(f"cs:1:ordd:{case_id}:"),
            "deadline",
            card_of,
            assigned,
        )

    async def supervisor(self, person: FakeUser) -> None:
        """A year's export, then a year's figures, again and again; in the paced runs too (one
        person, outside everyone's pace), so that an export is always running."""
        while True:
            try:
                await self.step(
                    person,
                    "/export",
                    lambda: person.command("export", "year"),
                    nth("sendDocument", 2),  # the XLSX, then the CSV
                    paced=False,
                )
                self.result.exports += 1
                await self.step(
                    person,
                    "/stats",
                    lambda: person.command("stats", "year"),
                    lambda e: e.ok and e.method == "sendPhoto",  # the chart, after the figures
                    paced=False,
                )
            except Closing:
                return
            except Unanswered:
                pass

    # --- the run --------------------------------------------------------------------------------

    def bot_env(self) -> dict[str, str]:
        extra = {
            "SHAOZI_TOKEN": TOKEN,
            "SHAOZI_API_URL": self.server.base_url,
            "SHAOZI_FILE_URL": self.server.base_file_url,
            "SHAOZI_CITY": str(self.world.city_file),
        }
        if self.spec.serial:
            extra["SHAOZI_CONCURRENT_UPDATES"] = "1"
        elif self.options.concurrent_updates is not None:
            extra["SHAOZI_CONCURRENT_UPDATES"] = str(self.options.concurrent_updates)
        extra.update(self.options.bot_env)
        return environment(self.folder, **extra)

    async def start(self, bot: BotProcess) -> None:
        self.started.clear()
        bot.start()
        deadline = time.monotonic() + 60
        while not self.started.is_set():
            if not bot.alive() or time.monotonic() > deadline:
                tail = bot.log.read_text("utf-8", errors="replace")[-3000:]
                raise SystemExit(f"{self.spec.name}: the bot did not start polling:\n{tail}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.started.wait(), 0.2)

    async def join_staff(self) -> tuple[list[FakeUser], FakeUser]:
        officers, supervisor = [], None
        joined = []
        for index, (spec, code) in enumerate(self.world.invites):
            person = self.person(900_000 + index, spec.role.value.title())
            joined.append(await self.join(person, code))
            if spec.role is Role.SUPERVISOR:
                supervisor = person
            else:
                officers.append(person)
        for sent in joined:
            await self.wait(sent)
        with reading(self.folder / "shaozi.db") as conn:
            members = conn.execute("SELECT COUNT(*) FROM memberships").fetchone()[0]
        if members < len(joined) or supervisor is None:
            raise SystemExit(f"{self.spec.name}: only {members} of {len(joined)} staff joined")
        return officers, supervisor

    async def join(self, person: FakeUser, code: str) -> Sent:
        return await self.push(
            person,
            "/join",
            lambda: person.command("join", code),
            lambda e: e.ok and e.method == "sendMessage",
        )

    async def go(self) -> Result:
        self.folder.mkdir()
        for suffix in ("", "-wal"):  # the template is closed: its WAL, if any, is empty
            source = self.world.database.with_name(self.world.database.name + suffix)
            if source.exists():
                shutil.copy(source, self.folder / ("shaozi.db" + suffix))
        spy = self.options.py_spy
        bot = BotProcess(self.folder, self.bot_env(), spy / self.spec.name if spy else None)
        with self.server:
            await self.start(bot)
            officers, supervisor = await self.join_staff()
            tasks = [
                asyncio.create_task(self.citizen(citizen, n))
                for n, citizen in enumerate(self.world.citizens)
            ]
            tasks += [asyncio.create_task(self.officer(o)) for o in officers]
            tasks.append(asyncio.create_task(self.supervisor(supervisor)))
            began = time.monotonic()
            window_start = began + self.options.warmup
            try:
                if self.spec.kills:
                    window_end = await self.kill_and_restart(bot, window_start)
                    await self.settle_and_close(tasks)
                    bot.stop(grace=30)
                else:
                    await asyncio.sleep(window_start - time.monotonic())
                    (cpu0, workers0), own0 = bot.cpu_seconds(), harness_cpu_seconds()
                    await asyncio.sleep(self.options.window)
                    window_end = time.monotonic()
                    (cpu1, workers1), own1 = bot.cpu_seconds(), harness_cpu_seconds()
                    self.result.bot_cores = (cpu1 - cpu0) / self.options.window
                    self.result.worker_cores = (workers1 - workers0) / self.options.window
                    self.result.harness_cores = (own1 - own0) / self.options.window
                    if self.pacer is not None:  # the latency run: the window's answers come in
                        self.closing = True
                        await self.answers_of(window_start, window_end)
                    bot.kill()
            finally:
                self.closing = True  # whatever outlives its cancellation sends nothing more
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                bot.kill()
                for spying in bot.spies:  # it writes its profile once the bot has ended
                    spying.wait(timeout=60)
        self.tally(window_start, window_end, bot)
        return self.result

    async def answers_of(self, start: float, end: float) -> None:
        """Wait until the updates sent in the window are answered, or have waited too long."""
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if all(s.done for s in self.sent if start <= s.pushed <= end):
                return
            await asyncio.sleep(0.1)

    async def kill_and_restart(self, bot: BotProcess, start: float) -> float:
        await asyncio.sleep(start - time.monotonic())
        since = time.monotonic()
        for _ in range(self.spec.kills):
            await asyncio.sleep(self.options.kill_every)
            waiting = [s for s in self.sent if s.done is None and s.pushed >= since]
            taken = sum(1 for s in waiting if s.update_id in self.deliveries)
            self.result.at_kills.append((len(waiting), taken))
            bot.kill()
            since = time.monotonic()
            # Calls the dead bot had made are answered within half a round trip; a connection
            # first seen after this belongs to the next life.
            await asyncio.sleep(self.spec.rtt_ms / 2000 + 0.1)
            self.life += 1
            await self.start(bot)
        await asyncio.sleep(self.options.kill_every)
        return time.monotonic()

    async def settle_and_close(self, tasks: list[asyncio.Task[None]]) -> None:
        """Nobody sends anything new; what was sent is answered or given up on."""
        self.closing = True
        deadline = time.monotonic() + self.timeout + 5
        while time.monotonic() < deadline:
            now = time.monotonic()
            if all(s.done or now - s.pushed > self.timeout for s in self.sent):
                break
            await asyncio.sleep(0.2)
        for task in tasks:
            task.cancel()

    # --- what it came to ---------------------------------------------------------------------

    def tally(self, start: float, end: float, bot: BotProcess) -> None:
        r = self.result
        r.updates = len(self.sent)
        r.answered = sum(1 for s in self.sent if s.done)
        r.unanswered = sum(1 for s in self.sent if s.timed_out)
        r.per_s = sum(1 for s in self.sent if s.first and start <= s.first <= end) / (end - start)
        if self.pacer is not None and not self.spec.kills:
            waits = [
                (s.latency if s.latency is not None else self.timeout)
                for s in self.sent
                if start <= s.pushed <= end
            ]
            if len(waits) >= 2:
                r.p50_ms = statistics.median(waits) * 1000
                r.p99_ms = statistics.quantiles(waits, n=100, method="inclusive")[98] * 1000
                # What the slowest hundredth were: the kinds of update, and how slow.
                window = [s for s in self.sent if start <= s.pushed <= end]
                window.sort(key=lambda s: -(s.latency if s.latency is not None else self.timeout))
                slowest = window[: max(1, len(window) // 100)]
                kinds: dict[str, int] = defaultdict(int)
                for sent in slowest:
                    kinds[sent.kind] += 1
                shown = ", ".join(
                    f"{kind} {n}" for kind, n in sorted(kinds.items(), key=lambda x: -x[1])
                )
                r.notes.append(f"slowest 1%: {shown}")
        exports = [s.done - s.pushed for s in self.sent if s.kind == "/export" and s.done]
        r.export_s = statistics.median(exports) if exports else 0.0
        r.order_violations = self.order_violations()
        r.handled_twice = self.handled_twice()
        r.cards_twice = self.cards_twice()
        with reading(self.folder / "shaozi.db") as conn:
            r.duplicates = self.duplicates(conn)
            if self.spec.kills:
                inbox = {
                    row[0]: row[1]
                    for row in conn.execute("SELECT update_id, handled_at FROM inbox")
                }
                for sent in self.sent:
                    if sent.done is not None:
                        continue
                    if sent.effect is not None and sent.effect(conn):
                        r.handled_unanswered += 1
                        continue
                    r.lost += 1
                    # Where it was lost: never kept by the bot, kept and not handled (when the
                    # run ended), or handled without the answer its sender waits for.
                    kept = sent.update_id in inbox
                    where = (
                        "handled" if inbox.get(sent.update_id) else "kept" if kept else "never kept"
                    )
                    said = [e.method for e in self.events[sent.user_id] if e.at >= sent.pushed]
                    r.notes.append(
                        f"lost {sent.kind} (update {sent.update_id}, {where};"
                        f" taken from the server {len(self.deliveries.get(sent.update_id, []))}"
                        f" times; the bot then made {said[:6]} to its sender)"
                    )
        r.tracebacks = bot.tracebacks()
        r.load = os.getloadavg()[0]
        r.notes.extend(f"unexpected: {note}" for note in self.unexpected)

    def order_violations(self) -> int:
        """Answers that came before the answer to an update the same person sent earlier."""
        by_user: dict[int, list[Sent]] = defaultdict(list)
        for sent in self.sent:
            if sent.answer is not None:
                by_user[sent.user_id].append(sent)
        violations = 0
        for sents in by_user.values():
            latest = -1
            for sent in sents:  # in the order they were sent
                assert sent.answer is not None
                if sent.answer.seq < latest:
                    violations += 1
                latest = max(latest, sent.answer.seq)
        return violations

    def handled_twice(self) -> int:
        twice = sum(1 for s in self.sent if s.callback_answers >= 2)
        for sent in self.sent:
            if sent.query_id is not None or sent.answer is None:
                continue
            lives = self.deliveries.get(sent.update_id, [])
            if not lives:
                continue
            first_life = lives[0][1]
            again = [at for at, life in lives if life > first_life and at > sent.answer.at]
            if not again:
                continue
            if any(
                e.at > again[0] and e.seq not in self.consumed and sent.ready(e)
                for e in self.events[sent.user_id]
            ):
                twice += 1
        return twice

    def cards_twice(self) -> int:
        """New-case cards that reached the same officer more than once."""
        cards: dict[tuple[int, int], int] = defaultdict(int)
        for user_id, events in self.events.items():
            for e in events:
                if e.ok and not e.edit:
                    for _, d in e.buttons():
                        if found := ACCEPT.match(d):
                            cards[user_id, int(found.group(1))] += 1
        return sum(n - 1 for n in cards.values() if n > 1)

    def duplicates(self, conn: sqlite3.Connection) -> int:
        """Cases beyond their reporter's Submit presses; a case event written twice by the
        same person on the same case (a press taking effect twice)."""
        submits: dict[int, int] = defaultdict(int)
        for sent in self.sent:
            if sent.kind == "submit":
                submits[sent.user_id] += 1
        extra = 0
        rows = conn.execute(
            "SELECT user_id, COUNT(*) FROM case_reporters WHERE case_id > ? GROUP BY user_id",
            (self.world.seeded_max,),
        )
        for reporter, count in rows:
            extra += max(0, count - submits.get(reporter, 0))
        twice = conn.execute(
            "SELECT COALESCE(SUM(n - 1), 0) FROM (SELECT COUNT(*) AS n FROM case_events"
            " WHERE case_id > ? GROUP BY case_id, kind, actor_id HAVING n > 1)",
            (self.world.seeded_max,),
        ).fetchone()[0]
        return extra + int(twice)


def _cells(boundary: list[tuple[float, float]]) -> Iterator[tuple[float, float]]:
    """Centres of 0.003° × 0.0035° cells (about 330 m) inside a rectangular boundary."""
    lons = [p[0] for p in boundary]
    lats = [p[1] for p in boundary]
    lat = min(lats) + 0.0015
    while lat < max(lats) - 0.0015:
        lon = min(lons) + 0.00175
        while lon < max(lons) - 0.00175:
            yield round(lat, 6), round(lon, 6)
            lon += 0.0035
        lat += 0.003


# --- The benchmark ------------------------------------------------------------------------------


def describe(result: Result, spec: RunSpec) -> str:
    parts = [
        f"run={result.name}",
        f"rtt_ms={spec.rtt_ms:g}",
        f"updates={result.updates}",
        f"answered={result.answered}",
        f"per_s={result.per_s:.1f}",
    ]
    if result.p99_ms:
        parts += [f"p50_ms={result.p50_ms:.0f}", f"p99_ms={result.p99_ms:.0f}"]
    if spec.kills:
        parts += [f"kills={spec.kills}", f"lost={result.lost}"]
        parts.append(f"handled_unanswered={result.handled_unanswered}")
        waiting = ",".join(f"{sent}/{taken}" for sent, taken in result.at_kills)
        parts.append(f"waiting_at_kills={waiting}")
    parts += [
        f"reports={result.reports}",
        f"follows={result.follows}",
        f"triaged={result.triaged}",
        f"exports={result.exports}",
        f"export_s={result.export_s:.1f}",
        f"unanswered={result.unanswered}",
        f"unexpected={result.unexpected}",
        f"order_violations={result.order_violations}",
        f"duplicates={result.duplicates}",
        f"handled_twice={result.handled_twice}",
        f"cards_twice={result.cards_twice}",
        f"tracebacks={result.tracebacks}",
        f"load={result.load:.1f}",
    ]
    if not spec.kills:
        # The bot's CPU time per update first answered in the window: what an update costs,
        # less sensitive than the rate to what else the machine is doing.
        cost = result.bot_cores / result.per_s * 1000 if result.per_s else 0.0
        parts += [
            f"bot_cores={result.bot_cores:.2f}",
            f"worker_cores={result.worker_cores:.2f}",
            f"cpu_ms={cost:.1f}",
            f"harness_cores={result.harness_cores:.2f}",
        ]
    return " ".join(parts)


def processing_setting() -> str:
    """The bot's concurrent_updates default, or "absent" where this branch has no such setting."""
    known = Settings.model_fields.get("concurrent_updates")
    return "absent" if known is None else str(known.default)


async def benchmark(options: Options) -> str:
    rtt = options.rtt_ms
    setting = processing_setting()
    print(
        f"{options.users} citizens, 8 officers and a supervisor; every Bot API call {rtt:g} ms"
        f" away; the bot's concurrent_updates setting: {setting}",
        flush=True,
    )
    if setting == "absent":
        print(
            "  (this branch has no such setting: every run processes one update at a time)",
            flush=True,
        )
    if options.keep is not None:
        options.keep.mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as stack:
        folder = options.keep or Path(
            stack.enter_context(tempfile.TemporaryDirectory(prefix="shaozi-capacity-"))
        )
        world = await prepare(Path(folder), options.seed_cases, options.users, options.photos)
        results: dict[str, Result] = {}
        skipped = Result("skipped")

        async def run(spec: RunSpec) -> Result:
            if options.runs and spec.name not in options.runs:
                return skipped
            began = time.monotonic()
            result = await Run(spec, world, options).go()
            print(describe(result, spec), f"wall_s={time.monotonic() - began:.0f}", flush=True)
            for note in result.notes:
                print(f"  {note}", flush=True)
            results[spec.name] = result
            return result

        serial = await run(RunSpec("serial", rtt, serial=True, rate=None))
        concurrent = await run(RunSpec("concurrent", rtt, serial=False, rate=None))
        cpu = await run(RunSpec("cpu", 0, serial=False, rate=None))
        # Each processing again at half its own sustained rate, a year's export running (a
        # run left out: --half-rate).
        half = concurrent.per_s / 2 or options.half_rate
        latency = await run(RunSpec("latency", rtt, serial=False, rate=half))
        serial_latency = await run(
            RunSpec("serial-latency", rtt, serial=True, rate=serial.per_s / 2 or half)
        )
        cpu_latency = await run(RunSpec("cpu-latency", 0, serial=False, rate=cpu.per_s / 2 or half))
        kills = await run(RunSpec("kills", rtt, serial=False, rate=half, kills=options.kills))
    everything = list(results.values()) or [skipped]
    ratio = concurrent.per_s / cpu.per_s if cpu.per_s else 0.0
    speedup = concurrent.per_s / serial.per_s if serial.per_s else 0.0
    return " ".join(
        [
            f"rtt_ms={rtt:g}",
            f"users={options.users}",
            f"updates={sum(r.updates for r in everything)}",
            f"serial_per_s={serial.per_s:.1f}",
            f"concurrent_per_s={concurrent.per_s:.1f}",
            f"cpu_per_s={cpu.per_s:.1f}",
            f"ratio={ratio:.2f}",
            f"speedup={speedup:.2f}",
            f"p50_ms={latency.p50_ms:.0f}",
            f"p99_ms={latency.p99_ms:.0f}",
            f"order_violations={sum(r.order_violations for r in everything)}",
            f"duplicates={sum(r.duplicates for r in everything)}",
            f"lost={kills.lost}",
            f"kills={options.kills}",
            f"handled_twice={sum(r.handled_twice for r in everything)}",
            f"unanswered={sum(r.unanswered for r in everything)}",
            f"seed_cases={options.seed_cases}",
            f"concurrent_updates={setting}",
            f"half_rate={half:.1f}",
            f"serial_p50_ms={serial_latency.p50_ms:.0f}",
            f"serial_p99_ms={serial_latency.p99_ms:.0f}",
            f"cpu_p50_ms={cpu_latency.p50_ms:.0f}",
            f"cpu_p99_ms={cpu_latency.p99_ms:.0f}",
            f"load_avg={statistics.mean(r.load for r in everything):.1f}",
        ]
    )


def parse(argv: list[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, help="citizens (default 200; --quick 20)")
    parser.add_argument("--rtt-ms", type=float, default=50.0, help="every call's round trip")
    parser.add_argument("--seed-cases", type=int, help="cases seeded (default 100,000)")
    parser.add_argument("--kills", type=int, help="SIGKILLs in the last run (default 3)")
    parser.add_argument("--window", type=float, help="seconds measured in each run (default 30)")
    parser.add_argument("--warmup", type=float, help="seconds before the window (default 10)")
    parser.add_argument("--kill-every", type=float, help="seconds between kills (default 8)")
    parser.add_argument(
        "--timeout", type=float, help="seconds a person waits for an answer (default 30)"
    )
    parser.add_argument("--photos", type=int, help="distinct photos made (default 400)")
    parser.add_argument(
        "--concurrent-updates",
        type=int,
        help="SHAOZI_CONCURRENT_UPDATES of the concurrent runs (default: the bot's own default)",
    )
    parser.add_argument("--quick", action="store_true", help="a small run, under a minute")
    parser.add_argument(
        "--runs",
        default="",
        help="only these runs, comma-separated (serial, concurrent, cpu, latency, serial-latency,"
        " cpu-latency, kills); the figures of those left out are 0",
    )
    parser.add_argument(
        "--half-rate",
        type=float,
        default=20.0,
        help="updates/s of the paced runs when the concurrent run is left out (default 20)",
    )
    parser.add_argument(
        "--bot-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a setting of the bot in every run, e.g. SHAOZI_API_CONNECTIONS=64 (repeatable)",
    )
    parser.add_argument("--keep", type=Path, help="make the runs in this folder, and keep it")
    parser.add_argument(
        "--py-spy", type=Path, help="profile each life of the bot with py-spy into this folder"
    )
    args = parser.parse_args(argv)
    quick = bool(args.quick)

    def pick(value: Any, full: Any, small: Any) -> Any:
        return value if value is not None else (small if quick else full)

    return Options(
        users=pick(args.users, 200, 20),
        rtt_ms=args.rtt_ms,
        seed_cases=pick(args.seed_cases, 100_000, 2_000),
        kills=pick(args.kills, 3, 1),
        window=pick(args.window, 30.0, 3.0),
        warmup=pick(args.warmup, 10.0, 1.5),
        kill_every=pick(args.kill_every, 8.0, 2.0),
        timeout=pick(args.timeout, 30.0, 6.0),
        photos=pick(args.photos, 400, 40),
        concurrent_updates=args.concurrent_updates,
        quick=quick,
        runs=frozenset(name for name in args.runs.split(",") if name),
        half_rate=args.half_rate,
        keep=args.keep,
        py_spy=args.py_spy,
        bot_env=tuple((name, value) for name, _, value in (p.partition("=") for p in args.bot_env)),
    )


def main(argv: list[str] | None = None) -> None:
    options = parse(argv)
    if options.py_spy is not None:
        options.py_spy.mkdir(parents=True, exist_ok=True)
    random.seed(15)
    print(asyncio.run(benchmark(options)), flush=True)


if __name__ == "__main__":
    main()
