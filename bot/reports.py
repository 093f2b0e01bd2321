"""Citizen reports: the draft and its steps, submitting, duplicates, following a case."""

from __future__ import annotations

import datetime as dt
import math
import re
import secrets
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict

from bot import identity
from bot.cards import telegram_len
from bot.city import CityConfig, distance_m
from bot.errors import ShaoziError
from bot.i18n import N_
from bot.offload import IN_THREAD, Pool
from bot.partner_events import tell_partners
from bot.photos import StoredPhoto, hamming, process_photo
from bot.services import Services
from bot.triage import announce_new_case
from bot.vocabulary.lifecycle import Status
from bot.vocabulary.models import Case, NearbyCase, NewReporter, Photo
from storage.db import Database, Session, to_db

MIN_DESCRIPTION, MAX_DESCRIPTION = 10, 2000
MIN_ADDRESS, MAX_ADDRESS = 4, 200
MAX_NAME = 50
MIN_PLAN = 20
# With a description at its longest, a self-report's summary must still fit in one message.
MAX_PLAN = 1500
MAX_PHOTOS = 5
TOTAL_STEPS = 6
# Photos whose 64-bit difference hashes differ in at most this many bits show the same scene.
PHOTO_MATCH_BITS = 6
MAX_DUPLICATES_SHOWN = 5


class Step(StrEnum):
    SCOPE = "scope"  # enterprise contacts: their own enterprise's hazard, or elsewhere
    CATEGORY = "category"
    LOCATION = "location"
    DISTRICT = "district"
    DESCRIPTION = "description"
    PHOTOS = "photos"
    IDENTITY = "identity"
    NAME = "name"
    PHONE = "phone"
    LEVEL = "level"  # self-reports: 一般 / 重大
    PROPOSAL = "proposal"  # self-reports: the deadline the enterprise proposes
    PLAN = "plan"  # self-reports of a major hazard: the rectification plan (治理方案)
    DUPLICATES = "duplicates"
    SUMMARY = "summary"


# "Step N of 6" as the user counts: sub-steps share their main step's number.
STEP_NUMBER: dict[Step, int] = {
    Step.SCOPE: 1,
    Step.CATEGORY: 1,
    Step.LOCATION: 2,
    Step.DISTRICT: 2,
    Step.DESCRIPTION: 3,
    Step.PHOTOS: 4,
    Step.IDENTITY: 5,
    Step.NAME: 5,
    Step.PHONE: 5,
    Step.LEVEL: 5,
    Step.PROPOSAL: 5,
    Step.PLAN: 5,
    Step.DUPLICATES: 6,
    Step.SUMMARY: 6,
}


class DraftData(BaseModel):
    """What the user has entered so far; stored as JSON with the draft."""

    model_config = ConfigDict(extra="ignore")

    category: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    address: str | None = None
    district: str | None = None
    description: str | None = None
    photos: list[str] = []
    no_photo: bool = False
    anonymous: bool | None = None
    name: str | None = None
    phone: str | None = None
    # Set when a field is edited from the summary: finishing it returns there, and /cancel
    # puts back what the report held before (``before_edit``) instead of dropping it.
    editing: bool = False
    before_edit: dict[str, Any] | None = None
    # The user said their report differs from the similar cases shown; asked again only if
    # what made them similar (category, place, photos) changes.
    duplicates_dismissed: bool = False
    # An enterprise contact reporting a hazard of their own enterprise (隐患自查自报): instead
    # of an identity they give the level, the deadline they propose and, if major, a plan.
    self_report: bool = False
    enterprise_id: int | None = None
    level: str | None = None
    proposed_deadline: str | None = None  # ISO date in the city's time zone
    plan: str | None = None
    # The bot's "photo n received … Done" message: when the next photo's comes, this one goes,
    # so the chat keeps a single one, under the newest photo.
    photo_status_id: int | None = None
    # The messages that gave the typed answers, so an edit of one of them updates that answer.
    description_message_id: int | None = None
    address_message_id: int | None = None

    @property
    def has_location(self) -> bool:
        return self.latitude is not None or self.address is not None

    @property
    def identity_done(self) -> bool:
        if self.self_report:
            return bool(self.level and self.proposed_deadline) and (
                self.level != "major" or bool(self.plan)
            )
        return self.anonymous is True or (bool(self.name) and bool(self.phone))


@dataclass
class ReportDraft:
    user_id: int
    key: str
    step: Step
    data: DraftData
    last_message_id: int
    updated_at: dt.datetime


# Expected failures, each with the message the user sees -------------------------------------


class DescriptionTooShort(ShaoziError):
    message = N_(
        "Please describe the hazard in at least {minimum} characters: what it is, "
        "where exactly, and since when."
    )


class DescriptionTooLong(ShaoziError):
    message = N_(
        "That is {length} characters; the limit is {maximum}. Please shorten the description."
    )


class AddressInvalid(ShaoziError):
    message = N_(
        "Please type an address of {minimum} to {maximum} characters, or share a location."
    )


class NameInvalid(ShaoziError):
    message = N_("Please type your name (at most {maximum} characters).")


class PhoneInvalid(ShaoziError):
    message = N_(
        "That does not look like a phone number. Type a mobile number such as 13800138000, "
        "or press the button to share yours."
    )


class DailyLimitReached(ShaoziError):
    message = N_(
        "You have sent {limit} reports today, the most one person can send in a day. "
        "Thank you! Please send more tomorrow. If lives are in danger now, call 119 or 110."
    )


class StaleButton(ShaoziError):
    """A press that names nothing the user may act on now: a forged button, or an old one."""

    message = N_("This button is no longer valid.")


class DraftGone(ShaoziError):
    message = N_(
        "This report is no longer open: it was sent, cancelled, or left unfinished until it "
        "lapsed. Send /report to start a new one."
    )


class AlreadyFollowing(ShaoziError):
    """The same "follow it" press twice: the first followed the case and dropped the draft."""

    message = N_("You follow case {number} already and will get its updates. See /my.")


# Rules ----------------------------------------------------------------------------------


def clean_text(text: str) -> str:
    """Trim and fold runs of blank lines; keep the user's own line breaks otherwise."""
    text = text.replace("\r\n", "\n").strip()
    return re.sub(r"\n{3,}", "\n\n", text)


def check_description(text: str, maximum: int = MAX_DESCRIPTION) -> str:
    """A description (or a plan) between the limits, counted as Telegram counts (an emoji is
    two), so the summary that shows it fits in one message."""
    text = clean_text(text)
    if len(text) < MIN_DESCRIPTION:
        raise DescriptionTooShort(minimum=MIN_DESCRIPTION)
    length = telegram_len(text)
    if length > maximum:
        raise DescriptionTooLong(length=length, maximum=maximum)
    return text


def check_address(text: str) -> str:
    text = " ".join(clean_text(text).split())
    if not MIN_ADDRESS <= len(text) <= MAX_ADDRESS:
        raise AddressInvalid(minimum=MIN_ADDRESS, maximum=MAX_ADDRESS)
    return text


class PlanTooShort(ShaoziError):
    message = N_(
        "A rectification plan needs at least {minimum} characters: the goal, the measures, "
        "money and materials, who is responsible, the deadline, and safety meanwhile."
    )


def check_plan(text: str) -> str:
    text = clean_text(text)
    if len(text) < MIN_PLAN:
        raise PlanTooShort(minimum=MIN_PLAN)
    return check_description(text, MAX_PLAN)


def check_name(text: str) -> str:
    text = " ".join(text.split())
    if not 1 <= len(text) <= MAX_NAME:
        raise NameInvalid(maximum=MAX_NAME)
    return text


_CN_MOBILE = re.compile(r"^1[3-9]\d{9}$")


def check_phone(text: str) -> str:
    """A mainland mobile (with or without +86), or an international number in E.164."""
    raw = re.sub(r"[\s\-().]", "", text)
    if raw.startswith("+86"):
        raw = raw[3:]
    elif raw.startswith("0086"):
        raw = raw[4:]
    if _CN_MOBILE.match(raw):
        return raw
    if re.fullmatch(r"\+[1-9]\d{7,14}", raw):
        return raw
    # Landlines with area code, e.g. 0571-87654321.
    if re.fullmatch(r"0\d{2,3}\d{7,8}", raw):
        return raw
    raise PhoneInvalid()


def new_key() -> str:
    return secrets.token_urlsafe(6)


def local_day_start(now: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    local = now.astimezone(zone)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def case_number(prefix: str, now: dt.datetime, zone: ZoneInfo, sequence: int) -> str:
    return f"{prefix}-{now.astimezone(zone):%Y%m%d}-{sequence:04d}"


# Storage-backed operations -------------------------------------------------------------------


async def load_draft(
    db: Database, user_id: int, now: dt.datetime, ttl_days: int
) -> ReportDraft | None:
    """The user's draft, or None; a draft untouched for ``ttl_days`` is dropped."""
    row = await db.lookup.drafts.get(user_id)
    if row is None:
        return None
    if row.updated_at < now - dt.timedelta(days=ttl_days):
        async with db.autocommit() as session:
            await session.drafts.delete(user_id, row.key)
        return None
    data = DraftData.model_validate(row.data)
    return ReportDraft(
        row.user_id, row.key, Step(row.step), data, row.last_message_id, row.updated_at
    )


async def start_draft(
    db: Database, user_id: int, now: dt.datetime, first: Step = Step.CATEGORY
) -> ReportDraft:
    key = new_key()
    async with db.autocommit() as session:
        await session.drafts.start(user_id, key, first.value, {}, now)
    return ReportDraft(user_id, key, first, DraftData(), 0, now)


async def save_draft(
    db: Database, draft: ReportDraft, now: dt.datetime, message_id: int = 0
) -> None:
    """Write the draft before the bot answers; raise DraftGone if it was sent meanwhile."""
    async with db.autocommit() as session:
        saved = await session.drafts.save(
            draft.user_id,
            draft.key,
            draft.step.value,
            draft.data.model_dump(),
            message_id,
            now,
        )
    if not saved:
        raise DraftGone()
    draft.last_message_id = max(draft.last_message_id, message_id)
    draft.updated_at = now


async def cancel_draft(db: Database, user_id: int) -> bool:
    async with db.autocommit() as session:
        return await session.drafts.delete(user_id)


async def reports_today(db: Database, user_id: int, now: dt.datetime, zone: ZoneInfo) -> int:
    return await db.lookup.cases.count_reported_since(user_id, local_day_start(now, zone))


async def check_daily_limit(
    db: Database, city: CityConfig, user_id: int, now: dt.datetime, zone: ZoneInfo
) -> None:
    limit = city.limits.reports_per_day
    if await reports_today(db, user_id, now, zone) >= limit:
        raise DailyLimitReached(limit=limit)


@dataclass(frozen=True)
class Submitted:
    case: Case
    created: bool  # False: this draft had been submitted before (a replay or a double press)


async def submit(
    services: Services,
    user_id: int,
    key: str,
) -> Submitted:
    """Turn the draft into a case, once: a second call with the same key returns that case.

    In the same transaction the case is sent to its department's officers (outbox).
    """
    db, city, zone, now = services.db, services.city, services.settings.zone, services.clock.now()
    async with db.transaction() as tx:
        existing = await tx.cases.by_draft_key(key)
        if existing is not None:
            return Submitted(existing, created=False)
        row = await tx.drafts.get(user_id)
        if row is None or row.key != key:
            raise DraftGone()
        data = DraftData.model_validate(row.data)
        if data.category is None or data.description is None or not data.has_location:
            raise DraftGone()
        if data.self_report and not data.identity_done:
            raise DraftGone()
        count = await tx.cases.count_reported_since(user_id, local_day_start(now, zone))
        if count >= city.limits.reports_per_day:
            raise DailyLimitReached(limit=city.limits.reports_per_day)
        named = not data.anonymous and not data.self_report
        reporter = NewReporter(
            user_id=user_id,
            name=data.name if named else None,
            phone=data.phone if named else None,
        )
        case = await file_case(services, tx, user_id, key, data, reporter)
        await tx.drafts.delete(user_id, key)
    return Submitted(case, created=True)


async def file_case(
    services: Services,
    tx: Session,
    filed_by: int,
    key: str,
    data: DraftData,
    reporter: NewReporter,
) -> Case:
    """File a complete report as a new case, routed to its department, whose officers are told
    (outbox), as are the partners that follow its channel; the caller has checked the limits.
    Every channel files through here: the chat's Submit and the Open311 API.

    ``filed_by`` is the account the case's first event and photos are recorded under (the chat
    reporter, or the partner's account); who reported it is ``reporter``, recorded apart from the
    case (bot/identity.py), and the case's channel is the reporter's."""
    city, zone, now = services.city, services.settings.zone, services.clock.now()
    assert data.category is not None
    assert data.description is not None
    sequence = await tx.cases.next_sequence(f"{now.astimezone(zone):%Y%m%d}")
    number = case_number(city.city.case_prefix, now, zone, sequence)
    case_id = await tx.cases.insert(
        {
            "number": number,
            "draft_key": key,
            "category": data.category,
            "district": data.district,
            "latitude": data.latitude,
            "longitude": data.longitude,
            "address": data.address,
            "description": data.description,
            "anonymous": int(bool(data.anonymous) and not data.self_report),
            "self_reported": int(data.self_report),
            "enterprise_id": data.enterprise_id if data.self_report else None,
            "level": data.level if data.self_report else None,
            "plan": data.plan if data.self_report else None,
            "proposed_deadline": proposed_deadline(data, zone),
            "department": city.route(data.category, data.district),
            "status": Status.SUBMITTED.value,
            "created_at": to_db(now),
            "updated_at": to_db(now),
            "routed_at": to_db(now),
            "channel": reporter.channel,
        }
    )
    await identity.record(tx, case_id, reporter, now)
    for position, sha256 in enumerate(data.photos):
        await tx.cases.add_photo(case_id, "report", position, sha256, filed_by, now)
    event_id = await tx.cases.add_event(
        case_id, now, filed_by, "submit", None, Status.SUBMITTED.value
    )
    case = await tx.cases.get(case_id)
    assert case is not None
    await announce_new_case(services, tx, case, now)
    await tell_partners(services, tx, case, event_id, now, created=True)
    return case


def proposed_deadline(data: DraftData, zone: ZoneInfo) -> str | None:
    if not data.self_report or not data.proposed_deadline:
        return None
    day = dt.date.fromisoformat(data.proposed_deadline)
    return to_db(dt.datetime.combine(day, dt.time(23, 59, 59), tzinfo=zone))


def _distance(data: DraftData, near: NearbyCase) -> float | None:
    if data.latitude is None or data.longitude is None:
        return None
    if near.latitude is None or near.longitude is None:
        return None
    return distance_m(data.latitude, data.longitude, near.latitude, near.longitude)


@dataclass(frozen=True)
class Duplicate:
    case: NearbyCase
    distance_m: float | None
    same_photo: bool


async def find_duplicates(
    db: Database, city: CityConfig, data: DraftData, now: dt.datetime
) -> list[Duplicate]:
    """Open cases that look like this report: same category close by, or a matching photo."""
    since = now - dt.timedelta(days=city.limits.duplicate_days)
    radius = city.limits.duplicate_radius_m
    found: dict[int, Duplicate] = {}
    if data.category and data.latitude is not None and data.longitude is not None:
        lat, lon = data.latitude, data.longitude
        dlat = radius / 111_000
        dlon = radius / (111_000 * max(0.1, math.cos(math.radians(lat))))
        box = (lat - dlat, lat + dlat, lon - dlon, lon + dlon)
        for near in await db.lookup.cases.open_nearby(data.category, since, box):
            if near.latitude is None or near.longitude is None:
                continue
            meters = distance_m(lat, lon, near.latitude, near.longitude)
            if meters <= radius:
                found[near.id] = Duplicate(near, meters, same_photo=False)
    if data.photos:
        mine = [p.phash for p in await db.lookup.photos.many(data.photos)]
        # Every open case's photo hash is compared; only the matches are read whole.
        matched = [
            case_id
            for case_id, phash in await db.read.cases.open_photo_hashes(since)
            if any(hamming(phash, h) <= PHOTO_MATCH_BITS for h in mine)
        ]
        for near in await db.lookup.cases.nearby_by_ids(matched):
            found[near.id] = Duplicate(near, _distance(data, near), same_photo=True)
    ordered = sorted(
        found.values(),
        key=lambda d: (not d.same_photo, d.distance_m if d.distance_m is not None else 1e9),
    )
    return ordered[:MAX_DUPLICATES_SHOWN]


async def follow_instead(
    db: Database, user_id: int, key: str, case_id: int, now: dt.datetime
) -> Case:
    """Join an existing open case as a co-reporter and drop the draft."""
    async with db.transaction() as tx:
        case = await tx.cases.get(case_id)
        if case is None:
            raise DraftGone()
        row = await tx.drafts.get(user_id)
        if row is None or row.key != key:
            # Pressed twice (or replayed): the first press followed the case.
            if await tx.cases.is_participant(case_id, user_id):
                raise AlreadyFollowing(number=case.number)
            raise DraftGone()
        reporter = await tx.reporters.is_reporter(case_id, user_id)
        if not reporter and await tx.cases.add_follower(case_id, user_id, now):
            await tx.cases.add_event(case_id, now, user_id, "follow")
        await tx.drafts.delete(user_id, key)
    return case


async def drop_stale_drafts(db: Database, now: dt.datetime, ttl_days: int) -> int:
    async with db.transaction(bulk=True) as tx:
        return await tx.drafts.delete_untouched_since(now - dt.timedelta(days=ttl_days))


async def save_photo(services: Services, data: bytes) -> StoredPhoto:
    """Store a photo a user sent, in the city's photo folder."""
    return await store_photo(
        services.db,
        services.settings.photos_dir,
        data,
        services.clock.now(),
        services.offload.photos,
    )


async def store_photo(
    db: Database, root: Path, data: bytes, now: dt.datetime, pool: Pool = IN_THREAD
) -> StoredPhoto:
    """Run the photo pipeline off the event loop (in a worker process: Pillow's JPEG encoder
    holds the GIL) and record the result."""
    stored = await pool.run(process_photo, data, root)
    async with db.transaction() as tx:
        await tx.photos.add(
            Photo(
                sha256=stored.sha256,
                thumb_sha256=stored.thumb_sha256,
                phash=stored.phash,
                width=stored.width,
                height=stored.height,
                size=stored.size,
            ),
            now,
        )
    return stored
