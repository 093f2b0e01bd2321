"""CPU work that would hold the bot's GIL (a year's ledger, charts, photos), in worker processes
of its own.

A thread does not free the event loop from pure-Python work: openpyxl writing a year's ledger
held the GIL for 5–20 s, and every other user's update waited that long (bench/capacity.py);
Pillow's JPEG encoder holds it too (10% of the event loop's time under load, py-spy). A worker
process gets plain, picklable values (the database path, a Translator, the city, a photo's
bytes) and returns plain values. Photos have a pool of their own, so that a photo never waits
behind a year's export. Each pool starts at its first job and ends with the application;
``processes=0`` runs the jobs in a thread of the bot's own instead (tests: starting processes is
slow, and a thread sees the test's patches).
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import ParamSpec, TypeVar

log = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")


class Pool:
    """A small pool of worker processes (``processes`` of them), created at the first job;
    ``nice`` lowers their priority (background work yields the CPU to the bot's own)."""

    def __init__(self, processes: int, nice: int = 0) -> None:
        self.processes = processes
        self.nice = nice
        self._pool: ProcessPoolExecutor | None = None

    async def run(self, job: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """``job(*args, **kwargs)`` in a worker process (a thread when there are none)."""
        if self.processes == 0:
            return await asyncio.to_thread(job, *args, **kwargs)
        loop = asyncio.get_running_loop()
        pool = self._executor()
        try:
            return await loop.run_in_executor(pool, _call, job, args, kwargs)
        except BrokenProcessPool:
            # A worker died (killed, out of memory): this job fails, the next gets a new pool.
            if self._pool is pool:
                self._pool = None
                pool.shutdown(wait=False, cancel_futures=True)
            raise

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            # A fresh interpreter: fork would copy the bot's threads (the database's, httpx's)
            # mid-work; Python 3.11's fork server imports its modules before it applies the
            # bot's sys.path, so it could load another copy of the code than the bot runs.
            context = multiprocessing.get_context("spawn")
            self._pool = ProcessPoolExecutor(
                self.processes,
                mp_context=context,
                initializer=_start_worker,
                initargs=(self.nice,),
            )
        return self._pool

    async def close(self) -> None:
        """End the workers (a job under way is waited for)."""
        pool, self._pool = self._pool, None
        if pool is not None:
            await asyncio.to_thread(pool.shutdown, wait=True, cancel_futures=True)


class Offload:
    """The bot's pools: ``files`` for exports and charts (seconds each), ``photos`` for photos
    (a few hundredths of a second each)."""

    def __init__(self, processes: int) -> None:
        # A year's export keeps a core busy for seconds: on a busy machine it must not take
        # that core from the event loop, where everyone's updates wait (a person waits for a
        # photo, so photos keep the bot's priority).
        self.files = Pool(processes, nice=10)
        self.photos = Pool(processes)

    async def close(self) -> None:
        await self.files.close()
        await self.photos.close()


# Jobs in a thread of the caller's (where no Offload are at hand: tests, benchmarks).
IN_THREAD = Pool(0)


def _call(job: Callable[..., T], args: tuple[object, ...], kwargs: dict[str, object]) -> T:
    return job(*args, **kwargs)


def _start_worker(nice: int) -> None:
    if nice:
        os.nice(nice)
    _watch_parent()


def _watch_parent() -> None:
    """End this worker when the bot is gone: a bot killed outright (SIGKILL) cannot stop its
    pool, and an idle worker would otherwise wait for work forever."""
    bot = multiprocessing.parent_process()
    if bot is None:
        return

    def watch() -> None:
        bot.join()
        os._exit(0)

    threading.Thread(target=watch, name="watch-bot", daemon=True).start()
