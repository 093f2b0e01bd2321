"""The city configuration: departments, districts, routing, deadlines, rewards, calendar.

Loaded from a TOML file and validated with pydantic; every error names its place in the file.
"""

from __future__ import annotations

import calendar
import datetime as dt
import functools
import math
import re
import tomllib
import unicodedata
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from bot.i18n import DEFAULT_LANGUAGE, Language
from bot.vocabulary.grading import Colour

Code = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,31}$")]
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


@functools.lru_cache(maxsize=64)
def _hhmm(value: str) -> dt.time:
    """ "08:00" as a time; cached, as the reminder sweep asks for the same few many times."""
    hours, minutes = value.split(":")
    return dt.time(int(hours), int(minutes))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LocalizedText(_Strict):
    """A text the city writes in every language the bot speaks."""

    zh_Hans: Annotated[str, StringConstraints(min_length=1)]
    zh_Hant: Annotated[str, StringConstraints(min_length=1)]
    en: Annotated[str, StringConstraints(min_length=1)]

    def get(self, language: Language | str) -> str:
        return str(getattr(self, str(language), self.zh_Hans))


class LocalizedList(_Strict):
    """A list of short texts (tips) in every language."""

    zh_Hans: list[str] = Field(min_length=1)
    zh_Hant: list[str] = Field(min_length=1)
    en: list[str] = Field(min_length=1)

    def get(self, language: Language | str) -> list[str]:
        value: list[str] = getattr(self, str(language), self.zh_Hans)
        return value


class Department(_Strict):
    code: Code
    name: LocalizedText
    group_chat_id: int | None = None


class District(_Strict):
    code: Code
    name: LocalizedText
    # Boundary polygon as [longitude, latitude] pairs (GeoJSON order); closing point optional.
    boundary: list[tuple[float, float]] = Field(min_length=3)

    @field_validator("boundary")
    @classmethod
    def _in_range(cls, points: list[tuple[float, float]]) -> list[tuple[float, float]]:
        for lon, lat in points:
            if not (-180 <= lon <= 180 and -90 <= lat <= 90):
                raise ValueError(f"point ({lon}, {lat}) is not a [longitude, latitude] pair")
        return points

    def contains(self, latitude: float, longitude: float) -> bool:
        """Tell whether the point lies inside the boundary (ray casting)."""
        inside = False
        points = self.boundary
        j = len(points) - 1
        for i, (xi, yi) in enumerate(points):
            xj, yj = points[j]
            if (yi > latitude) != (yj > latitude):
                x_cross = (xj - xi) * (latitude - yi) / (yj - yi) + xi
                if longitude < x_cross:
                    inside = not inside
            j = i
        return inside

    def centre(self) -> tuple[float, float]:
        """Return (latitude, longitude) of the boundary's vertex average."""
        points = self.boundary
        if len(points) > 3 and points[0] == points[-1]:
            points = points[:-1]  # a closed ring repeats its first point
        lons = [p[0] for p in points]
        lats = [p[1] for p in points]
        return sum(lats) / len(lats), sum(lons) / len(lons)


class OrderTemplate(_Strict):
    """The department's wording of a rectification order (整改通知) for a category: what the
    enterprise reads of the hazard instead of the reporter's words (#16, item 1)."""

    code: Code
    title: LocalizedText  # a button label: a few words
    text: LocalizedText


class Category(_Strict):
    code: Code
    name: LocalizedText
    department: Code
    # district code -> department code, where the district's own office is responsible
    district_departments: dict[str, Code] = Field(default_factory=dict)
    order_templates: list[OrderTemplate] = Field(default_factory=list)

    def template(self, code: str) -> OrderTemplate | None:
        return next((t for t in self.order_templates if t.code == code), None)


class Deadlines(_Strict):
    """Rectification deadlines in days per risk colour."""

    red: int = Field(default=30, ge=1, le=365)
    orange: int = Field(default=15, ge=1, le=365)
    yellow: int = Field(default=7, ge=1, le=365)
    blue: int = Field(default=3, ge=1, le=365)

    def days(self, colour: Colour) -> int:
        return int(getattr(self, colour.value))


class Limits(_Strict):
    reports_per_day: int = Field(default=10, ge=1, le=1000)
    acceptance_hours: int = Field(default=24, ge=1, le=24 * 30)
    draft_ttl_days: int = Field(default=7, ge=1, le=90)
    duplicate_radius_m: int = Field(default=150, ge=10, le=5000)
    duplicate_days: int = Field(default=30, ge=1, le=365)
    # How long after closing the reporter may still say "not fixed" and send the case back.
    reopen_days: int = Field(default=30, ge=1, le=365)


class Reminders(_Strict):
    """The deadline ladder: reminders before the deadline, then escalation (挂牌督办)."""

    days_before: list[int] = Field(default_factory=lambda: [3, 1])
    remind_at: str = "09:00"  # city time of the reminders before and on the day
    escalate_after_days: int = Field(default=1, ge=0, le=30)
    escalate_red_at_assignment: bool = True
    # An overdue case under supervision: its enterprise (or the department doing it itself) and
    # its officers are reminded again every this many days until it ends (0: never again).
    supervised_every_days: int = Field(default=3, ge=0, le=30)
    # Escalations wait for the sending window unless the case is red; supervisors may get
    # them at once instead.
    supervisors_at_once: bool = False
    # A department with more than this many reports waiting past the acceptance limit gets one
    # summary a day (from remind_at) instead of a reminder per report.
    summary_above: int = Field(default=3, ge=0, le=1000)

    @field_validator("days_before")
    @classmethod
    def _positive(cls, days: list[int]) -> list[int]:
        if any(d < 1 or d > 60 for d in days):
            raise ValueError("days_before are whole days from 1 to 60")
        return sorted(set(days), reverse=True)

    @field_validator("remind_at")
    @classmethod
    def _hhmm(cls, value: str) -> str:
        if not _HHMM.match(value):
            raise ValueError(f"{value!r} is not a time like 09:00")
        return value

    @property
    def remind_time(self) -> dt.time:
        return _hhmm(self.remind_at)


class Majors(_Strict):
    """What a major hazard's enterprise (red, or 重大) sends before its fix: interim control
    measures (临时管控措施) soon after the order, and the rectification plan (治理方案)."""

    measures_hours: int = Field(default=24, ge=1, le=24 * 10)
    # The plan is due this many days after the order (by the deadline at the latest); the fix
    # cannot be submitted before it.
    plan_days: int = Field(default=7, ge=1, le=90)
    # Until each is sent, the enterprise is reminded again every this many days (at
    # reminders.remind_at), up to the deadline.
    remind_every_days: int = Field(default=1, ge=1, le=30)


class QuietHours(_Strict):
    """Non-urgent messages go out only between ``start`` and ``end`` (city time)."""

    start: str = "08:00"
    end: str = "21:00"

    @field_validator("start", "end")
    @classmethod
    def _hhmm(cls, value: str) -> str:
        if not _HHMM.match(value):
            raise ValueError(f"{value!r} is not a time like 08:00")
        return value

    @staticmethod
    def _parse(value: str) -> dt.time:
        return _hhmm(value)

    @property
    def start_time(self) -> dt.time:
        return self._parse(self.start)

    @property
    def end_time(self) -> dt.time:
        return self._parse(self.end)


class RewardPolicy(_Strict):
    """Whistleblower rewards after the 2018 national rules, adjustable per city."""

    enabled: bool = True
    major_percent_of_fine: Decimal = Field(default=Decimal(15), ge=0, le=100)
    major_minimum: int = Field(default=3000, ge=0)
    major_maximum: int = Field(default=300000, ge=0)
    ordinary_fixed: int = Field(default=0, ge=0)
    ordinary_monthly_cap: int = Field(default=0, ge=0)
    enterprise_contacts_eligible: bool = False
    claim_days: int = Field(default=60, ge=1, le=3650)
    claim_where: LocalizedText | None = None

    @model_validator(mode="after")
    def _min_below_max(self) -> Self:
        if self.major_minimum > self.major_maximum:
            raise ValueError("major_minimum is larger than major_maximum")
        return self


_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


class AwarenessDay(_Strict):
    """A yearly awareness day: a fixed date, or the nth (``-1``: last) weekday of a month."""

    code: Code
    month: int = Field(ge=1, le=12)
    day: int | None = Field(default=None, ge=1, le=31)
    weekday: str | None = None
    nth: int | None = Field(default=None, ge=-5, le=5)
    name: LocalizedText
    message: LocalizedText
    tips: LocalizedList

    @model_validator(mode="after")
    def _one_rule(self) -> Self:
        if (self.day is None) == (self.weekday is None):
            raise ValueError("give either day, or weekday with nth")
        if self.day is not None and self.nth is not None:
            raise ValueError("nth goes with weekday, not with day")
        if self.day is not None:
            last = calendar.monthrange(2024, self.month)[1]  # a leap year allows 02-29
            if self.day > last:
                raise ValueError(f"month {self.month} has no day {self.day}")
        if self.weekday is not None:
            if self.weekday.lower() not in _WEEKDAYS:
                raise ValueError(f"weekday must be one of {', '.join(_WEEKDAYS)}")
            if not self.nth:
                raise ValueError("nth is required with weekday (1 = first, -1 = last)")
        return self

    def date_in(self, year: int) -> dt.date | None:
        """Return this day's date in ``year`` (None when, e.g., 02-29 of a common year)."""
        if self.day is not None:
            try:
                return dt.date(year, self.month, self.day)
            except ValueError:
                return None
        assert self.weekday is not None
        assert self.nth is not None
        wanted = _WEEKDAYS.index(self.weekday.lower())
        days = [
            dt.date(year, self.month, d)
            for d in range(1, calendar.monthrange(year, self.month)[1] + 1)
            if dt.date(year, self.month, d).weekday() == wanted
        ]
        index = self.nth - 1 if self.nth > 0 else self.nth
        try:
            return days[index]
        except IndexError:
            return None


class CityInfo(_Strict):
    name: LocalizedText
    case_prefix: Annotated[str, StringConstraints(pattern=r"^[A-Z]{1,6}$")] = "YH"
    default_language: Language = DEFAULT_LANGUAGE
    # Where a map would centre when nothing else is known: (latitude, longitude).
    centre: tuple[float, float] | None = None


class CityConfig(_Strict):
    """A whole city, cross-checked: every reference names something that exists."""

    city: CityInfo
    limits: Limits = Limits()
    deadlines: Deadlines = Deadlines()
    quiet_hours: QuietHours = QuietHours()
    reminders: Reminders = Reminders()
    majors: Majors = Majors()
    reward: RewardPolicy = RewardPolicy()
    departments: list[Department] = Field(min_length=1)
    districts: list[District] = Field(min_length=1)
    categories: list[Category] = Field(min_length=1)
    awareness_days: list[AwarenessDay] = Field(default_factory=list)

    @model_validator(mode="after")
    def _cross_references(self) -> Self:
        errors: list[str] = []
        for field in ("departments", "districts", "categories", "awareness_days"):
            seen: set[str] = set()
            for item in getattr(self, field):
                if item.code in seen:
                    errors.append(f"{field}: code {item.code!r} appears twice")
                seen.add(item.code)
        departments = {d.code for d in self.departments}
        districts = {d.code for d in self.districts}
        for index, category in enumerate(self.categories):
            where = f"categories[{index}] ({category.code})"
            templates = [t.code for t in category.order_templates]
            for code in sorted({c for c in templates if templates.count(c) > 1}):
                errors.append(f"{where}: order template {code!r} appears twice")
            if category.department not in departments:
                errors.append(f"{where}: unknown department {category.department!r}")
            for district, department in category.district_departments.items():
                if district not in districts:
                    errors.append(f"{where}: unknown district {district!r}")
                if department not in departments:
                    errors.append(f"{where}: unknown department {department!r}")
        if errors:
            raise ValueError("; ".join(errors))
        return self

    # Look-ups -----------------------------------------------------------------------------

    def department(self, code: str) -> Department | None:
        return next((d for d in self.departments if d.code == code), None)

    def group_chat(self, code: str, bound: int | None) -> int | None:
        """A department's group chat: the one bound in chat (/setgroup), else the city file's."""
        if bound is not None:
            return bound
        department = self.department(code)
        return department.group_chat_id if department is not None else None

    def district(self, code: str) -> District | None:
        return next((d for d in self.districts if d.code == code), None)

    def category(self, code: str) -> Category | None:
        return next((c for c in self.categories if c.code == code), None)

    def district_named(self, text: str) -> District | None:
        """The district a typed name means, in any language, with or without 区 / District;
        None when no district or more than one has that name."""
        wanted = _bare(text)
        found = [
            d
            for d in self.districts
            if wanted in {_bare(d.name.zh_Hans), _bare(d.name.zh_Hant), _bare(d.name.en)}
        ]
        return found[0] if len(found) == 1 else None

    def district_at(self, latitude: float, longitude: float) -> District | None:
        """Return the district whose boundary contains the point, if any."""
        return next((d for d in self.districts if d.contains(latitude, longitude)), None)

    def route(self, category_code: str, district_code: str | None) -> str:
        """Return the responsible department for a category in a district."""
        category = self.category(category_code)
        if category is None:
            raise KeyError(category_code)
        if district_code and district_code in category.district_departments:
            return category.district_departments[district_code]
        return category.department

    def awareness_days_on(self, date: dt.date) -> Iterator[AwarenessDay]:
        for day in self.awareness_days:
            if day.date_in(date.year) == date:
                yield day


class CityConfigError(Exception):
    """The city file is missing, not TOML, or not a valid city; ``lines`` say where."""

    def __init__(self, path: Path, lines: list[str]) -> None:
        super().__init__(f"{path}: " + "; ".join(lines))
        self.path = path
        self.lines = lines


def _place(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + part
    return out or "(top level)"


def parse_city(data: dict[str, Any], path: Path) -> CityConfig:
    try:
        return CityConfig.model_validate(data)
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            message = str(error["msg"]).removeprefix("Value error, ")
            loc = tuple(p for p in error["loc"] if not str(p).startswith("function-after"))
            if loc:
                lines.append(f"{_place(loc)}: {message}")
            else:
                # Cross-reference errors name their own places, several to one error.
                lines.extend(message.split("; "))
        raise CityConfigError(path, lines) from None


def load_city(path: Path) -> CityConfig:
    """Read and validate a city file; raise CityConfigError naming every problem."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise CityConfigError(path, [f"cannot read the file: {exc.strerror}"]) from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise CityConfigError(path, [f"not valid TOML: {exc}"]) from None
    return parse_city(data, path)


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres (haversine)."""
    r = 6_371_000.0
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(a))


def _bare(name: str) -> str:
    """A district's name as typed and compared: full-width folded, no case, no spaces, no
    区 / 區 / District at its end."""
    text = unicodedata.normalize("NFKC", name).casefold().replace(" ", "")
    for suffix in ("district", "区", "區"):
        text = text.removesuffix(suffix)
    return text
