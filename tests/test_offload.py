"""Worker processes (bot/offload.py): a job runs in another process, and a worker that dies
costs its own job only."""

from __future__ import annotations

import operator
import os
from concurrent.futures.process import BrokenProcessPool

import pytest

from bot.offload import Pool


async def test_a_dead_worker_fails_its_job_and_the_next_job_gets_a_new_one() -> None:
    """A worker killed mid-job (out of memory, say) fails that job, as an export's error the
    handler apologises for; the next export still runs, in a new worker."""
    pool = Pool(1)
    try:
        assert await pool.run(os.getpid) != os.getpid()
        with pytest.raises(BrokenProcessPool):
            await pool.run(os._exit, 9)
        assert await pool.run(operator.add, 2, 3) == 5
    finally:
        await pool.close()
