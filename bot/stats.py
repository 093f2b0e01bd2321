"""The supervisor's figures: who may see which, over which period, and what they count.

Figures are of the cases *reported* in a period (city time), in the reader's scope: the whole
city, or some departments. "Found" counts the reports accepted as hazards (rejected reports are
no hazards; merged ones count in the case they joined); the rectification rate (整改率) is
rectified ÷ found, 100% when nothing was found (DOMAIN.md); the on-time rate is the share of
rectified cases closed by their deadline. Enterprises' self-reported hazards (隐患自查自报) are
counted apart, in a line of their own, and are left out of the breakdowns. A period with no
report still tells how many cases are overdue now, whenever they were reported.

How they read (the /stats text, the chart) is bot/stats_report.py's.
"""

from __future__ import annotations

import calendar
import datetime as dt
import math
import re
import unicodedata
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from bot.accounts import Account
from bot.errors import InputMistake, NotAllowed
from bot.i18n import N_
from bot.paging import clamp
from bot.services import Services
from bot.vocabulary.grading import Colour
from bot.vocabulary.models import Case
from bot.vocabulary.roles import Role
from storage.stats import DIMENSIONS, Figures

# A month's figures are wanted in the first days of the next one (the monthly meeting, the report
# to the city); until then the default period reaches back to the 1st of last month, so that it is
# neither a day or two of nothing nor a month that leaves out the last weeks.
CARRY_DAYS = 7

# A day or a month, typed the Western or the Chinese way: 2026-11-05, 2026/11/5, 2026.11.05,
# 2026年11月5日 (号, 號), 2026-11, 2026年11月. Matched after NFKC, which folds full-width digits
# and punctuation (２０２６－１１, ～) to ASCII.
_WHEN = r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*(?:[-/.月]\s*(\d{1,2})\s*[日号號]?|月)?"
_RANGE = re.compile(rf"{_WHEN}(?:\s*(?:\.\.|~|—|–|至|到)\s*{_WHEN})?")
_SPACES = re.compile(r"[\s_]+")


class PeriodInvalid(InputMistake):
    message = N_(
        "Please give the period as today, week, month or year, as last-month, as a month like "
        "{month}, or as two dates like {example}. Given none, it is this month; in a month's "
        "first {days} days, from the 1st of last month to today."
    )


class PeriodReversed(InputMistake):
    message = N_("The period ends before it starts: {text}.")


# Periods -------------------------------------------------------------------------------------

PERIODS = ("today", "week", "month", "year", "last-month")
# What may be typed for each period, after NFKC, in lower case, spaces and _ made "-".
# "lastmonth" stays unknown: it is refused as a period that is not one (tests/test_stats.py).
WORDS: dict[str, str] = {
    "today": "today",
    "今天": "today",
    "今日": "today",
    "week": "week",
    "this-week": "week",
    "本周": "week",
    "这周": "week",
    "本週": "week",
    "這週": "week",
    "month": "month",
    "this-month": "month",
    "本月": "month",
    "这个月": "month",
    "這個月": "month",
    "year": "year",
    "this-year": "year",
    "今年": "year",
    "本年": "year",
    "last-month": "last-month",
    "上月": "last-month",
    "上个月": "last-month",
    "上個月": "last-month",
}


@dataclass(frozen=True)
class Period:
    """Whole days of the city, ``first`` to ``last`` inclusive; [start, end) in UTC."""

    first: dt.date
    last: dt.date
    start: dt.datetime
    end: dt.datetime

    @property
    def label(self) -> str:
        if self.first == self.last:
            return f"{self.first:%Y-%m-%d}"
        return f"{self.first:%Y-%m-%d} – {self.last:%Y-%m-%d}"

    @property
    def slug(self) -> str:
        """For file names."""
        return f"{self.first:%Y%m%d}-{self.last:%Y%m%d}"


def days(first: dt.date, last: dt.date, zone: ZoneInfo) -> Period:
    start = dt.datetime.combine(first, dt.time(), tzinfo=zone).astimezone(dt.UTC)
    after = last + dt.timedelta(days=1)
    end = dt.datetime.combine(after, dt.time(), tzinfo=zone).astimezone(dt.UTC)
    return Period(first, last, start, end)


def month_end(first: dt.date) -> dt.date:
    return first.replace(day=calendar.monthrange(first.year, first.month)[1])


def last_month(today: dt.date) -> tuple[dt.date, dt.date]:
    """The first and the last day of the month before ``today``'s."""
    last = today.replace(day=1) - dt.timedelta(days=1)
    return last.replace(day=1), last


def named(word: str, today: dt.date) -> tuple[dt.date, dt.date]:
    """The days of a period named by one of WORDS' values; all but last-month end today."""
    if word == "today":
        return today, today
    if word == "week":
        return today - dt.timedelta(days=today.weekday()), today
    if word == "month":
        return today.replace(day=1), today
    if word == "year":
        return today.replace(month=1, day=1), today
    return last_month(today)


def default_days(today: dt.date) -> tuple[dt.date, dt.date]:
    """This month so far; in its first CARRY_DAYS days, from the 1st of last month."""
    if today.day <= CARRY_DAYS:
        return last_month(today)[0], today
    return today.replace(day=1), today


def _bounds(year: str, month: str, day: str | None) -> tuple[dt.date, dt.date]:
    """The first and last day of a typed day or month (ValueError when there is none such)."""
    if day is not None:
        date = dt.date(int(year), int(month), int(day))
        return date, date
    first = dt.date(int(year), int(month), 1)
    return first, month_end(first)


def parse_period(text: str | None, now: dt.datetime, zone: ZoneInfo) -> Period:
    """A period as a supervisor types it: a word of WORDS (English or Chinese), a day, a month
    (``2026-11``, ``2026年11月``), or two of them joined by ``..``, ``~``, ``至`` …; nothing
    means default_days. A month that ends a period ends today when it is this month."""
    today = now.astimezone(zone).date()
    raw = unicodedata.normalize("NFKC", text or "").strip().lower()
    if not raw:
        return days(*default_days(today), zone)
    word = WORDS.get(_SPACES.sub("-", raw))
    if word is not None:
        return days(*named(word, today), zone)
    previous = last_month(today)
    invalid = PeriodInvalid(
        example=f"{previous[0]:%Y-%m-%d}..{previous[1]:%Y-%m-%d}",
        month=f"{previous[0]:%Y-%m}",
        days=CARRY_DAYS,
    )
    match = _RANGE.fullmatch(raw)
    if match is None:
        raise invalid
    begin, end = match.group(1, 2, 3), match.group(4, 5, 6)
    if end[0] is None:
        end = begin
    try:
        first, last = _bounds(*begin)[0], _bounds(*end)[1]
    except ValueError:
        raise invalid from None
    if last < first:
        raise PeriodReversed(text=f"{first:%Y-%m-%d}..{last:%Y-%m-%d}")
    if end[2] is None and first <= today < last:
        last = today  # a month under way: its days to come have no report yet
    return days(first, last, zone)


# Scope ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """Whose cases a reader may count: ``departments`` None is the whole city."""

    departments: frozenset[str] | None

    @property
    def city_wide(self) -> bool:
        return self.departments is None


def scope_of(account: Account, *, officers: bool = True) -> Scope | None:
    """A city-wide supervisor sees the city; a department's supervisor (and, when
    ``officers``, its officers) that department; anyone else nothing (None)."""
    departments: set[str] = set()
    allowed = False
    for membership in account.memberships:
        if membership.role is Role.SUPERVISOR:
            if membership.department is None:
                return Scope(None)
            allowed = True
            departments.add(membership.department)
        elif officers and membership.role is Role.OFFICER and membership.department:
            allowed = True
            departments.add(membership.department)
    return Scope(frozenset(departments)) if allowed else None


@dataclass(frozen=True)
class Request:
    """What a reader asked for: the cases of their scope, reported in a period."""

    scope: Scope
    period: Period


def request(
    services: Services, actor: Account, text: str | None, *, officers: bool = True
) -> Request:
    """The actor's scope (NotAllowed without one) and the period they typed (a PeriodInvalid
    or PeriodReversed when it is none; nothing typed is default_days)."""
    scope = scope_of(actor, officers=officers)
    if scope is None:
        raise NotAllowed()
    return Request(scope, parse_period(text, services.clock.now(), services.settings.zone))


# Figures -------------------------------------------------------------------------------------


def rate(done: int, of: int) -> float | None:
    """A share; None of nothing (DOMAIN.md: no 整改率 when none were found, shown as "—")."""
    return None if of == 0 else done / of


def rectification_rate(figures: Figures) -> float | None:
    return rate(figures.rectified, figures.found)


def on_time_rate(figures: Figures) -> float | None:
    """None when no rectified case had a deadline: there is nothing to be on time for."""
    if figures.closed_with_deadline == 0:
        return None
    return figures.on_time / figures.closed_with_deadline


def average_accept(figures: Figures) -> dt.timedelta | None:
    if figures.accepted == 0:
        return None
    return dt.timedelta(days=figures.accept_days / figures.accepted)


def average_fix(figures: Figures) -> dt.timedelta | None:
    if figures.fixed == 0:
        return None
    return dt.timedelta(days=figures.fix_days / figures.fixed)


@dataclass(frozen=True)
class Line:
    key: str | None  # a department, category, district or colour code; None: not set
    figures: Figures


@dataclass(frozen=True)
class Stats:
    period: Period
    scope: Scope
    total: Figures  # reported by citizens (everything but self-reports)
    self_reported: Figures
    by_department: list[Line]
    by_category: list[Line]
    by_district: list[Line]
    by_colour: list[Line]
    by_channel: list[Line] = field(default_factory=list)  # Telegram, or a partner (#17)
    standing: Standing | None = None  # only when the period has no report


@dataclass(frozen=True)
class Standing:
    """The scope's open cases past their deadline now, whatever the period, how many of them
    are under supervision (挂牌督办), and the cases under supervision for not being accepted in
    time."""

    overdue: int
    supervised: int
    unaccepted: int = 0


def _ranked(lines: list[Line]) -> list[Line]:
    return sorted(lines, key=lambda x: (-x.figures.found, -x.figures.reported, x.key or "~"))


async def compute(services: Services, scope: Scope, period: Period) -> Stats:
    """Count the period's cases in the scope (one SQL statement; when there are none, the
    overdue cases of now as well)."""
    lines = await services.db.read.stats.figures(
        period.start, period.end, services.clock.now(), scope.departments
    )
    total, self_reported = Figures(), Figures()
    breakdowns: dict[str, list[Line]] = {d: [] for d in DIMENSIONS}
    for line in lines:
        if line.dimension == "total":
            if line.self_reported:
                self_reported = line.figures
            else:
                total = line.figures
        elif not line.self_reported:
            breakdowns[line.dimension].append(Line(line.key, line.figures))
    order = {c.value: i for i, c in enumerate(Colour)}
    # A period with no report says nothing of the cases still open: say how many are late.
    quiet = total.reported == 0 and self_reported.reported == 0
    return Stats(
        period=period,
        scope=scope,
        total=total,
        self_reported=self_reported,
        by_department=_ranked(breakdowns["department"]),
        by_category=_ranked(breakdowns["category"]),
        by_district=_ranked(breakdowns["district"]),
        by_colour=sorted(breakdowns["colour"], key=lambda x: order.get(x.key or "", 99)),
        by_channel=_ranked(breakdowns["channel"]),
        standing=await standing(services, scope) if quiet else None,
    )


async def figures_for(services: Services, actor: Account, text: str | None) -> Stats:
    """The figures of the period the actor typed, in their scope."""
    asked = request(services, actor, text)
    return await compute(services, asked.scope, asked.period)


async def standing(services: Services, scope: Scope) -> Standing:
    """Count the scope's overdue cases now, those of them under supervision, and the cases
    under supervision for not being accepted in time."""
    read = services.db.read.stats
    now = services.clock.now()
    count = await read.overdue_count(now, scope.departments)
    late = await read.overdue(now, scope.departments, count, 0) if count else []
    unaccepted = await read.unaccepted_supervised_count(scope.departments)
    return Standing(len(late), sum(1 for case in late if case.escalated_at is not None), unaccepted)


# Overdue cases -------------------------------------------------------------------------------

OVERDUE_PAGE = 8


def days_overdue(deadline: dt.datetime, now: dt.datetime) -> int:
    """Whole days (begun) past a deadline: a case a minute late is a day late."""
    return max(1, math.ceil((now - deadline) / dt.timedelta(days=1)))


@dataclass(frozen=True)
class Overdue:
    """One page of the open cases past their deadline in a reader's scope."""

    cases: list[Case]  # the longest overdue first
    total: int
    page: int  # from 0
    pages: int
    now: dt.datetime
    enterprises: dict[int, str] = field(default_factory=dict)  # the page's, by id: their names


async def overdue_page(services: Services, actor: Account, page: int) -> Overdue:
    """A page of the overdue cases the actor may see (NotAllowed: none)."""
    scope = scope_of(actor)
    if scope is None:
        raise NotAllowed()
    read = services.db.read.stats
    now = services.clock.now()
    total = await read.overdue_count(now, scope.departments)
    if total == 0:
        return Overdue([], 0, 0, 1, now)
    number, pages = clamp(page, total, OVERDUE_PAGE)
    cases = await read.overdue(now, scope.departments, OVERDUE_PAGE, number * OVERDUE_PAGE)
    names = {}
    for enterprise_id in {c.enterprise_id for c in cases if c.enterprise_id is not None}:
        company = await services.db.read.enterprises.get(enterprise_id)
        if company is not None:
            names[enterprise_id] = company.name
    return Overdue(cases, total, number, pages, now, names)
