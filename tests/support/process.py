"""run_bot.py as a child process, in a folder of its own and without the developer's settings."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
RUN_BOT = str(ROOT / "run_bot.py")


def environment(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHAOZI_")}
    env.update(
        {
            "SHAOZI_DATABASE": str(tmp_path / "shaozi.db"),
            "SHAOZI_DATA_DIR": str(tmp_path / "data"),
            "PTB_TIMEDELTA": "1",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra)
    return env


def run(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run a command of run_bot.py to its end; what it printed is read as UTF-8."""
    return subprocess.run(
        [sys.executable, RUN_BOT, *args],
        cwd=tmp_path,  # no stray .env
        env=environment(tmp_path, PYTHONIOENCODING="utf-8", **env),
        capture_output=True,
        encoding="utf-8",
        timeout=60,
        check=False,
    )


def free_port() -> int:
    """A TCP port nothing listens on now, for a webhook."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
