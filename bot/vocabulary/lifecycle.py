"""The case lifecycle: statuses, levels, actions and the transitions allowed between them."""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    ASSIGNED = "assigned"
    FIX_SUBMITTED = "fix_submitted"
    CLOSED = "closed"
    MERGED = "merged"


class Level(StrEnum):
    """Hazard level, a field apart from the risk colour: 一般隐患 / 重大隐患."""

    GENERAL = "general"
    MAJOR = "major"


class Action(StrEnum):
    """Every change a case can go through; each is one event in its log."""

    SUBMIT = "submit"
    ACCEPT = "accept"
    REJECT = "reject"
    TRANSFER = "transfer"
    MERGE = "merge"
    ASSIGN = "assign"
    HANDLE = "handle"  # the department fixes it itself, no enterprise
    SUBMIT_FIX = "submit_fix"
    CLOSE = "close"
    RETURN = "return"
    REQUEST_EXTENSION = "request_extension"
    GRANT_EXTENSION = "grant_extension"
    REFUSE_EXTENSION = "refuse_extension"
    REOPEN = "reopen"  # the reporter says it is not fixed
    ACKNOWLEDGE = "acknowledge"  # a self-report's deadline accepted or corrected
    # Review (复核) of a case not accepted or found not genuine: the reporter asks, once; a
    # supervisor upholds the decision or reopens the case (bot/review.py).
    REQUEST_REVIEW = "request_review"
    UPHOLD = "uphold"
    REOPEN_ON_REVIEW = "review_reopen"
    # An officer's corrections of a mistake, each with a reason (bot/corrections.py).
    REASSIGN = "reassign"  # the order goes to another enterprise
    CHANGE_DEADLINE = "change_deadline"
    CHANGE_CATEGORY = "change_category"  # routing follows: it may move to another department


# Action -> (statuses it may start from, status it leads to; None: unchanged).
TRANSITIONS: dict[Action, tuple[frozenset[Status], Status | None]] = {
    Action.ACCEPT: (frozenset({Status.SUBMITTED}), Status.ACCEPTED),
    Action.REJECT: (frozenset({Status.SUBMITTED}), Status.REJECTED),
    Action.TRANSFER: (frozenset({Status.SUBMITTED}), Status.SUBMITTED),
    Action.MERGE: (frozenset({Status.SUBMITTED, Status.ACCEPTED}), Status.MERGED),
    Action.ASSIGN: (frozenset({Status.ACCEPTED}), Status.ASSIGNED),
    Action.HANDLE: (frozenset({Status.ACCEPTED}), Status.ASSIGNED),
    Action.ACKNOWLEDGE: (frozenset({Status.SUBMITTED}), Status.ASSIGNED),
    Action.SUBMIT_FIX: (frozenset({Status.ASSIGNED}), Status.FIX_SUBMITTED),
    Action.CLOSE: (frozenset({Status.FIX_SUBMITTED}), Status.CLOSED),
    Action.RETURN: (frozenset({Status.FIX_SUBMITTED}), Status.ASSIGNED),
    Action.REQUEST_EXTENSION: (frozenset({Status.ASSIGNED}), None),
    Action.GRANT_EXTENSION: (frozenset({Status.ASSIGNED}), None),
    Action.REFUSE_EXTENSION: (frozenset({Status.ASSIGNED}), None),
    Action.REOPEN: (frozenset({Status.CLOSED}), Status.FIX_SUBMITTED),
    Action.REQUEST_REVIEW: (frozenset({Status.REJECTED, Status.CLOSED}), None),
    Action.UPHOLD: (frozenset({Status.REJECTED, Status.CLOSED}), None),
    Action.REOPEN_ON_REVIEW: (frozenset({Status.REJECTED, Status.CLOSED}), Status.SUBMITTED),
    Action.REASSIGN: (frozenset({Status.ASSIGNED}), None),
    Action.CHANGE_DEADLINE: (frozenset({Status.ASSIGNED}), None),
    Action.CHANGE_CATEGORY: (
        frozenset({Status.SUBMITTED, Status.ACCEPTED, Status.ASSIGNED, Status.FIX_SUBMITTED}),
        None,
    ),
}


def next_status(action: Action, current: Status) -> Status | None:
    """The status ``action`` leads to from ``current``, or None when it is not allowed."""
    sources, target = TRANSITIONS[action]
    if current not in sources:
        return None
    return target or current


# A case in one of these needs nothing more from anyone.
FINAL = frozenset({Status.REJECTED, Status.CLOSED, Status.MERGED})


def is_open(status: Status) -> bool:
    return status not in FINAL
