"""A major hazard's two steps before its fix: interim control measures (临时管控措施) soon
after the order, and the rectification plan (治理方案) before the fix can be submitted. Which
cases owe them, and by when; sending them is bot/rectification.py's, reminding bot/reminders.py's.
"""

from __future__ import annotations

import datetime as dt

from bot.errors import ShaoziError
from bot.i18n import N_
from bot.services import Services
from bot.vocabulary.grading import Colour
from bot.vocabulary.lifecycle import Level
from bot.vocabulary.models import Case

DAY = dt.timedelta(days=1)


class PlanFirst(ShaoziError):
    message = N_(
        "Case {number} is a major hazard: send the department your rectification plan "
        "(治理方案) first, then the fix."
    )


class PlanSent(ShaoziError):
    message = N_("The rectification plan of case {number} has been sent already.")


class MeasuresSent(ShaoziError):
    message = N_("The interim control measures of case {number} have been sent already.")


def needs_plan(case: Case) -> bool:
    """A major hazard (red, or 重大) ordered to an enterprise owes a rectification plan (治理方案);
    a self-report brought its own."""
    major = case.colour is Colour.RED or case.level is Level.MAJOR
    return major and case.enterprise_id is not None and not case.self_reported


def needs_measures(case: Case) -> bool:
    """The cases that owe a plan owe interim control measures (临时管控措施) too; a self-report's
    plan says how safety is kept until the fix."""
    return needs_plan(case)


def owes_plan(case: Case) -> bool:
    return needs_plan(case) and not case.plan


def owes_measures(case: Case) -> bool:
    return needs_measures(case) and not case.measures


def check_fix_allowed(case: Case) -> None:
    """Raise PlanFirst while a major hazard's plan is still owed."""
    if owes_plan(case):
        raise PlanFirst(number=case.number)


def measures_due(services: Services, case: Case) -> dt.datetime | None:
    """When the interim control measures are due: hours after the order (None: not owed)."""
    if not needs_measures(case) or case.assigned_at is None:
        return None
    return case.assigned_at + dt.timedelta(hours=services.city.majors.measures_hours)


def plan_due(services: Services, case: Case) -> dt.datetime | None:
    """When the plan is due: at the reminder time, days after the order, by the deadline's day
    at the latest (None: not owed)."""
    if not needs_plan(case) or case.assigned_at is None:
        return None
    zone = services.settings.zone
    day = case.assigned_at.astimezone(zone).date() + services.city.majors.plan_days * DAY
    if case.deadline is not None:
        day = min(day, case.deadline.astimezone(zone).date())
    moment = dt.datetime.combine(day, services.city.reminders.remind_time, tzinfo=zone)
    return moment.astimezone(dt.UTC)
