"""Typed rows the repositories return."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict

from bot.lifecycle import Status
from bot.roles import Role


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


class Membership(_Row):
    id: int
    user_id: int
    role: Role
    department: str | None
    enterprise_id: int | None
    created_at: dt.datetime


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


class Case(_Row):
    id: int
    number: str
    reporter_id: int
    category: str
    district: str | None
    latitude: float | None
    longitude: float | None
    address: str | None
    description: str
    anonymous: bool
    reporter_name: str | None
    reporter_phone: str | None
    department: str
    status: Status
    created_at: dt.datetime
    updated_at: dt.datetime


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
    created_at: dt.datetime
    following: bool  # the user follows it rather than having reported it


class NearbyCase(_Row):
    id: int
    number: str
    status: Status
    latitude: float | None
    longitude: float | None
    created_at: dt.datetime
