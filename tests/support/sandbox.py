"""The sandbox of a test: in its own folder, its clock at a working hour of the city."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import handlers
from bot.city import CityConfig
from sandbox.core import Sandbox

START = dt.datetime(2026, 11, 22, 2, 0, tzinfo=dt.UTC)  # 10:00 in Shanghai: not quiet hours


def new_sandbox(tmp_path: Path, city: CityConfig) -> Sandbox:
    return Sandbox(city, handlers.install, data_dir=tmp_path / "box", language="en", start=START)
