"""The Open311 GeoReport v2 API (#17) as an aiohttp application, mounted by its caller under
``/open311/v2/``: discovery, services, service definitions, requests (POST and GET) and
mySociety's servicerequestupdates, in JSON and XML.

Every answer is built from the case's public side: its number, category, place, status, the
department and the deadline. Nothing that identifies a reporter is ever in an answer, nor an
enterprise's name; a case's description and photo only to the partner who sent it.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any

from aiohttp import web
from multidict import MultiDictProxy

from bot.errors import ShaoziError
from bot.i18n import N_, Translator, language_from_telegram
from bot.labels import STATUS_LABELS
from bot.open311.formats import FORMATS, answer, errors
from bot.open311.net import fetch_media
from bot.partner_events import EXTENDED_STATUS, open_or_closed, w3c
from bot.partners import (
    ApiReport,
    Contact,
    DistrictNeeded,
    UnknownService,
    authenticate,
    check_report,
    file_report,
)
from bot.photos import MAX_BYTES, photo_path
from bot.reports import DailyLimitReached, save_photo
from bot.services import Services
from bot.vocabulary.lifecycle import Status
from bot.vocabulary.models import ApiKey, Case

log = logging.getLogger(__name__)

PAGE_SIZE = 1000  # the spec's default (and our most) requests per answer
DEFAULT_WINDOW = dt.timedelta(days=90)
# Each key's requests: a bucket of BURST, refilled at RATE a second. In memory, per process: a
# deployment with several processes allows each key this much per process.
RATE, BURST = 2.0, 60.0
SPEC = "http://wiki.open311.org/GeoReport_v2"
IDENTITY_CHOICES = ("anonymous", "real_name")
_SHA = re.compile(r"^[0-9a-f]{64}$")
_FMT = "{fmt:(json|xml)}"
REQUIRED = N_("{name} is required.")
COARSE = 3  # decimals of another channel's point: about a hundred metres
MAX_REQUEST = MAX_BYTES + 65536  # a photo at the pipeline's limit, and the form around it


class ApiError(ShaoziError):
    """An answer of the spec's errors: HTTP ``status`` and a description (a msgid with its
    parameters, said in the language the request asked for)."""

    def __init__(self, status: int, message: str, **params: Any) -> None:
        super().__init__(message, **params)
        self.status = status


# What aiohttp's own refusals (no such route, a wrong method, a body too large) are told as.
HTTP_REFUSALS = {
    404: N_("There is nothing at this address."),
    405: N_("This address does not take that method."),
    413: N_("The request is too large."),
}


@dataclass
class Bucket:
    tokens: float
    at: dt.datetime


@dataclass
class Api:
    services: Services
    buckets: dict[int, Bucket] = field(default_factory=dict)

    def spend(self, key_id: int) -> bool:
        """Take one request from the key's bucket; False when it is empty."""
        now = self.services.clock.now()
        bucket = self.buckets.setdefault(key_id, Bucket(BURST, now))
        elapsed = max(0.0, (now - bucket.at).total_seconds())
        bucket.tokens, bucket.at = min(BURST, bucket.tokens + elapsed * RATE), now
        if bucket.tokens < 1:
            return False
        bucket.tokens -= 1
        return True


API = web.AppKey("open311", Api)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _fmt(request: web.Request) -> str:
    fmt = request.match_info.get("fmt")
    if fmt in FORMATS:
        return fmt
    return "xml" if request.path.endswith(".xml") else "json"


def _translator(request: web.Request) -> Translator:
    services = request.app[API].services
    language = language_from_telegram(request.query.get("locale"))
    return services.translator_for(language or services.city.city.default_language)


@web.middleware
async def spec_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every failure as the spec's error list: 400, 403, 404 (and 429, 500)."""
    fmt = _fmt(request)
    gettext = _translator(request).gettext
    try:
        return await handler(request)
    except ApiError as exc:
        return errors(fmt, exc.status, exc.render(gettext))
    except UnknownService as exc:
        return errors(fmt, 404, exc.render(gettext))
    except DailyLimitReached as exc:
        return errors(fmt, 429, exc.render(gettext))
    except ShaoziError as exc:  # a field the core refused (too short, not a picture …)
        return errors(fmt, 400, exc.render(gettext))
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        known = HTTP_REFUSALS.get(exc.status)
        return errors(fmt, exc.status, gettext(known) if known else exc.reason)
    except Exception:
        log.exception("Open311 %s %s failed", request.method, request.path)
        return errors(fmt, 500, gettext(N_("Something went wrong on our side.")))


async def _partner(request: web.Request, form: MultiDictProxy[Any] | None = None) -> ApiKey:
    """The partner whose api_key came with the request (403 without a valid one), within its
    rate limit (429)."""
    api = request.app[API]
    raw = (form.get("api_key") if form is not None else None) or request.query.get("api_key")
    partner = await authenticate(api.services.db, raw if isinstance(raw, str) else None)
    if partner is None:
        raise ApiError(403, N_("A valid api_key is required."))
    if not api.spend(partner.id):
        raise ApiError(429, N_("Too many requests with this api_key: please slow down."))
    return partner


# Discovery and services ---------------------------------------------------------------------


def _base(request: web.Request) -> str:
    """This API's own address, as the client reached it (``…/open311/v2/``)."""
    path = request.app.router["discovery"].url_for(fmt="json").path
    return str(request.url.origin()) + path.removesuffix("discovery.json")


async def discovery(request: web.Request) -> web.Response:
    services = request.app[API].services
    changed = "2026-12-06T00:00:00Z"
    value = {
        "changeset": changed,
        "contact": services.city.city.name.get(_translator(request).language),
        "key_service": "run_bot.py apikey add NAME",
        "endpoints": [
            {
                "specification": SPEC,
                "url": _base(request).rstrip("/"),
                "changeset": changed,
                "type": "production",
                "formats": ["text/xml", "application/json"],
            }
        ],
    }
    return answer(_fmt(request), "discovery", value)


def _service(services: Services, tr: Translator, code: str) -> dict[str, Any]:
    category = services.city.category(code)
    if category is None:
        raise UnknownService(code=code)
    department = services.city.department(category.department)
    language = tr.language
    keywords = [category.name.get(language)] + [
        t.title.get(language) for t in category.order_templates
    ]
    return {
        "service_code": category.code,
        "service_name": category.name.get(language),
        "description": category.name.get(language),
        "metadata": True,
        "type": "realtime",
        "keywords": ",".join(keywords),
        "group": department.name.get(language) if department else category.department,
    }


async def service_list(request: web.Request) -> web.Response:
    services, tr = request.app[API].services, _translator(request)
    value = [_service(services, tr, c.code) for c in services.city.categories]
    return answer(_fmt(request), "services", value)


async def service_definition(request: web.Request) -> web.Response:
    services, tr = request.app[API].services, _translator(request)
    code = request.match_info["code"]
    _service(services, tr, code)  # 404 for an unknown one
    language = tr.language
    districts = [{"key": d.code, "name": d.name.get(language)} for d in services.city.districts]
    value = {
        "service_code": code,
        "attributes": [
            {
                "variable": True,
                "code": "district",
                "datatype": "singlevaluelist",
                "required": False,
                "datatype_description": tr.gettext(DistrictNeeded.message),
                "order": 1,
                "description": tr.gettext("District"),
                "values": districts,
            },
            {
                "variable": True,
                "code": "identity",
                "datatype": "singlevaluelist",
                "required": False,
                "datatype_description": tr.gettext(
                    "Anonymous unless real_name: then the first_name, last_name and phone "
                    "given are shown to the department's officers, as a chat reporter's."
                ),
                "order": 2,
                "description": tr.gettext("Identity"),
                "values": [
                    {"key": "anonymous", "name": tr.gettext("Anonymous")},
                    {"key": "real_name", "name": tr.gettext("Real name")},
                ],
            },
        ],
    }
    return answer(_fmt(request), "service_definition", value)


# Requests -----------------------------------------------------------------------------------


def _float(form: MultiDictProxy[Any], name: str) -> float | None:
    raw = form.get(name)
    if raw is None or raw == "":
        return None
    try:
        return float(raw)
    except (TypeError, ValueError):
        raise ApiError(400, N_("{name} must be a number."), name=name) from None


def _text(form: MultiDictProxy[Any], name: str) -> str | None:
    raw = form.get(name)
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise ApiError(400, N_("{name} must be text."), name=name)
    return raw.strip() or None


async def _photo(api: Api, form: MultiDictProxy[Any]) -> tuple[str, ...]:
    """The request's photo, uploaded (``media``) or at ``media_url``, through the photo
    pipeline: stored stripped, its hash returned."""
    upload = form.get("media")
    if isinstance(upload, web.FileField):
        data = upload.file.read(MAX_BYTES + 1)
    else:
        url = _text(form, "media_url")
        if url is None:
            return ()
        allow = api.services.settings.hooks_allow_private
        data = await fetch_media(url, allow_private=allow, max_bytes=MAX_BYTES)
    stored = await save_photo(api.services, data)
    return (stored.sha256,)


async def post_request(request: web.Request) -> web.Response:
    api = request.app[API]
    form = await request.post()
    partner = await _partner(request, form)
    code = _text(form, "service_code")
    if code is None:
        raise ApiError(400, REQUIRED, name="service_code")
    description = _text(form, "description")
    if description is None:
        raise ApiError(400, REQUIRED, name="description")
    identity = _text(form, "attribute[identity]") or "anonymous"
    if identity not in IDENTITY_CHOICES:
        raise ApiError(400, N_("attribute[identity] must be anonymous or real_name."))
    latitude, longitude = _float(form, "lat"), _float(form, "long")
    if (latitude is None) != (longitude is None):
        raise ApiError(400, N_("lat and long go together."))
    if api.services.city.category(code) is None:
        raise UnknownService(code=code)
    report = ApiReport(
        service_code=code,
        description=description,
        latitude=latitude,
        longitude=longitude,
        address=_text(form, "address_string"),
        district=_text(form, "attribute[district]"),
        contact=Contact(
            first_name=_text(form, "first_name"),
            last_name=_text(form, "last_name"),
            email=_text(form, "email"),
            phone=_text(form, "phone"),
        ),
        real_name=identity == "real_name",
    )
    check_report(api.services, report)  # before a photo is fetched for nothing
    photos = await _photo(api, form)
    filed = await file_report(api.services, partner, replace(report, photos=photos))
    item: dict[str, Any] = {"service_request_id": filed.case.number, "account_id": None}
    if filed.joined:
        item["service_notice"] = _translator(request).gettext(
            "The same hazard was reported already: this report joined that case."
        )
    return answer(_fmt(request), "service_requests", [item])


def _request(
    request: web.Request,
    services: Services,
    tr: Translator,
    case: Case,
    photos: list[str],
    partner: ApiKey,
) -> dict[str, Any]:
    """One case as the spec's request, seen by ``partner``: never a reporter's identity, nor
    the enterprise. A case another channel sent shows none of its reporter's traces: not their
    words (description, typed address: the district instead), not their photo, not the minute
    they reported (the day), and its point only to about a hundred metres."""
    zone = services.settings.zone
    category = services.city.category(case.category)
    department = services.city.department(case.department)
    own = case.channel == partner.name
    media = None
    if own and photos:
        path = request.app.router["media"].url_for(name=f"{photos[0]}.jpg").path
        media = str(request.url.origin()) + path
    reported = case.created_at
    address, latitude, longitude = case.address, case.latitude, case.longitude
    if not own:
        local = reported.astimezone(zone)
        reported = local.replace(hour=0, minute=0, second=0, microsecond=0)
        district = services.city.district(case.district) if case.district else None
        address = district.name.get(tr.language) if district else None
        latitude = round(latitude, COARSE) if latitude is not None else None
        longitude = round(longitude, COARSE) if longitude is not None else None
    return {
        "service_request_id": case.number,
        "status": open_or_closed(case.status),
        "status_notes": tr.gettext(STATUS_LABELS[case.status]),
        "service_name": category.name.get(tr.language) if category else case.category,
        "service_code": case.category,
        "description": case.description if own else None,
        "agency_responsible": department.name.get(tr.language) if department else case.department,
        "service_notice": None,
        "requested_datetime": w3c(reported, zone),
        "updated_datetime": w3c(case.updated_at, zone),
        "expected_datetime": w3c(case.deadline, zone) if case.deadline else None,
        "address": address,
        "address_id": None,
        "zipcode": None,
        "lat": latitude,
        "long": longitude,
        "media_url": media,
    }


def _moment(raw: str | None, name: str, services: Services) -> dt.datetime | None:
    if not raw:
        return None
    try:
        moment = dt.datetime.fromisoformat(raw.replace(" ", "+"))
    except ValueError:
        raise ApiError(400, N_("{name} must be a W3C date and time."), name=name) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=services.settings.zone)


def _page(request: web.Request) -> int:
    raw = request.query.get("page", "1")
    if not raw.isdigit() or int(raw) < 1:
        raise ApiError(400, N_("page must be a number from 1."))
    return int(raw)


def _window(request: web.Request, services: Services) -> tuple[dt.datetime, dt.datetime]:
    end = _moment(request.query.get("end_date"), "end_date", services) or services.clock.now()
    start = _moment(request.query.get("start_date"), "start_date", services) or (
        end - DEFAULT_WINDOW
    )
    if start > end:
        raise ApiError(400, N_("start_date is after end_date."))
    return start, end


def _statuses(raw: str | None) -> list[str]:
    if not raw:
        return []
    wanted = {s.strip().lower() for s in raw.split(",") if s.strip()}
    if not wanted <= {"open", "closed"}:
        raise ApiError(400, N_("status must be open, closed, or both."))
    return [s.value for s in Status if open_or_closed(s) in wanted]


async def _answer_cases(request: web.Request, partner: ApiKey, cases: list[Case]) -> web.Response:
    services, tr = request.app[API].services, _translator(request)
    read = services.db.read.cases
    value = []
    for case in cases:
        # Only the partner's own cases show their photo: no lookup for the others.
        own = case.channel == partner.name
        photos = await read.photo_hashes(case.id) if own else []
        value.append(_request(request, services, tr, case, photos, partner))
    return answer(_fmt(request), "service_requests", value)


async def get_requests(request: web.Request) -> web.Response:
    partner = await _partner(request)
    services = request.app[API].services
    numbers = [
        n.strip() for n in request.query.get("service_request_id", "").split(",") if n.strip()
    ]
    page = _page(request)
    if numbers:
        cases = await services.db.read.partners.requests(
            numbers=numbers[:PAGE_SIZE], limit=PAGE_SIZE
        )
    else:
        codes = [c.strip() for c in request.query.get("service_code", "").split(",") if c.strip()]
        start, end = _window(request, services)
        cases = await services.db.read.partners.requests(
            categories=codes,
            statuses=_statuses(request.query.get("status")),
            since=start,
            until=end,
            limit=PAGE_SIZE,
            offset=(page - 1) * PAGE_SIZE,
        )
    return await _answer_cases(request, partner, cases)


async def get_request(request: web.Request) -> web.Response:
    partner = await _partner(request)
    services = request.app[API].services
    case = await services.db.read.cases.by_number(request.match_info["id"])
    if case is None:
        raise ApiError(404, N_("There is no request with this service_request_id."))
    return await _answer_cases(request, partner, [case])


async def get_updates(request: web.Request) -> web.Response:
    """mySociety's servicerequestupdates: the status changes of a window, oldest first."""
    await _partner(request)
    services, tr = request.app[API].services, _translator(request)
    start, end = _window(request, services)
    page = _page(request)
    updates = await services.db.read.partners.updates(start, end, PAGE_SIZE, (page - 1) * PAGE_SIZE)
    zone = services.settings.zone
    value = [
        {
            "update_id": f"ev-{u.event_id}",
            "service_request_id": u.number,
            "status": EXTENDED_STATUS[u.to_status],
            "updated_datetime": w3c(u.at, zone),
            "description": tr.gettext(STATUS_LABELS[u.to_status]),
            "media_url": None,
        }
        for u in updates
        if u.kind != "submit"
    ]
    return answer(_fmt(request), "service_request_updates", value)


async def media(request: web.Request) -> web.StreamResponse:
    """A report photo of a partner's case, the stripped copy the pipeline stored."""
    services = request.app[API].services
    sha = request.match_info["name"].removesuffix(".jpg")
    if not _SHA.match(sha) or not await services.db.read.partners.is_api_photo(sha):
        raise ApiError(404, N_("There is no such photo."))
    return web.FileResponse(
        photo_path(services.settings.photos_dir, sha), headers={"Content-Type": "image/jpeg"}
    )


def build_api(services: Services) -> web.Application:
    """The API; its caller mounts it (``root.add_subapp("/open311/v2/", api)``)."""
    app = web.Application(middlewares=[spec_errors], client_max_size=MAX_REQUEST)
    app[API] = Api(services)
    add = app.router.add_route
    add("GET", f"/discovery.{_FMT}", discovery, name="discovery")
    add("GET", f"/services.{_FMT}", service_list)
    add("GET", "/services/{code:[a-z0-9_]+}." + _FMT, service_definition)
    add("POST", f"/requests.{_FMT}", post_request)
    add("GET", f"/requests.{_FMT}", get_requests)
    add("GET", "/requests/{id:[A-Za-z0-9-]+}." + _FMT, get_request)
    add("GET", f"/servicerequestupdates.{_FMT}", get_updates)
    add("GET", "/media/{name:[0-9a-f]{64}\\.jpg}", media, name="media")
    return app
