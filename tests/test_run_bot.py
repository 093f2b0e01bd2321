"""run_bot.py as a program: its exit codes and messages, polling a Bot API over HTTP, crashes."""

from __future__ import annotations

import asyncio
import itertools
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import httpx
import pytest

from bot.settings import Settings
from fakebotapi import FakeBotAPI, FakeBotServer, FakeUser
from tests.support import postgres, tables
from tests.support.chat import TOKEN
from tests.support.images import has_metadata, jpeg
from tests.support.process import ROOT, RUN_BOT, environment, free_port, run

pytestmark = pytest.mark.subprocess


def test_without_a_token_it_says_how_to_get_one(tmp_path: Path) -> None:
    result = run(tmp_path)
    assert result.returncode == 2
    assert "SHAOZI_TOKEN" in result.stderr
    assert "@BotFather" in result.stderr
    assert "/newbot" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_bad_setting_is_named_in_one_line(tmp_path: Path) -> None:
    result = run(tmp_path, SHAOZI_TOKEN=TOKEN, SHAOZI_TIMEZONE="Mars/Olympus")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert lines == ["error: SHAOZI_TIMEZONE: unknown time zone 'Mars/Olympus'"]


def test_a_bad_city_file_is_named_with_its_places(tmp_path: Path) -> None:
    city = tmp_path / "city.toml"
    sample = (ROOT / "bot" / "cities" / "sample.toml").read_text("utf-8")
    city.write_text(sample.replace('department = "fire"', 'department = "fir"', 1), "utf-8")
    result = run(tmp_path, "check-config", str(city))
    assert result.returncode == 2
    assert "categories[0] (fire): unknown department 'fir'" in result.stderr
    ok = run(tmp_path, "check-config")
    assert ok.returncode == 0
    assert "OK (8 departments, 8 districts, 13 categories)" in ok.stdout


def test_migrate_invite_and_backup(tmp_path: Path) -> None:
    migrated = run(tmp_path, "migrate")
    assert migrated.returncode == 0, migrated.stderr
    # NNNN_name.sql, not a dialect's own NNNN_name.postgresql.sql
    migrations = len(
        [p for p in (ROOT / "storage" / "migrations").glob("*.sql") if p.suffixes == [".sql"]]
    )
    assert f"applied {migrations} migration(s)" in migrated.stdout
    assert "applied 0 migration(s)" in run(tmp_path, "migrate").stdout
    invite = run(tmp_path, "invite", "--role", "officer", "--department", "fire")
    assert invite.returncode == 0, invite.stderr
    code = invite.stdout.strip().splitlines()[-1]
    assert len(code) == 14
    assert code.count("-") == 2
    refused = run(tmp_path, "invite", "--role", "officer")
    assert refused.returncode == 2
    assert "an officer invite needs --department CODE" in refused.stderr
    unknown = run(tmp_path, "invite", "--role", "officer", "--department", "police")
    assert "unknown department 'police'" in unknown.stderr
    backup = run(tmp_path, "backup", str(tmp_path / "copy.db"))
    assert backup.returncode == 0, backup.stderr
    copy = sqlite3.connect(tmp_path / "copy.db")
    try:
        assert copy.execute("SELECT COUNT(*) FROM invites").fetchone() == (1,)
    finally:
        copy.close()


@pytest.mark.skipif(postgres.URL is None, reason="needs SHAOZI_TEST_DATABASE (PostgreSQL)")
@pytest.mark.skipif(shutil.which("pg_restore") is None, reason="needs pg_dump and pg_restore")
def test_migrate_and_backup_on_postgresql(tmp_path: Path, settings: Settings) -> None:
    """The operator's two commands on a PostgreSQL database (the fixture's, migrated)."""
    assert isinstance(settings.database, str)
    where = {"SHAOZI_DATABASE": settings.database}
    migrated = run(tmp_path, "migrate", **where)
    assert migrated.returncode == 0, migrated.stderr
    assert "applied 0 migration(s)" in migrated.stdout
    assert run(tmp_path, "invite", "--role", "admin", **where).returncode == 0
    backup = run(tmp_path, "backup", str(tmp_path / "shaozi.dump"), **where)
    assert backup.returncode == 0, backup.stderr
    listed = subprocess.run(
        ["pg_restore", "--list", str(tmp_path / "shaozi.dump")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "TABLE DATA public invites" in listed


@pytest.fixture
def server() -> Iterator[FakeBotServer]:
    api = FakeBotAPI(token=TOKEN)
    with FakeBotServer(api) as running:
        yield running


class BotProcess:
    """run_bot.py polling the fake server, started and killed by the test."""

    def __init__(self, tmp_path: Path, server: FakeBotServer) -> None:
        self.tmp_path, self.server = tmp_path, server
        self.process: subprocess.Popen[str] | None = None
        self.log = tmp_path / "bot.log"

    def start(self) -> None:
        env = environment(
            self.tmp_path,
            SHAOZI_TOKEN=TOKEN,
            SHAOZI_API_URL=self.server.base_url,
            SHAOZI_FILE_URL=self.server.base_file_url,
        )
        with self.log.open("a") as log:
            self.process = subprocess.Popen(
                [sys.executable, RUN_BOT],
                cwd=self.tmp_path,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                text=True,
            )

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    async def settled(self, within: float = 30.0) -> None:
        """Wait until the bot has handled every update it had received (a kill may have come
        between an update's answer and its being marked handled: it is handled again)."""
        deadline = time.monotonic() + within
        while self.unhandled():
            assert time.monotonic() < deadline, "the bot never handled what it had received"
            await asyncio.sleep(0.02)

    def unhandled(self) -> int:
        path = self.tmp_path / "shaozi.db"
        if not path.exists():
            return 0
        database = sqlite3.connect(path)
        try:
            # The first start may not have created the table yet: nothing was received then.
            found = database.execute("SELECT name FROM sqlite_master WHERE name = 'inbox'")
            if found.fetchone() is None:
                return 0
            (count,) = database.execute(
                "SELECT COUNT(*) FROM inbox WHERE handled_at IS NULL"
            ).fetchone()
            return int(count)
        finally:
            database.close()

    def stop(self) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=20)


@pytest.fixture
def bot_process(tmp_path: Path, server: FakeBotServer) -> Iterator[BotProcess]:
    process = BotProcess(tmp_path, server)
    yield process
    if process.process is not None and process.process.poll() is None:
        process.kill()


async def expect(user: FakeUser, text: str, within: float = 30.0) -> str:
    """Wait until a message to the user contains ``text``; return that message's text."""
    deadline = time.monotonic() + within
    while True:
        for message in reversed(user.transcript[-4:]):
            if text in message.plain:
                return message.plain
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"never saw {text!r}; last: {user.texts()[-3:]}")
        await user.wait_for_message(timeout=remaining)


async def test_polls_a_bot_api_server_over_http(
    server: FakeBotServer, bot_process: BotProcess
) -> None:
    bot_process.start()
    user = FakeUser(server.api, 501, language_code="en")
    await user.send("/start")
    await expect(user, "Welcome to Shaozi")
    assert bot_process.stop() == 0
    assert "Traceback" not in bot_process.log.read_text()


async def test_kill_9_after_each_step_loses_nothing(
    server: FakeBotServer, bot_process: BotProcess
) -> None:
    user = FakeUser(server.api, 502, language_code="en")
    steps: list[tuple[Callable[[], Awaitable[object]], str]] = [
        (lambda: user.send("/report"), "Step 1 of 6"),
        (lambda: user.press("Fire safety"), "Step 2 of 6"),
        (lambda: user.send_location(30.28, 120.19), "Step 3 of 6"),
        (lambda: user.send("The fire exit on floor 2 is chained shut."), "Step 4 of 6"),
        (lambda: user.send_photo(jpeg(seed=77)), "Photo 1 of 5 received"),
        (lambda: user.press("Done"), "Step 5 of 6"),
        (lambda: user.press("Real name"), "Please type your full name."),
        (lambda: user.send("Zhao Liu"), "Your phone number"),
        (lambda: user.send_contact("13600136000"), "Step 6 of 6"),
    ]
    summary = ""
    for action, answer in steps:
        bot_process.start()
        # The update killed in its handling is handled again first: its step is asked again.
        await bot_process.settled()
        await action()
        summary = await expect(user, answer)
        bot_process.kill()  # no chance to flush anything, nor to mark the update handled
    bot_process.start()
    await bot_process.settled()
    assert "Fire safety" in summary
    assert "map point 30.28000, 120.19000" in summary
    assert "The fire exit on floor 2 is chained shut." in summary
    assert "Photos: 1" in summary
    assert "real name: Zhao Liu, 136****6000" in summary
    await user.press("Submit")
    filed = await expect(user, "Your report is filed as")
    bot_process.kill()
    bot_process.start()
    await bot_process.settled()
    await user.send("/my")
    listing = await expect(user, "Your reports")
    number = filed.split("filed as ")[1].split()[0]
    assert number in listing
    assert bot_process.stop() == 0
    database = sqlite3.connect(bot_process.tmp_path / "shaozi.db")
    try:
        rows = database.execute(
            "SELECT number, name, phone FROM cases JOIN case_reporters ON case_id = cases.id"
        ).fetchall()
        assert rows == [(number, "Zhao Liu", "13600136000")]
        assert database.execute("SELECT COUNT(*) FROM drafts").fetchone() == (0,)
        (sha,) = database.execute("SELECT sha256 FROM case_photos").fetchone()
    finally:
        database.close()
    stored = bot_process.tmp_path / "data" / "photos" / sha[:2] / f"{sha}.jpg"
    assert not has_metadata(stored.read_bytes())


def test_a_refused_token_or_an_unreachable_api_is_said_plainly(
    tmp_path: Path, server: FakeBotServer
) -> None:
    refused = run(
        tmp_path,
        SHAOZI_TOKEN="999:WRONG",
        SHAOZI_API_URL=server.base_url,
        SHAOZI_FILE_URL=server.base_file_url,
    )
    assert refused.returncode == 2
    assert (
        refused.stderr.strip()
        .splitlines()[-1]
        .startswith("error: Telegram refused the bot token (SHAOZI_TOKEN).")
    )
    unreachable = run(
        tmp_path,
        SHAOZI_TOKEN=TOKEN,
        SHAOZI_API_URL="http://127.0.0.1:9/bot",
        SHAOZI_FILE_URL="http://127.0.0.1:9/file/bot",
    )
    assert unreachable.returncode == 2
    assert "error: cannot reach the Bot API at http://127.0.0.1:9/bot" in unreachable.stderr


async def test_three_workers_on_one_database_answer_each_update_once(
    tmp_path: Path, server: FakeBotServer, settings: Settings
) -> None:
    """run_bot.py started three times with SHAOZI_WORKER (polling): the leader alone polls,
    every update is answered once and in order, and a worker killed with SIGKILL is not
    missed. On the fixture's database: a file, or PostgreSQL with SHAOZI_TEST_DATABASE."""
    where = {"SHAOZI_DATABASE": str(settings.database)}
    assert run(tmp_path, "migrate", **where).returncode == 0
    processes = {name: worker(tmp_path, server, name, **where) for name in ("1", "2", "3")}
    try:
        users = [FakeUser(server.api, 600 + n, language_code="en") for n in range(6)]

        async def talk(user: FakeUser, rounds: int) -> None:
            for _ in range(rounds):
                await user.send("/start")
                await user.send("/help")

        await asyncio.gather(*(talk(user, 2) for user in users))
        for user in users:
            await expect_count(user, 4)
        leaders = tables.rows(settings.database, "SELECT holder FROM leases")
        # Every conversation let go once idle (a kill now takes nobody's with it).
        deadline = time.monotonic() + 10
        while tables.count(settings.database, "conversation_claims"):
            assert time.monotonic() < deadline
            await asyncio.sleep(0.02)
        assert len(leaders) == 1
        leader = leaders[0][0]
        logs = {name: (tmp_path / f"worker{name}.log").read_text() for name in processes}
        assert [name for name, text in logs.items() if f"worker {name} leads" in text] == [leader]
        # A worker that is not the leader is killed; the others answer what comes next.
        victim = next(name for name in processes if name != leader)
        processes[victim].send_signal(signal.SIGKILL)
        processes[victim].wait(timeout=10)
        await asyncio.gather(*(talk(user, 1) for user in users))
        for user in users:
            await expect_count(user, 6)
            assert kinds(user) == ["welcome", "help"] * 3  # each once, in order
        for name, process in processes.items():
            if name != victim:
                process.send_signal(signal.SIGTERM)
                assert process.wait(timeout=20) == 0
        for name in processes:
            assert "Traceback" not in (tmp_path / f"worker{name}.log").read_text()
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)


def worker(tmp_path: Path, server: FakeBotServer, name: str, **extra: str) -> subprocess.Popen[str]:
    """run_bot.py as worker ``name`` of several, polling the fake server (or as ``extra``
    settings say)."""
    env = environment(
        tmp_path,
        SHAOZI_TOKEN=TOKEN,
        SHAOZI_API_URL=server.base_url,
        SHAOZI_FILE_URL=server.base_file_url,
        SHAOZI_WORKER=name,
        **extra,
    )
    with (tmp_path / f"worker{name}.log").open("w") as log:
        return subprocess.Popen(
            [sys.executable, RUN_BOT],
            cwd=tmp_path,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )


def kinds(user: FakeUser) -> list[str]:
    """What each answer the user had was: the welcome of /start, the list of /help."""
    return [
        "welcome"
        if "Welcome to Shaozi" in m.plain
        else "help"
        if "Commands you can use" in m.plain
        else m.plain
        for m in user.transcript
    ]


async def expect_count(user: FakeUser, count: int, within: float = 30.0) -> None:
    """Wait until the user has had ``count`` messages (and no more come at once)."""
    deadline = time.monotonic() + within
    while len(user.transcript) < count:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"{len(user.transcript)} of {count}: {user.texts()}")
        await user.wait_for_message(timeout=remaining)
    await asyncio.sleep(0.2)  # a duplicate would follow at once
    assert len(user.transcript) == count, user.texts()


async def test_webhook_posts_spread_over_two_workers_are_answered_once_in_order(
    tmp_path: Path, server: FakeBotServer, settings: Settings
) -> None:
    """As behind nginx: each of Telegram's posts goes to either worker, a retried post to the
    other one; every update is answered once, each user's in order. On the fixture's
    database: a file, or PostgreSQL with SHAOZI_TEST_DATABASE."""
    where = {"SHAOZI_DATABASE": str(settings.database)}
    assert run(tmp_path, "migrate", **where).returncode == 0
    ports = {name: free_port() for name in ("1", "2")}
    processes = {
        name: worker(
            tmp_path,
            server,
            name,
            SHAOZI_MODE="webhook",
            SHAOZI_WEBHOOK_URL="https://bot.example.org/hook",
            SHAOZI_WEBHOOK_PORT=str(port),
            **where,
        )
        for name, port in ports.items()
    }
    try:
        async with httpx.AsyncClient() as client:
            turn = itertools.count()

            async def post(update: dict[str, object], port: int | None = None) -> None:
                port = port or list(ports.values())[next(turn) % 2]
                deadline = time.monotonic() + 30
                while True:  # until the worker listens (it is starting)
                    try:
                        response = await client.post(f"http://127.0.0.1:{port}/hook", json=update)
                        break
                    except httpx.TransportError:
                        assert time.monotonic() < deadline
                        await asyncio.sleep(0.05)
                assert response.status_code == 200

            users = [
                FakeUser(server.api, 700 + n, language_code="en", deliver=post) for n in range(4)
            ]

            async def talk(user: FakeUser) -> None:
                for _ in range(2):
                    await user.send("/start")
                    sent = await user.send("/help")
                await post(sent, ports["1"])  # Telegram retries its last post, on either worker
                await post(sent, ports["2"])

            await asyncio.gather(*(talk(user) for user in users))
            for user in users:
                await expect_count(user, 4)
                kinds = [
                    "welcome" if "Welcome to Shaozi" in m.plain else "help" for m in user.transcript
                ]
                assert kinds == ["welcome", "help"] * 2
        for process in processes.values():
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=20) == 0
        for name in processes:
            assert "Traceback" not in (tmp_path / f"worker{name}.log").read_text()
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)
