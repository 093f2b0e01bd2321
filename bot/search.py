"""Finding a case: by its number, a part of it, or words from its place or description.

An officer finds the cases of their departments, a supervisor those of their scope (the same
scope as /stats). The reporter's name and phone are never searched: a reporter cannot be found
through the cases they reported.
"""

from __future__ import annotations

import datetime as dt
import html
import re
import unicodedata
from dataclasses import dataclass

from bot.accounts import Account
from bot.casefile import CaseFile, case_file
from bot.city import CityConfig
from bot.errors import CaseNotFound, ShaoziError
from bot.i18n import N_
from bot.services import Services
from bot.stats import scope_of
from bot.vocabulary.models import Case

# A list to choose from shows this many; more matches ask for more words.
MAX_SHOWN = 10
MAX_TERMS = 6
MAX_TEXT = 200
# A whole case number (YH-20261122-0042): one that is not found is said not to exist.
WHOLE_NUMBER = re.compile(r"[A-Z]{1,6}-\d{8}-\d{4,}")


class NothingMatches(ShaoziError):
    message = N_("No case you can see matches “{text}”.")


@dataclass(frozen=True)
class Matches:
    """Several cases match: the first of them (open ones first, newest first), and how many."""

    cases: list[Case]
    total: int
    now: dt.datetime


def terms(text: str) -> list[str]:
    """The words searched for: typed full-width or not (NFKC), at most MAX_TERMS of them."""
    folded = unicodedata.normalize("NFKC", text[:MAX_TEXT])
    return folded.split()[:MAX_TERMS]


def districts_named(city: CityConfig, term: str) -> tuple[str, ...]:
    """The districts a word means: its code, or a part of its name in any language."""
    wanted = term.casefold()
    return tuple(
        d.code
        for d in city.districts
        if wanted == d.code
        or any(wanted in name.casefold() for name in (d.name.zh_Hans, d.name.zh_Hant, d.name.en))
    )


async def find(services: Services, actor: Account, text: str) -> CaseFile | Matches:
    """The case a full number names (to anyone who may see it, as /case always did), the one
    case the words match, or the cases to choose from; NothingMatches when none does."""
    typed = text.strip()
    try:
        return await case_file(services, actor, typed)
    except CaseNotFound as unknown:
        scope = scope_of(actor)
        if scope is None:  # enterprise contacts and citizens name a case by its number
            raise
        missing = unknown
    words = terms(typed)
    if not words:
        raise missing
    wanted = [(word, districts_named(services.city, word)) for word in words]
    total, cases = await services.db.read.cases.search(scope.departments, wanted, MAX_SHOWN)
    if total == 0 and WHOLE_NUMBER.fullmatch(typed.upper()):
        raise missing
    if total == 0:
        raise NothingMatches(text=html.escape(" ".join(words)))
    if total == 1:
        return await case_file(services, actor, cases[0].number)
    return Matches(cases, total, services.clock.now())
