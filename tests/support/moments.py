"""Times of the sample city (Asia/Shanghai), as the tests write them."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")  # the sample city's zone


def at(date: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    """A time of the city (Asia/Shanghai)."""
    return dt.datetime.combine(date, dt.time(hour, minute), tzinfo=SHANGHAI)


def local(day: dt.date, hour: float) -> dt.datetime:
    """A moment of a city day, in UTC."""
    start = dt.datetime.combine(day, dt.time(), tzinfo=SHANGHAI)
    return (start + dt.timedelta(hours=hour)).astimezone(dt.UTC)
