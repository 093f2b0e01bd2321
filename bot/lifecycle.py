"""The case lifecycle: statuses and the transitions allowed between them."""

from __future__ import annotations

from enum import StrEnum

from bot.i18n import N_


class Status(StrEnum):
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    ASSIGNED = "assigned"
    FIX_SUBMITTED = "fix_submitted"
    CLOSED = "closed"
    MERGED = "merged"


# A case in one of these needs nothing more from anyone.
FINAL = frozenset({Status.REJECTED, Status.CLOSED, Status.MERGED})

# The terms users see (DESIGN.md): 已提交 / 已受理 / 不予受理 / 整改中 / 待复核 / 已销号 / 已合并.
STATUS_LABELS: dict[Status, str] = {
    Status.SUBMITTED: N_("submitted"),
    Status.ACCEPTED: N_("accepted"),
    Status.REJECTED: N_("not accepted"),
    Status.ASSIGNED: N_("being rectified"),
    Status.FIX_SUBMITTED: N_("fix awaiting review"),
    Status.CLOSED: N_("closed"),
    Status.MERGED: N_("merged"),
}

EVENT_LABELS: dict[str, str] = {
    "submit": N_("Reported"),
    "follow": N_("Another person reported the same hazard"),
}


def is_open(status: Status) -> bool:
    return status not in FINAL
