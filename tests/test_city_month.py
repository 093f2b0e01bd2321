"""Three simulated days of a city through the real Application: the loop's invariants hold."""

from __future__ import annotations

from bench.city_month import simulate


async def test_three_city_days_keep_the_loop_whole() -> None:
    figures = await simulate(days=3, reports=30, seed=1)
    assert figures["failures"] == [], figures["failures"]
    assert figures["action_errors"] == 0, figures["errors"]
    assert figures["cases"] > 50
    assert figures["ordered"] > 0
    assert figures["integrity"] == "ok"
    assert figures["stats_found"] == figures["truth_found"]
    assert figures["stats_rectified"] == figures["truth_rectified"]
