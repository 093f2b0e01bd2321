"""Who may see what of a case: the one place that decides it (DESIGN.md, "Confidentiality").

Every card, history, order, list and photo album a person gets of a case is drawn through the
rules here for their audience; bot/cards.py renders what they allow, the notices and screens
pick the audience. A whistleblower is identified less by their name than by their traces: the
minute they reported, their words, that they were asked and answered, that others reported
too. So:

- an enterprise sees its order: the department's wording, the photos the officer chose, the
  date the order was issued and its own order's events, never the report itself;
- a citizen following a case someone else reported sees its category, district, status and the
  department's public notes, nothing of the reporter's;
- a supervisor reads that the reporter answered a question, and when, not the answer;
- the officers of the case see it all; who reported it (only when they chose real name) is
  shown on request, through bot/identity.py, which logs every time.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from bot.i18n import N_
from bot.labels import EVENT_LABELS, STATUS_LABELS
from bot.vocabulary.lifecycle import Action
from bot.vocabulary.models import CaseEvent


class Audience(StrEnum):
    REPORTER = "reporter"
    FOLLOWER = "follower"  # a citizen who follows a case someone else reported
    OFFICER = "officer"
    SUPERVISOR = "supervisor"
    ENTERPRISE = "enterprise"


class Field(StrEnum):
    """What a card of a case may show besides its number, status, category and district."""

    DESCRIPTION = "description"  # the reporter's own words
    PLACE = "place"  # the address and the map point (without it: the district alone)
    REPORTED_AT = "reported_at"  # the minute of the report
    ORDERED_ON = "ordered_on"  # the date the rectification order was issued
    ORDER = "order"  # the department's wording of the order
    DEPARTMENT = "department"
    ENTERPRISE = "enterprise"  # who is ordered to fix it
    REPORTER = "reporter"  # who reported it (a name only when they chose real name)
    REOPENED = "reopened"  # that the reporter says it is not fixed
    FIX = "fix"  # the fix note and the warnings about its photos
    EXTENSION = "extension"  # a request for more time awaiting the department
    PLAN = "plan"  # the rectification plan (治理方案) of a major hazard
    PHOTOS = "photos"  # how many photos there are (of the kinds in PHOTO_KINDS)
    REWARD = "reward"  # the whistleblower reward's state


# Staff read the time of the report, not the date of the order (it is in the history).
_OFFICER = frozenset(Field) - {Field.ORDERED_ON}
SIGHT: dict[Audience, frozenset[Field]] = {
    Audience.OFFICER: _OFFICER,
    Audience.SUPERVISOR: _OFFICER - {Field.REPORTER, Field.REOPENED, Field.FIX},
    Audience.ENTERPRISE: frozenset(
        {
            Field.PLACE,
            Field.ORDERED_ON,
            Field.ORDER,
            Field.ENTERPRISE,
            Field.EXTENSION,
            Field.PLAN,
            Field.PHOTOS,
        }
    ),
    Audience.REPORTER: frozenset(
        {Field.DESCRIPTION, Field.PLACE, Field.REPORTED_AT, Field.DEPARTMENT, Field.PHOTOS}
    ),
    Audience.FOLLOWER: frozenset({Field.DEPARTMENT}),
}


def sees(audience: Audience, field: Field) -> bool:
    return field in SIGHT[audience]


# Photos ----------------------------------------------------------------------------------------

# The kinds of a case's stored photos (case_photos.kind).
REPORT, FIX, REOPEN, ORDER = "report", "fix", "reopen", "order"

# Which photos each audience may be sent, in the order they are sent. The enterprise gets the
# photos the officer chose for its order (copies of report photos) and its own fix photos:
# never a reporter's "not fixed" photo, never a report photo left out of the order.
PHOTO_KINDS: dict[Audience, tuple[str, ...]] = {
    Audience.OFFICER: (REPORT, FIX, REOPEN),
    Audience.SUPERVISOR: (REPORT, FIX, REOPEN),
    Audience.ENTERPRISE: (ORDER, FIX),
    Audience.REPORTER: (REPORT,),
    Audience.FOLLOWER: (),
}


def photo_kinds(audience: Audience) -> tuple[str, ...]:
    return PHOTO_KINDS[audience]


# The history -----------------------------------------------------------------------------------

_ALL_NOTES = frozenset(a.value for a in Action) | {"question", "answer"}
# Whose words each audience may read in a case's history: the reporter's own words (answers,
# "not fixed") never reach the enterprise; internal reasons stay with the staff; a supervisor
# reads that the reporter answered, the answer stays with the officers (#16, item 3).
NOTES_SHOWN: dict[Audience, frozenset[str]] = {
    Audience.REPORTER: frozenset({Action.REJECT.value}),
    Audience.FOLLOWER: frozenset({Action.REJECT.value}),
    Audience.ENTERPRISE: frozenset(
        {
            Action.RETURN.value,
            Action.REQUEST_EXTENSION.value,
            Action.GRANT_EXTENSION.value,
            Action.REFUSE_EXTENSION.value,
        }
    ),
    Audience.OFFICER: _ALL_NOTES,
    Audience.SUPERVISOR: _ALL_NOTES - {"answer"},
}

# The events that (re)start an enterprise's order: its history begins at the last of them, so
# a contact reads their own order's events only, not the report's nor another enterprise's.
ORDER_STARTS = frozenset({Action.ASSIGN.value, Action.ACKNOWLEDGE.value, "reassign"})

# The events each citizen or enterprise audience may read (staff read them all). Anything not
# named here (a kind added later included) stays with the staff.
EVENTS: dict[Audience, frozenset[str]] = {
    Audience.ENTERPRISE: ORDER_STARTS
    | {
        Action.REQUEST_EXTENSION.value,
        Action.GRANT_EXTENSION.value,
        Action.REFUSE_EXTENSION.value,
        Action.SUBMIT_FIX.value,
        Action.RETURN.value,
        Action.CLOSE.value,
        Action.REOPEN.value,
        Action.CHANGE_DEADLINE.value,
        "plan",
        "measures",
        "escalate",
    },
    Audience.FOLLOWER: frozenset(
        {
            Action.ACCEPT.value,
            Action.REJECT.value,
            Action.TRANSFER.value,
            Action.MERGE.value,
            Action.ASSIGN.value,
            Action.HANDLE.value,
            Action.ACKNOWLEDGE.value,
            Action.SUBMIT_FIX.value,
            Action.RETURN.value,
            Action.GRANT_EXTENSION.value,
            Action.CLOSE.value,
            Action.REOPEN.value,
            "escalate",
        }
    ),
}

REOPENED_BY_DEPARTMENT = N_("The department reopened the case")
YOU_FOLLOW = N_("You reported the same hazard and follow this case")
# The reporter's "not fixed" reads to others as the department's reopening, dated by the day
# only: its minute is the reporter's.
RETOLD: dict[Audience, dict[str, str]] = {
    Audience.ENTERPRISE: {Action.REOPEN.value: REOPENED_BY_DEPARTMENT},
    Audience.FOLLOWER: {Action.REOPEN.value: REOPENED_BY_DEPARTMENT},
}


@dataclass(frozen=True)
class Entry:
    """One line of a history as its audience reads it."""

    at: dt.datetime
    what: str  # a msgid, or (``translate`` False) an internal event's kind for staff
    translate: bool
    note: str | None  # words the audience may read, as stored (a reason code is "@code")
    day_only: bool  # when only the day may be shown


def history(audience: Audience, events: list[CaseEvent], viewer: int | None = None) -> list[Entry]:
    """The events of a case the audience may read, each with what they may read of it; a
    follower (``viewer``) reads when they began to follow it, not when others did."""
    allowed = EVENTS.get(audience)
    if audience is Audience.ENTERPRISE:
        starts = [i for i, event in enumerate(events) if event.kind in ORDER_STARTS]
        events = events[starts[-1] :] if starts else []
    retold = RETOLD.get(audience, {})
    staff = audience in (Audience.OFFICER, Audience.SUPERVISOR)
    entries = []
    for event in events:
        if audience is Audience.FOLLOWER and event.kind == "follow" and event.actor_id == viewer:
            entries.append(Entry(event.at, YOU_FOLLOW, True, None, False))
            continue
        if allowed is not None and event.kind not in allowed:
            continue
        translate = True
        if event.kind in retold:
            what = retold[event.kind]
        elif event.kind in EVENT_LABELS:
            what = EVENT_LABELS[event.kind]
        elif event.to_status is not None:
            what = STATUS_LABELS[event.to_status]
        elif staff:
            what, translate = event.kind, False
        else:
            continue  # an internal event without a label is for the staff only
        note = event.note if event.kind in NOTES_SHOWN[audience] else None
        entries.append(Entry(event.at, what, translate, note, event.kind in retold))
    return entries
