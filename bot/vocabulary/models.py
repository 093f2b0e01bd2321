"""Typed rows the repositories return."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict

from bot.vocabulary.grading import Colour
from bot.vocabulary.lifecycle import Level, Status
from bot.vocabulary.roles import Role


class _Row(BaseModel):
    model_config = ConfigDict(frozen=True, from_attributes=True)


class User(_Row):
    id: int
    language: str | None
    telegram_language: str | None
    subscribed: bool
    subscription_asked: bool
    blocked_at: dt.datetime | None
    created_at: dt.datetime
    last_seen_at: dt.datetime
    district: str | None = None


class Membership(_Row):
    id: int
    user_id: int
    role: Role
    department: str | None
    enterprise_id: int | None
    created_at: dt.datetime
    name: str | None = None  # as the member goes by in Telegram, when they joined
    username: str | None = None


class Invite(_Row):
    id: int
    role: Role
    department: str | None
    enterprise_id: int | None
    created_by: int | None
    created_at: dt.datetime
    expires_at: dt.datetime
    used_by: int | None
    used_at: dt.datetime | None


class ReceivedUpdate(_Row):
    """An update in the inbox, received and not yet handled: its JSON as the channel sent it."""

    update_id: int
    payload: str


class Enterprise(_Row):
    id: int
    name: str
    credit_code: str | None
    district: str | None
    address: str | None
    created_at: dt.datetime


class Photo(_Row):
    sha256: str
    thumb_sha256: str
    phash: int  # unsigned 64-bit
    width: int
    height: int
    size: int


class Draft(_Row):
    user_id: int
    key: str
    step: str
    data: dict[str, Any]
    last_message_id: int
    created_at: dt.datetime
    updated_at: dt.datetime


TELEGRAM = "telegram"  # the channel of a case reported in chat; else a partner's name (#17)


class Case(_Row):
    id: int
    number: str
    category: str
    district: str | None
    latitude: float | None
    longitude: float | None
    address: str | None
    description: str
    anonymous: bool  # who reported it is in case_reporters (bot/identity.py), not here
    department: str
    status: Status
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int = 0
    colour: Colour | None = None
    level: Level | None = None
    enterprise_id: int | None = None
    handled_by_department: bool = False
    deadline: dt.datetime | None = None
    accepted_at: dt.datetime | None = None
    assigned_at: dt.datetime | None = None
    fix_submitted_at: dt.datetime | None = None
    closed_at: dt.datetime | None = None
    merged_into: int | None = None
    self_reported: bool = False
    proposed_deadline: dt.datetime | None = None
    plan: str | None = None
    measures: str | None = None  # interim control measures (临时管控措施) of a major hazard
    reopened: bool = False
    fix_flag: str | None = None
    fix_note: str | None = None
    extension_until: dt.datetime | None = None
    extension_reason: str | None = None
    verify_asked: bool = False
    escalated_at: dt.datetime | None = None
    routed_at: dt.datetime | None = None
    deadline_set_at: dt.datetime | None = None
    reviewed: bool = False  # reopened on review (复核)
    # The rectification order in the department's words: a template of the city's (its code)
    # or the officer's own; the wording as issued (a template's in the city's language).
    order_template: str | None = None
    order_text: str | None = None
    channel: str = TELEGRAM  # where the report came from: Telegram, or a partner's name

    @property
    def named(self) -> bool:
        """The reporter chose real name: the case's officers may see who it is (bot/identity.py)."""
        return not self.anonymous and not self.self_reported

    def overdue(self, now: dt.datetime) -> bool:
        """Past its deadline and not closed: derived, never stored."""
        return (
            self.deadline is not None
            and self.deadline < now
            and self.status in (Status.ASSIGNED, Status.FIX_SUBMITTED, Status.ACCEPTED)
        )


class CaseEvent(_Row):
    id: int
    case_id: int
    at: dt.datetime
    actor_id: int | None
    kind: str
    from_status: Status | None
    to_status: Status | None
    note: str | None


class CaseSummary(_Row):
    """A line of a list: enough to show, not the whole case."""

    id: int
    number: str
    category: str
    status: Status
    created_at: dt.datetime  # reported, or (followed) when the user began to follow it
    following: bool  # the user follows it rather than having reported it


class NearbyCase(_Row):
    id: int
    number: str
    status: Status
    latitude: float | None
    longitude: float | None
    created_at: dt.datetime


class ApiKey(_Row):
    """A partner's key to the Open311 API (#17); the key itself is stored hashed."""

    id: int
    name: str
    key_hash: str
    key_salt: str  # the key is derived from it and the server's secret (bot/partners.py)
    webhook_url: str | None
    all_cases: bool
    user_id: int
    created_at: dt.datetime
    revoked_at: dt.datetime | None


class CaseUpdate(_Row):
    """One status change of a case, as a partner sees it (Open311 servicerequestupdates)."""

    event_id: int
    case_id: int
    number: str
    at: dt.datetime
    kind: str
    to_status: Status
    channel: str


class OutboxRow(_Row):
    id: int
    chat_id: int
    payload: dict[str, Any]
    dedupe_key: str
    not_before: dt.datetime
    created_at: dt.datetime
    status: str
    attempts: int
    last_error: str | None
    sent_at: dt.datetime | None
    broadcast_id: int | None = None
    quiet: bool = False
    parts_sent: int = 0  # the parts Telegram has accepted or refused for good (bot/tg/delivery.py)
    webhook_key: int | None = None  # a webhook POST to this partner (api_keys.id), not a chat's


class PendingInput(_Row):
    """An input the bot asked a user for (bot/pending.py): one per party they act as."""

    id: int
    user_id: int
    party: str
    kind: str
    case_id: int | None
    version: int | None
    data: dict[str, Any]
    created_at: dt.datetime
    prompt_id: int | None = None  # the bot's message that asked for it


class Question(_Row):
    id: int
    case_id: int
    asked_by: int
    asked_to: int
    question: str
    asked_at: dt.datetime
    answered_at: dt.datetime | None
    answer_text: str | None
    answer_photo: str | None
    answer_lat: float | None
    answer_lon: float | None


class EnterpriseRecord(_Row):
    """An enterprise with the counts an officer needs when choosing it."""

    enterprise: Enterprise
    open_cases: int
    overdue_cases: int
    closed_cases: int


class ReviewGround(StrEnum):
    """What the reporter asks to have reviewed."""

    REJECTED = "rejected"  # the report was not accepted
    NOT_GENUINE = "not_genuine"  # found not genuine (不属实) at its closing


class ReviewDecision(StrEnum):
    UPHELD = "upheld"
    REOPENED = "reopened"


class Review(_Row):
    """A reporter's request for a review (复核) of a case not accepted or found not genuine,
    and a supervisor's decision on it (bot/review.py)."""

    id: int
    case_id: int
    requested_by: int
    ground: ReviewGround
    reason: str
    requested_at: dt.datetime
    decision: ReviewDecision | None  # None while it waits
    decided_by: int | None
    decided_at: dt.datetime | None


# The reporter's identity (bot/identity.py) ------------------------------------------------------

TELEGRAM = "telegram"


class NewReporter(BaseModel):
    """Who filed a new case, as recorded apart from it: their account in the channel they came
    by (a Telegram user), or a partner channel's contact without one."""

    model_config = ConfigDict(frozen=True)

    channel: str = TELEGRAM
    user_id: int | None = None  # the Telegram account (users.id); None: the reporter has none
    name: str | None = None  # a real-name report's name, or a partner's contact
    phone: str | None = None
    email: str | None = None
    external_id: str | None = None  # the partner's own id of the reporter


class ReporterContact(_Row):
    """What a person allowed to (bot/identity.py) is shown of a case's reporter: never their
    account."""

    case_id: int
    channel: str
    name: str | None
    phone: str | None
    email: str | None


class IdentityPurpose(StrEnum):
    CASE = "case"  # an officer of a real-name report, to handle the case
    PAYOUT = "payout"  # a supervisor paying out a reward


class IdentityRead(_Row):
    """One time a person was shown a reporter's identity (the audit log)."""

    id: int
    case_id: int
    reader_id: int
    purpose: IdentityPurpose
    at: dt.datetime
