"""The rectification plan (治理方案): which cases owe one."""

from __future__ import annotations

from bot.vocabulary.grading import Colour
from bot.vocabulary.lifecycle import Level
from bot.vocabulary.models import Case


def needs_plan(case: Case) -> bool:
    """A major hazard (red, or 重大) ordered to an enterprise owes a rectification plan (治理方案);
    a self-report brought its own."""
    major = case.colour is Colour.RED or case.level is Level.MAJOR
    return major and case.enterprise_id is not None and not case.self_reported
