"""The bot's HTTP client for Bot API calls: python-telegram-bot's own (HTTPXRequest), several
small ones side by side, each call waiting for a free connection in a line of our own.

httpcore's connection pool looks at every one of its connections, and at every call waiting for
one, each time a call starts or ends (and asks the operating system whether each idle connection
is still open): with hundreds of updates handled at once that is quadratic. At PTB's default of
256 connections it took 41% of the bot's time; at 32, calls waiting inside the pool, 26%; at 32
with the calls waiting in a semaphore instead, still 28% (bench/capacity.py under py-spy). So
the connections are spread over small pools, a call goes to the least busy, and the pools never
hold a waiting call.
"""

from __future__ import annotations

import asyncio
import importlib.util
import math
import sys
from typing import Any

from telegram.request import BaseRequest, HTTPXRequest

# httpcore asks sniffio which async library runs at every lock and event it sets up (several per
# call); without sniffio installed each ask is an import that fails only after searching sys.path:
# 7% of the bot's time under load (bench/capacity.py, py-spy). A None in sys.modules makes the
# failure immediate.
if importlib.util.find_spec("sniffio") is None:
    sys.modules["sniffio"] = None  # type: ignore[assignment]

PER_POOL = 4  # connections of each small pool


class SpreadRequest(BaseRequest):
    """At most ``connections`` Bot API calls at once, over pools of PER_POOL connections; the
    other calls wait their turn, first come first served."""

    def __init__(self, connections: int) -> None:
        count = max(1, math.ceil(connections / PER_POOL))
        size = min(connections, PER_POOL)
        self._pools = [HTTPXRequest(connection_pool_size=size) for _ in range(count)]
        self._busy = [0] * count
        self._free = asyncio.Semaphore(count * size)

    @property
    def read_timeout(self) -> float | None:
        return self._pools[0].read_timeout

    async def initialize(self) -> None:
        for pool in self._pools:
            await pool.initialize()

    async def shutdown(self) -> None:
        for pool in self._pools:
            await pool.shutdown()

    async def do_request(self, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        async with self._free:
            # The semaphore leaves a free connection in the least busy pool.
            index = min(range(len(self._busy)), key=self._busy.__getitem__)
            self._busy[index] += 1
            try:
                return await self._pools[index].do_request(*args, **kwargs)
            finally:
                self._busy[index] -= 1
