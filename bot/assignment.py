"""Ordering the fix: finding the enterprise (with its record), the order's wording and photos,
and the deadline.

The transitions themselves (assign, handle, acknowledge, return) are the workflow's; this is what
an officer decides them with.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from bot.accounts import Account
from bot.casefile import officer_case
from bot.city import CityConfig, OrderTemplate
from bot.dates import end_of_day
from bot.enterprises import CODE_LENGTH, credit_code_error, normalise_credit_code
from bot.errors import NotAllowed
from bot.orders import MAX_PHOTOS, templates
from bot.pending import owed
from bot.services import Services
from bot.visibility import REPORT
from bot.vocabulary.grading import Colour
from bot.vocabulary.lifecycle import Level
from bot.vocabulary.models import Case, Enterprise

MAX_RESULTS = 8
# A deadline chosen by button is from tomorrow to a year ahead (typed dates: parse_deadline).
MAX_DAYS = 366


# The deadline --------------------------------------------------------------------------------


def default_days(city: CityConfig, case: Case) -> int:
    """The city's deadline for the case's colour; an ungraded major hazard counts as red."""
    colour = case.colour or (Colour.RED if case.level is Level.MAJOR else Colour.YELLOW)
    return city.deadlines.days(colour)


@dataclass(frozen=True)
class Choice:
    days: int
    deadline: dt.datetime
    default: bool


def default_choice(services: Services, case: Case) -> Choice:
    days = default_days(services.city, case)
    return Choice(days, end_of_day(services, days), True)


def deadline_choices(services: Services, case: Case) -> list[Choice]:
    """The colour's default deadline, half and twice as long, shortest first."""
    default = default_days(services.city, case)
    options = sorted({default, max(1, default // 2), default * 2})
    return [Choice(days, end_of_day(services, days), days == default) for days in options]


def deadline_in(services: Services, days: int) -> dt.datetime:
    """The deadline a button chose, ``days`` from today (refused when no button offers it)."""
    if not 1 <= days <= MAX_DAYS:
        raise NotAllowed()
    return end_of_day(services, days)


async def returned_reason(services: Services, actor: Account, case_id: int) -> str:
    """Why the officer returns this case's fix, as they typed it before choosing the new
    deadline; refused when they are not in the middle of returning it."""
    pending = await owed(services, actor.id, "return_deadline")
    if pending is None or pending.case_id != case_id:
        raise NotAllowed()
    return str(pending.data["reason"])


# The enterprise ------------------------------------------------------------------------------


async def enterprise(services: Services, enterprise_id: int) -> Enterprise:
    found = await services.db.read.enterprises.get(enterprise_id)
    if found is None:
        raise NotAllowed()
    return found


@dataclass(frozen=True)
class Record:
    """An enterprise with its cases so far: the officer sees them before ordering it."""

    enterprise: Enterprise
    open: int
    overdue: int
    closed: int


@dataclass(frozen=True)
class Search:
    case: Case
    found: list[Record]


async def find_enterprises(services: Services, actor: Account, case_id: int, text: str) -> Search:
    """Enterprises by a part of their name or their credit code, for a case the actor is an
    officer of. A credit code that cannot be right raises the CreditCodeError saying what to
    check (its length, its characters, its check character) rather than finding nothing."""
    case = await officer_case(services, actor, case_id)
    read = services.db.read
    found = await read.enterprises.search(text, MAX_RESULTS)
    code = normalise_credit_code(text)
    if not found and code != text.strip():
        # A code typed with a Chinese input method comes in full-width characters.
        found = await read.enterprises.search(code, MAX_RESULTS)
    if not found and looks_like_credit_code(code):
        problem = credit_code_error(code)
        if problem is not None:
            raise problem
    now = services.clock.now()
    records = []
    for each in found:
        open_, overdue, closed = await read.cases.enterprise_counts(each.id, now)
        records.append(Record(each, open_, overdue, closed))
    return Search(case, records)


def looks_like_credit_code(code: str) -> bool:
    """Whether a normalised search text is meant as a whole credit code rather than a name: a
    code has a six-digit district code and mostly digits; a name rarely has eight."""
    return (
        len(code) >= CODE_LENGTH
        and code.isascii()
        and code.isalnum()
        and sum(ch.isdigit() for ch in code) >= 8
    )


# The order ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Draft:
    """What the officer decides an order with: the case (its description beside the wording),
    the enterprise, the city's templates for the category and the report photos."""

    case: Case
    enterprise: Enterprise
    templates: list[OrderTemplate]
    photos: list[str]


async def draft(services: Services, actor: Account, case_id: int, enterprise_id: int) -> Draft:
    """An order being prepared (bot/orders.py), for a case the actor is an officer of."""
    case = await officer_case(services, actor, case_id)
    read = services.db.read
    company = await read.enterprises.get(enterprise_id)
    if company is None:
        raise NotAllowed()
    photos = await read.cases.photo_hashes(case.id, REPORT)
    return Draft(case, company, templates(services.city, case), photos[:MAX_PHOTOS])
