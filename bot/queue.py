"""The officer's queue: the cases waiting on their departments, what needs action first."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from bot.accounts import Account
from bot.errors import NotAllowed
from bot.paging import page_of
from bot.services import Services
from bot.vocabulary.models import Case
from bot.vocabulary.roles import Role

QUEUE_PAGE = 10


def needs_action_first(now: dt.datetime) -> Callable[[Case], tuple[bool, bool]]:
    """Sort key: cases the reporter says are not fixed, then overdue ones (each oldest first,
    as the storage returns them and sorting is stable)."""
    return lambda case: (not case.reopened, not case.overdue(now))


@dataclass(frozen=True)
class Section:
    """A department's part of a page: how many of its cases wait, and those on this page."""

    department: str
    waiting: int
    cases: list[Case]


@dataclass(frozen=True)
class QueuePage:
    sections: list[Section]
    cases: list[Case]  # on this page, in order
    page: int  # from 0
    pages: int
    empty: bool  # nothing waits at all
    now: dt.datetime


async def queue_page(services: Services, actor: Account, page: int) -> QueuePage:
    """One page of the cases waiting on the actor's departments (NotAllowed: not an officer).

    The departments' lists follow one another; a page has a section for each department it
    has cases of (the first page also for those with none), so every case is on some page.
    """
    departments = sorted(actor.departments(Role.OFFICER))
    if not departments:
        raise NotAllowed()
    now = services.clock.now()
    waiting: dict[str, list[Case]] = {}
    for code in departments:
        cases = await services.db.read.cases.department_queue(code, now)
        waiting[code] = sorted(cases, key=needs_action_first(now))
    listed = [(code, case) for code in departments for case in waiting[code]]
    shown = page_of(listed, page, QUEUE_PAGE)
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
        empty=not listed,
        now=now,
    )
