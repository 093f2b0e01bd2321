"""The officer's queue: the cases of their departments that need attention, what needs action
first; or, through a filter, those that need their action, are overdue, under supervision, of a
colour or in a district.

Without a filter the queue is what waits on the department (triage, assignment, verification,
a request for more time, a fix it makes itself) and every case past its deadline, whoever must
fix it: an overdue case stays in the queue until it ends. A filter looks over all the
departments' open cases.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, replace

from bot.accounts import Account
from bot.city import CityConfig
from bot.errors import InputMistake, NotAllowed
from bot.i18n import N_
from bot.paging import page_of
from bot.services import Services
from bot.vocabulary.grading import Colour
from bot.vocabulary.models import Case
from bot.vocabulary.roles import Role

QUEUE_PAGE = 10

# What may be typed after /queue, in any of the languages (after NFKC, in lower case); a colour
# or a district is typed by its name (bot/city.py district_named) or its code.
ACTION, OVERDUE, SUPERVISED = "action", "overdue", "supervised"
WORDS: dict[str, str] = {
    "action": ACTION,
    "mine": ACTION,
    "todo": ACTION,
    "待办": ACTION,
    "待辦": ACTION,
    "待处理": ACTION,
    "待處理": ACTION,
    "overdue": OVERDUE,
    "late": OVERDUE,
    "逾期": OVERDUE,
    "已逾期": OVERDUE,
    "超期": OVERDUE,
    "supervised": SUPERVISED,
    "督办": SUPERVISED,
    "督辦": SUPERVISED,
    "挂牌督办": SUPERVISED,
    "掛牌督辦": SUPERVISED,
}
COLOUR_WORDS: dict[str, Colour] = {
    **{colour.value: colour for colour in Colour},
    **{
        word: colour
        for colour, words in (
            (Colour.RED, ("红", "紅", "红色", "紅色")),
            (Colour.ORANGE, ("橙", "橙色")),
            (Colour.YELLOW, ("黄", "黃", "黄色", "黃色")),
            (Colour.BLUE, ("蓝", "藍", "蓝色", "藍色")),
        )
        for word in words
    },
}
# A filter in a button's data: the flags, the colour's letter, "d" and the district's place in
# the city file (its code could overflow the 64 bytes of a case button that carries it).
FLAGS = {ACTION: "a", OVERDUE: "o", SUPERVISED: "s"}
COLOUR_LETTERS = {Colour.RED: "R", Colour.ORANGE: "O", Colour.YELLOW: "Y", Colour.BLUE: "B"}
_CODE = re.compile(r"(a?)(o?)(s?)([ROYB]?)(?:d(\d{1,3}))?")


class FilterUnknown(InputMistake):
    message = N_(
        "I do not know “{word}”. Filter the queue with: action (what waits on you), overdue, "
        "supervised, a colour (red, orange, yellow, blue) or a district, e.g. /queue overdue "
        "red."
    )


@dataclass(frozen=True)
class QueueFilter:
    """Which of the departments' open cases to show; all of them must hold. The empty filter
    is the queue itself."""

    action: bool = False  # waiting on the department
    overdue: bool = False
    supervised: bool = False
    colour: Colour | None = None
    district: str | None = None

    @property
    def empty(self) -> bool:
        return self == QueueFilter()

    def code(self, city: CityConfig) -> str:
        """The filter in button data ("" for none)."""
        text = "".join(letter for flag, letter in FLAGS.items() if getattr(self, flag))
        if self.colour is not None:
            text += COLOUR_LETTERS[self.colour]
        codes = [d.code for d in city.districts]
        if self.district in codes:
            text += f"d{codes.index(self.district)}"
        return text

    def flagged(self, flag: str, on: bool) -> QueueFilter:
        """The filter with one of its flags (ACTION, OVERDUE, SUPERVISED) set."""
        return replace(
            self,
            action=on if flag == ACTION else self.action,
            overdue=on if flag == OVERDUE else self.overdue,
            supervised=on if flag == SUPERVISED else self.supervised,
        )

    def toggled(self, choice: str) -> QueueFilter:
        """The filter with one choice turned on, or off when it was on: a flag, a colour (it
        replaces another) or a district (likewise)."""
        if choice in FLAGS:
            return self.flagged(choice, not getattr(self, choice))
        if choice in {c.value for c in Colour}:
            colour = Colour(choice)
            return replace(self, colour=None if self.colour is colour else colour)
        return replace(self, district=None if self.district == choice else choice)

    def matches(self, case: Case, now: dt.datetime, waiting: bool) -> bool:
        return (
            (not self.action or waiting)
            and (not self.overdue or case.overdue(now))
            and (not self.supervised or case.escalated_at is not None)
            and (self.colour is None or case.colour is self.colour)
            and (self.district is None or case.district == self.district)
        )


def from_code(city: CityConfig, code: str) -> QueueFilter | None:
    """The filter of a button's data; None when it is not one (forged, or a district the city
    file no longer has)."""
    match = _CODE.fullmatch(code)
    if match is None or not code:
        return None
    action, overdue, supervised, letter, place = match.groups()
    colour = next((c for c, each in COLOUR_LETTERS.items() if each == letter), None)
    district = None
    if place:
        if int(place) >= len(city.districts):
            return None
        district = city.districts[int(place)].code
    return QueueFilter(bool(action), bool(overdue), bool(supervised), colour, district)


def parse_filter(city: CityConfig, words: list[str]) -> QueueFilter:
    """The filter typed after /queue (FilterUnknown names a word that is none); a district's
    name may take several words ("Dongpo District")."""
    chosen = QueueFilter()
    folded = [unicodedata.normalize("NFKC", raw).strip().lower() for raw in words]
    start = 0
    while start < len(folded):
        word, end = folded[start], start + 1
        if word in WORDS:
            chosen = chosen.flagged(WORDS[word], True)
        elif word in COLOUR_WORDS:
            chosen = replace(chosen, colour=COLOUR_WORDS[word])
        else:
            for end in range(len(folded), start, -1):  # the longest name first
                district = city.district_named(" ".join(folded[start:end]))
                if district is not None:
                    break
            else:
                district = city.district(word)  # or its code
            if district is None:
                raise FilterUnknown(word=words[start][:40])
            chosen = replace(chosen, district=district.code)
        start = end
    return chosen


def needs_action_first(now: dt.datetime) -> Callable[[Case], tuple[bool, bool, dt.datetime, int]]:
    """Sort key: cases the reporter says are not fixed, then overdue ones, each oldest first."""
    return lambda case: (not case.reopened, not case.overdue(now), case.created_at, case.id)


@dataclass(frozen=True)
class Section:
    """A department's part of a page: how many of its cases are listed, and those on this
    page."""

    department: str
    waiting: int
    cases: list[Case]


@dataclass(frozen=True)
class QueuePage:
    sections: list[Section]
    cases: list[Case]  # on this page, in order
    page: int  # from 0
    pages: int
    empty: bool  # nothing is listed at all
    now: dt.datetime
    chosen: QueueFilter = QueueFilter()


async def listed(
    services: Services, department: str, chosen: QueueFilter, now: dt.datetime
) -> list[Case]:
    """The department's cases the filter lets through, what needs action first."""
    read = services.db.read.cases
    waiting = {case.id: case for case in await read.department_queue(department)}
    if chosen.action:
        candidates = list(waiting.values())
    elif chosen.empty:
        late = await read.open_of_department(department, deadline_before=now)
        candidates = [*waiting.values(), *(c for c in late if c.id not in waiting)]
    else:
        candidates = await read.open_of_department(
            department,
            deadline_before=now if chosen.overdue else None,
            escalated=chosen.supervised,
            colour=chosen.colour.value if chosen.colour else None,
            district=chosen.district,
        )
    shown = [
        case
        for case in candidates
        if chosen.matches(case, now, case.id in waiting)
        and (not chosen.empty or case.id in waiting or case.overdue(now))
    ]
    return sorted(shown, key=needs_action_first(now))


async def queue_page(
    services: Services, actor: Account, page: int, chosen: QueueFilter | None = None
) -> QueuePage:
    """One page of the queue of the actor's departments (NotAllowed: not an officer).

    The departments' lists follow one another; a page has a section for each department it
    has cases of (the first page also for those with none), so every case is on some page.
    """
    chosen = chosen or QueueFilter()
    departments = sorted(actor.departments(Role.OFFICER))
    if not departments:
        raise NotAllowed()
    now = services.clock.now()
    waiting = {code: await listed(services, code, chosen, now) for code in departments}
    every = [(code, case) for code in departments for case in waiting[code]]
    shown = page_of(every, page, QUEUE_PAGE)
    sections = []
    for code in departments:
        on_page = [case for department, case in shown.items if department == code]
        if not on_page and (waiting[code] or shown.number > 0):
            continue
        sections.append(Section(code, len(waiting[code]), on_page))
    return QueuePage(
        sections=sections,
        cases=[case for _, case in shown.items],
        page=shown.number,
        pages=shown.pages,
        empty=not every,
        now=now,
        chosen=chosen,
    )
