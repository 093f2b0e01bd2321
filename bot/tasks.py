"""An enterprise's rectification orders: /tasks, and starting a fix, a plan or a request for more
time on one of them. The steps themselves (submit_fix, submit_plan, request_extension) are the
workflow's."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from bot.accounts import Account
from bot.cards import cards
from bot.dates import end_of_day, parse_deadline
from bot.errors import CaseMovedOn, ExtensionPending, ExtensionTooShort, NotAllowed
from bot.labels import STATUS_LABELS
from bot.paging import Page, page_of
from bot.pending import owed
from bot.permissions import is_case_enterprise, is_case_officer
from bot.plans import MeasuresSent, PlanSent, check_fix_allowed, needs_plan, owes_measures
from bot.services import Services
from bot.vocabulary.lifecycle import Status
from bot.vocabulary.models import Case
from bot.vocabulary.roles import Role

TASKS_PAGE = 10
# What an order's buttons start (their actions in the case buttons' data).
FIX, EXTENSION, PLAN, MEASURES = "fix", "ext", "plan", "msr"


# /tasks --------------------------------------------------------------------------------------


def own_enterprises(actor: Account) -> list[int]:
    if not actor.has(Role.ENTERPRISE):
        return []
    return sorted(actor.enterprises())


def due_first(case: Case) -> tuple[bool, bool, float, int]:
    """Sort key: orders still to fix by deadline (so the overdue ones first), those without a
    deadline after them; fixes already sent, waiting for the department's check, last."""
    deadline = case.deadline.timestamp() if case.deadline is not None else 0.0
    return (case.status is not Status.ASSIGNED, case.deadline is None, deadline, case.id)


@dataclass(frozen=True)
class Orders:
    cases: list[Case]  # every open order, due first
    page: Page[Case]
    names: dict[int, str]  # the enterprises by id, when the user is a contact of several
    now: dt.datetime


async def open_orders(services: Services, actor: Account, page: int = 0) -> Orders:
    """The open orders of the actor's enterprises (NotAllowed: they are no contact of one)."""
    enterprises = own_enterprises(actor)
    if not enterprises:
        raise NotAllowed()
    read = services.db.read
    orders: list[Case] = []
    for enterprise_id in enterprises:
        orders.extend(await read.cases.open_for_enterprise(enterprise_id))
    orders.sort(key=due_first)
    names: dict[int, str] = {}
    if len(enterprises) > 1 and orders:
        for enterprise_id in enterprises:
            enterprise = await read.enterprises.get(enterprise_id)
            if enterprise is not None:
                names[enterprise_id] = enterprise.name
    return Orders(orders, page_of(orders, page, TASKS_PAGE), names, services.clock.now())


async def open_order(services: Services, actor: Account, case_id: int) -> Case:
    """An order of one of the actor's enterprises, opened from their list."""
    case = await services.db.read.cases.get(case_id)
    if case is None or not is_case_enterprise(actor, case):
        raise NotAllowed()
    return case


# Starting a step -----------------------------------------------------------------------------


async def order_for(services: Services, actor: Account, case_id: int, action: str) -> Case:
    """The case of an order's button: its enterprise's contacts may press them all; the fix of
    a case the department handles itself is recorded by its officers."""
    case = await services.db.read.cases.get(case_id)
    officer_fix = (
        case is not None
        and case.handled_by_department
        and action == FIX
        and is_case_officer(actor, case)
    )
    if case is None or not (is_case_enterprise(actor, case) or officer_fix):
        raise NotAllowed()
    return case


def check_startable(services: Services, case: Case, action: str) -> None:
    """Raise why the step cannot start now: the order is no longer to be fixed, its plan was
    sent, or a request for more time still waits for the department."""
    if case.status is not Status.ASSIGNED:
        raise CaseMovedOn(status=STATUS_LABELS[case.status])
    if action == PLAN and (case.plan or not needs_plan(case)):
        raise PlanSent(number=case.number)
    if action == MEASURES and not owes_measures(case):
        raise MeasuresSent(number=case.number)
    if action == FIX:
        check_fix_allowed(case)
    if action == EXTENSION and case.extension_until is not None:
        raise ExtensionPending(number=case.number, date=cards(services).date(case.extension_until))


@dataclass(frozen=True)
class Unsent:
    """Fix photos sent without the note yet: the contact's one pending input as the enterprise
    holds them, so starting another (more time, a plan) would drop them."""

    case: Case
    photos: int


async def unsent_fix(services: Services, actor: Account) -> Unsent | None:
    pending = await owed(services, actor.id, "fix")
    if pending is None or not pending.data.get("photos"):
        return None
    case = await services.db.read.cases.get(pending.case_id or 0)
    return None if case is None else Unsent(case, len(pending.data["photos"]))


# More time -----------------------------------------------------------------------------------


def extension_example(services: Services, case: Case) -> dt.datetime:
    """A date to show as an example of what to type: after the deadline and after today, so
    that it would be accepted."""
    example = end_of_day(services, 14)
    if case.deadline is not None:
        example = max(example, case.deadline + dt.timedelta(days=14))
    return example


async def extension_until(
    services: Services, actor: Account, case_id: int, text: str
) -> dt.datetime:
    """The date a contact typed to ask more time until: a date after the current deadline."""
    case = await services.db.read.cases.get(case_id)
    if case is None or not is_case_enterprise(actor, case):
        raise NotAllowed()
    until = parse_deadline(services, text)
    if case.deadline is not None and until <= case.deadline:
        raise ExtensionTooShort(date=cards(services).date(case.deadline))
    return until
