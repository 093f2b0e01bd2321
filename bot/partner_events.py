"""What partners of the Open311 API (#17) are told of a case: the spec's open/closed, the
extended status of mySociety's servicerequestupdates, and the webhook event queued in the
outbox with the change that causes it (delivered at least once by bot/open311/webhooks.py)."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from bot.services import Services
from bot.vocabulary.lifecycle import FINAL, Status
from bot.vocabulary.models import Case
from storage.db import Session

# A case's status as mySociety's extended statuses name it.
EXTENDED_STATUS: dict[Status, str] = {
    Status.SUBMITTED: "open",
    Status.ACCEPTED: "investigating",
    Status.ASSIGNED: "action_scheduled",
    Status.FIX_SUBMITTED: "in_progress",
    Status.CLOSED: "fixed",
    Status.REJECTED: "no_further_action",
    Status.MERGED: "duplicate",
}


def open_or_closed(status: Status) -> str:
    """GeoReport v2's status: a case ended (closed, rejected, merged) is closed."""
    return "closed" if status in FINAL else "open"


def w3c(moment: dt.datetime, zone: ZoneInfo) -> str:
    """A time as the spec writes it (W3C, with the city's offset)."""
    return moment.astimezone(zone).isoformat(timespec="seconds")


def event_body(
    event_id: int, kind: str, number: str, status: Status, at: dt.datetime, zone: ZoneInfo
) -> dict[str, Any]:
    """The JSON a partner's webhook receives for one change of a case."""
    return {
        "id": f"ev-{event_id}",
        "event": "created" if kind == "submit" else "status_changed",
        "service_request_id": number,
        "status": open_or_closed(status),
        "extended_status": EXTENDED_STATUS[status],
        "updated_datetime": w3c(at, zone),
    }


async def tell_partners(
    services: Services,
    tx: Session,
    case: Case,
    event_id: int,
    now: dt.datetime,
    *,
    created: bool = False,
) -> int:
    """Queue a webhook POST of this change for every partner that follows the case; return how
    many. In the transaction of the change, so a change is never lost or told twice."""
    targets = await tx.partners.webhook_targets(case.id, case.channel)
    if not targets:
        return 0
    kind = "submit" if created else "change"
    body = event_body(event_id, kind, case.number, case.status, now, services.settings.zone)
    for partner in targets:
        await tx.outbox.add(
            0, {"event": body}, f"hook:{event_id}:{partner.id}", now, webhook_key=partner.id
        )
    return len(targets)
