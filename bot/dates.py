"""Dates staff give: a deadline some days from today, or one they type."""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import unicodedata

from bot.errors import DateUnreadable, DeadlineInvalid
from bot.services import Services


def end_of_day(services: Services, days: int) -> dt.datetime:
    """The deadline ``days`` days from today: the end of that day in the city."""
    zone = services.settings.zone
    local = services.clock.now().astimezone(zone).date() + dt.timedelta(days=days)
    return dt.datetime.combine(local, dt.time(23, 59, 59), tzinfo=zone).astimezone(dt.UTC)


# How staff type dates: 2026-12-20, 2026/12/20, 2026.12.20, 12-20, 12/20, 12.20, 2026年12月20日,
# 12月20日, 12月20号 (號), with or without spaces. Matched after NFKC, which folds full-width
# digits and punctuation (１２／２０) to ASCII.
_TYPED_DATE = re.compile(
    r"(?:(?P<year>\d{4})\s*[-/.年]\s*)?(?P<month>\d{1,2})\s*[-/.月]\s*(?P<day>\d{1,2})\s*[日号號]?"
)


def parse_deadline(services: Services, text: str) -> dt.datetime:
    """A date typed by an officer or an enterprise, Western or Chinese style, after today.

    Without a year it is the next such date after today. A text that is not a date raises
    DateUnreadable; a date that is today, past or over a year away raises DeadlineInvalid.
    """
    zone = services.settings.zone
    today = services.clock.now().astimezone(zone).date()
    example = f"{today + dt.timedelta(days=7):%Y-%m-%d}"
    raw = unicodedata.normalize("NFKC", text).strip()
    match = _TYPED_DATE.fullmatch(raw)
    try:
        if match is None:
            # Other ISO 8601 forms (20261220, 2026-W51-7) were accepted before: keep them.
            date = dt.date.fromisoformat(raw.replace("/", "-").replace(".", "-"))
        elif match["year"] is not None:
            date = dt.date(int(match["year"]), int(match["month"]), int(match["day"]))
        else:
            date = _next_date(today, int(match["month"]), int(match["day"]))
    except ValueError:
        raise DateUnreadable(example=example) from None
    if date <= today or date > today + dt.timedelta(days=366):
        raise DeadlineInvalid(example=example)
    return dt.datetime.combine(date, dt.time(23, 59, 59), tzinfo=zone).astimezone(dt.UTC)


def _next_date(today: dt.date, month: int, day: int) -> dt.date:
    """The first date after today with this month and day."""
    for year in range(today.year, today.year + 9):  # 29 February recurs within eight years
        with contextlib.suppress(ValueError):
            if (date := dt.date(year, month, day)) > today:
                return date
    raise ValueError(f"no date has month {month} and day {day}")
