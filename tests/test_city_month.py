"""Three simulated days of a city through the real Application: the loop's invariants hold."""

from __future__ import annotations

from bench.city_month import simulate
from bot.settings import Settings


async def test_three_city_days_keep_the_loop_whole() -> None:
    figures = await simulate(days=3, reports=30, seed=1)
    assert figures["failures"] == [], figures["failures"]
    assert figures["action_errors"] == 0, figures["errors"]
    assert figures["cases"] > 50
    assert figures["ordered"] > 0
    assert figures["integrity"] == "ok"
    assert figures["stats_found"] == figures["truth_found"]
    assert figures["stats_rectified"] == figures["truth_rectified"]


async def test_two_city_days_on_three_workers_with_kills_lose_nothing(settings: Settings) -> None:
    """On the fixture's database: a file, or PostgreSQL with SHAOZI_TEST_DATABASE."""
    figures = await simulate(
        days=2, reports=20, seed=2, workers=3, kill_days=0.4, database=settings.database
    )
    assert figures["failures"] == [], figures["failures"]
    assert figures["action_errors"] == 0, figures["errors"]
    assert figures["kills"] >= 2
    assert figures["lost"] == 0
    assert figures["duplicates"] <= figures["kills"]
    assert 0 < figures["max_send_rate"] <= 30
