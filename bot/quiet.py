"""Quiet hours: non-urgent messages go out only inside the city's sending window."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from bot.city import QuietHours


def allowed_from(now: dt.datetime, window: QuietHours, zone: ZoneInfo) -> dt.datetime:
    """``now`` if it is inside the sending window, else when the window next opens (UTC)."""
    local = now.astimezone(zone)
    start, end = window.start_time, window.end_time
    if start == end:  # no quiet hours
        return now
    today_start = local.replace(hour=start.hour, minute=start.minute, second=0, microsecond=0)
    if start <= end:
        if start <= local.time() < end:
            return now
        if local.time() < start:
            return today_start.astimezone(dt.UTC)
        return (today_start + dt.timedelta(days=1)).astimezone(dt.UTC)
    # A window across midnight (e.g. 20:00–02:00).
    if local.time() >= start or local.time() < end:
        return now
    return today_start.astimezone(dt.UTC)


def is_quiet(moment: dt.datetime, window: QuietHours, zone: ZoneInfo) -> bool:
    return allowed_from(moment, window, zone) != moment
