"""Partners of the Open311 API (#17): their keys, and their reports filed into the same cases
as a chat report (routing, duplicates, abuse limits, officers told with the same card).

A partner's reports are filed as one account per partner, which nobody can message (it is
stored blocked); the person behind a report is known only by the contact they gave, kept in
the identity store (``reporter_of``, bot/identity.py) as a chat reporter's real name is.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import os
import re
import secrets
from dataclasses import dataclass, replace
from pathlib import Path

from bot.errors import ShaoziError, check_point
from bot.i18n import N_
from bot.reports import (
    MIN_DESCRIPTION,
    DailyLimitReached,
    DescriptionTooLong,
    DescriptionTooShort,
    DraftData,
    NameInvalid,
    check_address,
    check_name,
    check_phone,
    clean_text,
    file_case,
    find_duplicates,
    local_day_start,
    new_key,
)
from bot.services import Services
from bot.settings import Settings
from bot.vocabulary.models import ApiKey, Case, NewReporter
from storage.db import Database

# Partners' accounts get ids above every Telegram user id (Telegram's fit in 52 bits).
PARTNER_ACCOUNTS = 9_000_000_000_000_000
MAX_API_DESCRIPTION = 4000
MAX_EMAIL = 254
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")


class PartnerKeyError(Exception):
    """A command-line mistake with a partner key, said in one line."""


class UnknownService(ShaoziError):
    message = N_("There is no service {code}.")


class LocationNeeded(ShaoziError):
    message = N_("A request needs lat and long, or an address_string.")


class DistrictNeeded(ShaoziError):
    message = N_(
        "The place is not in a district of the city: give the district attribute "
        "(attribute[district]) with one of the codes listed by the service's definition."
    )


class EmailInvalid(ShaoziError):
    message = N_("That does not look like an email address.")


# Keys -----------------------------------------------------------------------------------------


def hash_key(raw: str) -> str:
    """How a key is looked up: its sha256 (keys are 256 random bits: no salt or stretching)."""
    return hashlib.sha256(raw.strip().encode()).hexdigest()


SECRET_FILE = "partner-keys.secret"


def key_secret(settings: Settings) -> bytes:
    """The server's secret from which partner keys are derived: ``SHAOZI_PARTNER_SECRET``, else
    a random one made once in the data folder (readable by the bot's user alone). It is never
    in the database, so a copy of the database holds no key and nothing to sign a webhook with;
    several workers share it through the setting or the data folder."""
    if settings.partner_secret is not None:
        return settings.partner_secret.get_secret_value().encode()
    path = Path(settings.data_dir) / SECRET_FILE
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    made = secrets.token_bytes(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another worker made it a moment ago
        return path.read_bytes()
    with os.fdopen(fd, "wb") as out:
        out.write(made)
    return made


def derive_key(secret: bytes, salt: str) -> str:
    """A partner's key: HMAC-SHA256 of its salt under the server's secret. Only the salt and the
    key's hash are stored; the bot derives the key again to sign the partner's webhooks."""
    digest = hmac.new(secret, salt.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


async def add_key(
    db: Database,
    secret: bytes,
    name: str,
    now: dt.datetime,
    webhook_url: str | None,
    all_cases: bool = False,
) -> str:
    """A new partner key; returns the key, shown once (see ``derive_key``)."""
    if not _NAME.match(name) or name.lower() == "telegram":
        raise PartnerKeyError(
            f"a partner name is 1-40 letters, digits, '.', '_' or '-' (not 'telegram'): {name!r}"
        )
    if webhook_url is not None and not webhook_url.startswith(("http://", "https://")):
        raise PartnerKeyError(f"the webhook must be an http:// or https:// URL: {webhook_url!r}")
    salt = secrets.token_urlsafe(16)
    raw = derive_key(secret, salt)
    async with db.transaction() as tx:
        if await tx.partners.by_name(name) is not None:
            raise PartnerKeyError(f"a partner named {name!r} exists already")
        user_id = await tx.partners.next_user_id(PARTNER_ACCOUNTS)
        await tx.partners.add_key(
            name,
            hash_key(raw),
            user_id,
            now,
            key_salt=salt,
            webhook_url=webhook_url,
            all_cases=all_cases,
        )
    return raw


async def renew_key(db: Database, secret: bytes, name: str) -> str:
    """A new key for an existing partner, live again, the old key no longer valid; returns it,
    shown once. The partner keeps its name (its cases' channel), account and webhook; a
    webhook is signed with the new key from now on."""
    salt = secrets.token_urlsafe(16)
    raw = derive_key(secret, salt)
    async with db.transaction() as tx:
        if not await tx.partners.renew(name, hash_key(raw), salt):
            raise PartnerKeyError(f"no partner named {name!r}")
    return raw


async def revoke_key(db: Database, name: str, now: dt.datetime) -> None:
    async with db.transaction() as tx:
        if not await tx.partners.revoke(name, now):
            raise PartnerKeyError(f"no live key named {name!r}")


async def authenticate(db: Database, raw: str | None) -> ApiKey | None:
    """The partner holding this key; None for a missing, unknown or revoked key."""
    if not raw:
        return None
    return await db.lookup.partners.by_hash(hash_key(raw))


# Reports --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Contact:
    """How the person behind a partner's report can be reached, as they gave it."""

    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: str | None = None

    @property
    def name(self) -> str | None:
        parts = [p for p in (self.first_name, self.last_name) if p]
        return " ".join(parts) or None


def check_contact(contact: Contact) -> Contact:
    """The contact with each field checked as the chat checks it (a name, a phone number)."""
    email = contact.email.strip() if contact.email else None
    if email is not None and (len(email) > MAX_EMAIL or not _EMAIL.match(email)):
        raise EmailInvalid()
    first = check_name(contact.first_name) if contact.first_name else None
    last = check_name(contact.last_name) if contact.last_name else None
    if first and last and len(f"{first} {last}") > 50:
        raise NameInvalid(maximum=50)
    phone = check_phone(contact.phone) if contact.phone else None
    return Contact(first, last, email, phone)


def reporter_of(partner: ApiKey, contact: Contact) -> NewReporter:
    """Who filed a partner's report, as the identity store keeps it (bot/identity.py): the
    contact they gave, under the same confidentiality as a chat reporter's real name (never in
    an API answer, never to an enterprise), and no account: the partner's account files the
    case, but the person behind it has no chat to be told, asked or rewarded in."""
    return NewReporter(
        channel=partner.name,
        user_id=None,
        name=contact.name,
        phone=contact.phone,
        email=contact.email,
    )


@dataclass(frozen=True)
class ApiReport:
    """A service request as a partner posts it, checked by ``file_report``."""

    service_code: str
    description: str
    latitude: float | None = None
    longitude: float | None = None
    address: str | None = None
    district: str | None = None  # a district code or name
    photos: tuple[str, ...] = ()  # stored photos' hashes (bot/reports.save_photo)
    contact: Contact = Contact()
    real_name: bool = False  # the reporter's name and phone may be shown to officers


@dataclass(frozen=True)
class Filed:
    case: Case
    joined: bool  # the same hazard was reported already: the report joined that case


def check_api_description(text: str) -> str:
    text = clean_text(text)
    if len(text) < MIN_DESCRIPTION:
        raise DescriptionTooShort(minimum=MIN_DESCRIPTION)
    if len(text) > MAX_API_DESCRIPTION:
        raise DescriptionTooLong(length=len(text), maximum=MAX_API_DESCRIPTION)
    return text


def draft_of(services: Services, report: ApiReport) -> DraftData:
    """The report as the chat's draft would hold it, every field checked as the chat does."""
    city = services.city
    if city.category(report.service_code) is None:
        raise UnknownService(code=report.service_code)
    data = DraftData(category=report.service_code)
    data.description = check_api_description(report.description)
    if report.latitude is not None and report.longitude is not None:
        data.latitude, data.longitude = check_point(report.latitude, report.longitude)
        found = city.district_at(data.latitude, data.longitude)
        data.district = found.code if found else None
    if report.address:
        data.address = check_address(report.address)
    if not data.has_location:
        raise LocationNeeded()
    if report.district:
        named = city.district(report.district) or city.district_named(report.district)
        if named is None:
            raise DistrictNeeded()
        data.district = data.district or named.code
    if data.district is None:
        raise DistrictNeeded()
    data.photos = list(report.photos)
    data.no_photo = not report.photos
    contact = report.contact
    if report.real_name and contact.name and contact.phone:
        data.anonymous, data.name, data.phone = False, contact.name, contact.phone
    else:
        data.anonymous = True
    return data


def check_report(services: Services, report: ApiReport) -> tuple[DraftData, Contact]:
    """The report as a draft, and its contact, each field checked; a ShaoziError otherwise."""
    contact = check_contact(report.contact)
    return draft_of(services, replace(report, contact=contact)), contact


async def file_report(services: Services, partner: ApiKey, report: ApiReport) -> Filed:
    """File a partner's report through the core of the chat's Submit.

    The per-person daily limit counts the reports of the same email or phone (an anonymous
    reporter is bounded by the partner's rate limit only). A photo already in an open case
    means the same hazard: the report joins that case (the partner follows it and hears of it)
    instead of making a second one, as a chat reporter who says "I see this too"."""
    data, contact = check_report(services, report)
    db, city, now = services.db, services.city, services.clock.now()
    same = [d for d in await find_duplicates(db, city, data, now) if d.same_photo]
    async with db.transaction() as tx:
        limit = city.limits.reports_per_day
        today = local_day_start(now, services.settings.zone)
        if await tx.reporters.count_by_contact_since(contact.email, contact.phone, today) >= limit:
            raise DailyLimitReached(limit=limit)
        if same:
            case = await tx.cases.get(same[0].case.id)
            assert case is not None
            if await tx.cases.add_follower(case.id, partner.user_id, now):
                await tx.cases.add_event(case.id, now, partner.user_id, "follow")
            # Their contact is not kept: a case has one reporter (case_reporters), the one
            # who filed it, and a joined report makes no case of its own.
            return Filed(case, joined=True)
        reporter = reporter_of(partner, contact)
        case = await file_case(services, tx, partner.user_id, new_key(), data, reporter)
    return Filed(case, joined=False)
