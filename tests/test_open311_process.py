"""The Open311 API in the running bot process (#17): switched on by SHAOZI_API_PORT, keys made
and revoked with run_bot.py apikey, a report filed over a real port."""

from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest

from fakebotapi import FakeBotAPI, FakeBotServer
from tests.support.cases import LAOCHENG
from tests.support.chat import TOKEN
from tests.support.process import RUN_BOT, environment, run

pytestmark = pytest.mark.subprocess


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_apikey_commands(tmp_path: Path) -> None:
    added = run(tmp_path, "apikey", "add", "wechat", "--webhook", "https://bridge.example/hook")
    assert added.returncode == 0, added.stderr
    key = added.stdout.strip().splitlines()[-1]
    assert len(key) >= 40
    assert " " not in key
    assert run(tmp_path, "apikey", "add", "web").returncode == 0
    again = run(tmp_path, "apikey", "add", "wechat")
    assert again.returncode == 2
    assert "exists already" in again.stderr
    listing = run(tmp_path, "apikey", "list").stdout
    assert key not in listing
    assert listing.splitlines() == [
        "web\tlive\tno webhook",
        "wechat\tlive\thttps://bridge.example/hook (own cases)",
    ]
    assert run(tmp_path, "apikey", "revoke", "web").returncode == 0
    assert run(tmp_path, "apikey", "list").stdout.splitlines()[0].startswith("web\trevoked ")
    missing = run(tmp_path, "apikey", "revoke", "web")
    assert missing.returncode == 2
    assert "no live key named 'web'" in missing.stderr


def start(folder: Path, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """run_bot.py in the background, writing to ``log``."""
    with log.open("w") as out:
        return subprocess.Popen(
            [sys.executable, RUN_BOT], cwd=folder, env=env, stdout=out, stderr=out
        )


async def test_the_bot_serves_the_api_on_its_port(tmp_path: Path) -> None:
    key = run(tmp_path, "apikey", "add", "wechat").stdout.strip().splitlines()[-1]
    port = free_port()
    base = f"http://127.0.0.1:{port}/open311/v2/"
    with FakeBotServer(FakeBotAPI(token=TOKEN)) as server:
        env = environment(
            tmp_path,
            SHAOZI_TOKEN=TOKEN,
            SHAOZI_API_URL=server.base_url,
            SHAOZI_FILE_URL=server.base_file_url,
            SHAOZI_API_PORT=str(port),
        )
        log = tmp_path / "bot.log"
        process = start(tmp_path, env, log)
        try:
            async with aiohttp.ClientSession() as session:
                deadline = time.monotonic() + 30
                while True:
                    try:
                        async with session.get(base + "services.json") as answer:
                            assert answer.status == 200
                            break
                    except aiohttp.ClientConnectionError:
                        assert time.monotonic() < deadline, log.read_text()
                        await asyncio.sleep(0.1)
                form = {
                    "api_key": key,
                    "service_code": "fire",
                    "lat": str(LAOCHENG[0]),
                    "long": str(LAOCHENG[1]),
                    "description": "The fire exit of the night market hall is chained shut.",
                }
                async with session.post(base + "requests.json", data=form) as answer:
                    assert answer.status == 200, await answer.text()
                    [filed] = await answer.json()
                number = filed["service_request_id"]
                url = f"{base}requests/{number}.json"
                async with session.get(url, params={"api_key": key}) as answer:
                    [request] = await answer.json()
                assert request["status"] == "open"
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=20) == 0
        finally:
            if process.poll() is None:
                process.kill()
    text = log.read_text()
    assert "Traceback" not in text
    assert f"Open311 API on http://127.0.0.1:{port}/open311/v2/" in text
