"""The figures of /stats, counted here in plain Python by the definitions (DESIGN.md,
DOMAIN.md) without bot/stats.py, and what a reader must find of them in the text."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from babel.numbers import format_percent

from fakebotapi import FakeUser
from tests.support.generated import FOUND, OPEN, Made


@dataclass(frozen=True)
class Expected:
    reported: int
    found: int
    rectified: int
    rate: float | None
    on_time: int
    closed_with_deadline: int
    overdue: int
    escalated: int
    waiting: int
    rejected: int
    merged: int
    accept_hours: float | None
    fix_hours: float | None


def expect(cases: list[Made], now: dt.datetime) -> Expected:
    found = [c for c in cases if c.status in FOUND]
    closed = [c for c in cases if c.status == "closed"]
    with_deadline = [c for c in closed if c.deadline is not None]
    on_time = [c for c in with_deadline if c.closed_at and c.deadline and c.closed_at <= c.deadline]
    accepted = [c.accepted_at - c.created_at for c in cases if c.accepted_at]
    fixed = [c.closed_at - c.assigned_at for c in closed if c.closed_at and c.assigned_at]

    def hours(spans: list[dt.timedelta]) -> float | None:
        return sum(s.total_seconds() for s in spans) / len(spans) / 3600 if spans else None

    return Expected(
        reported=len(cases),
        found=len(found),
        rectified=len(closed),
        rate=len(closed) / len(found) if found else None,
        on_time=len(on_time),
        closed_with_deadline=len(with_deadline),
        overdue=sum(
            1 for c in cases if c.status in OPEN and c.deadline is not None and c.deadline < now
        ),
        escalated=sum(1 for c in cases if c.escalated_at is not None),
        waiting=sum(1 for c in cases if c.status == "submitted"),
        rejected=sum(1 for c in cases if c.status == "rejected"),
        merged=sum(1 for c in cases if c.status == "merged"),
        accept_hours=hours(accepted),
        fix_hours=hours(fixed),
    )


def percent(value: float | None) -> str:
    return "—" if value is None else format_percent(value, format="#,##0.0%", locale="en")


async def ask_stats(user: FakeUser, text: str) -> tuple[str, bytes]:
    mark = len(user.transcript)
    await user.send(text)
    sent = user.transcript[mark:]
    assert [m.method for m in sent] == ["sendMessage", "sendPhoto"], [m.plain for m in sent]
    assert sent[1].photo is not None
    return sent[0].plain, sent[1].photo


def assert_text(text: str, cases: list[Made], now: dt.datetime) -> None:
    want = expect([c for c in cases if not c.self_reported], now)
    own = expect([c for c in cases if c.self_reported], now)
    assert (
        f"Found: {want.found:,} · rectified: {want.rectified:,} · "
        f"rectification rate (整改率): {percent(want.rate)}"
    ) in text
    on_time = percent(want.on_time / want.closed_with_deadline)
    assert (
        f"Rectified on time: {on_time} ({want.on_time:,} of {want.closed_with_deadline:,}"
        " with a deadline)"
    ) in text
    assert (
        f"Overdue now: {want.overdue:,} · under supervision (挂牌督办): {want.escalated:,}" in text
    )
    assert (
        f"Reports: {want.reported:,} (awaiting acceptance {want.waiting:,}, "
        f"not accepted {want.rejected:,}, merged {want.merged:,})"
    ) in text
    assert (
        f"Self-reported by enterprises (counted apart): found {own.found:,} · "
        f"rectified {own.rectified:,}"
    ) in text
    assert len(text) < 4096
