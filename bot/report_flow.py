"""The report's step machine: which step follows which, what each step accepts, what each button
of the report does.

Every function takes plain values (the user, the draft, what was sent or which button was
pressed), writes the draft before returning, and returns what happened: the duplicates found on
the way, a note on what was taken, or a domain error. A channel words the outcome and asks the
draft's step (``draft.step``) again; it never decides where the report goes next.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum

from bot.accounts import Account
from bot.dates import end_of_day, parse_deadline
from bot.errors import ShaoziError, check_point
from bot.i18n import N_
from bot.reports import (
    MAX_PHOTOS,
    STEP_NUMBER,
    AlreadyFollowing,
    DraftData,
    DraftGone,
    Duplicate,
    ReportDraft,
    StaleButton,
    Step,
    cancel_draft,
    check_address,
    check_daily_limit,
    check_description,
    check_name,
    check_phone,
    check_plan,
    find_duplicates,
    follow_instead,
    load_draft,
    save_draft,
    save_photo,
    start_draft,
)
from bot.services import Services
from bot.vocabulary.lifecycle import Level
from bot.vocabulary.models import Case
from bot.vocabulary.roles import Role

# Fields the summary's "edit" offers, in the order of the steps.
EDITABLE = (Step.CATEGORY, Step.LOCATION, Step.DESCRIPTION, Step.PHOTOS, Step.IDENTITY)
# The deadlines an enterprise may pick for its self-report, in days; it may type another date.
PROPOSAL_DAYS = (3, 7, 15, 30)

# The steps at which each button of the report means something; pressed at any other step it is
# from an earlier message. None: at any step.
ACTION_STEPS: dict[str, frozenset[Step] | None] = {
    "scope": frozenset({Step.SCOPE}),
    "lvl": frozenset({Step.LEVEL}),
    "prop": frozenset({Step.PROPOSAL}),
    "cat": frozenset({Step.CATEGORY}),
    "dist": frozenset({Step.DISTRICT}),
    "done": frozenset({Step.PHOTOS}),
    "nophoto": frozenset({Step.PHOTOS}),
    "phdel": frozenset({Step.PHOTOS}),
    "nophotook": frozenset({Step.PHOTOS}),
    "anon": frozenset({Step.IDENTITY}),
    "real": frozenset({Step.IDENTITY}),
    "dup": frozenset({Step.DUPLICATES}),
    "dupnew": frozenset({Step.DUPLICATES}),
    "confirm": frozenset({Step.SUMMARY}),
    "edit": frozenset({Step.SUMMARY}),
    "sum": frozenset({Step.SUMMARY}),
    "editf": frozenset({Step.SUMMARY}),
    "cancel": None,
    "resume": None,
    "restart": None,
}


# Refusals -----------------------------------------------------------------------------------


class EarlierButton(ShaoziError):
    """A button of the current draft, but of a step it has left."""

    message = N_("That button is from an earlier message. Please use the latest one.")

    def __init__(self, draft: ReportDraft) -> None:
        super().__init__()
        self.draft = draft


class AlreadyFiled(ShaoziError):
    message = N_("This report is already filed as {number}.")


class WrongKind(ShaoziError):
    """A message the step does not take (a sticker, a photo before the photo step …)."""

    message = N_("I cannot use that in a report.")

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind


class ChooseWithButtons(ShaoziError):
    message = N_("Please choose with the buttons.")


class OutsideDistricts(ShaoziError):
    message = N_("📍 Place noted, but it is outside the districts I know.")


class PhotosFull(ShaoziError):
    message = N_("This report has {maximum} photos already, the most it can have.")


class NotOwnPhone(ShaoziError):
    message = N_("Please share your own phone number, or type it.")


class NoPhotoYet(ShaoziError):
    message = N_("Send a photo first, or choose to go on without one.")


# Outcomes -----------------------------------------------------------------------------------

PhotoSource = Callable[[], Awaitable[bytes]]


@dataclass(frozen=True)
class Sent:
    """A message sent at a step, as plain values.

    ``kind`` is what the channel saw ("text", "location", "photo", "image", "contact", "voice",
    …); ``photo`` fetches the picture's bytes, called only when the step takes one.
    """

    message_id: int
    kind: str
    text: str | None = None
    point: tuple[float, float] | None = None  # latitude, longitude
    address: str | None = None  # of a shared place (venue)
    phone: str | None = None  # of a shared contact
    phone_owner: int | None = None  # the user the shared contact belongs to
    photo: PhotoSource | None = None


class EditNotTaken(ShaoziError):
    message = N_(
        "I do not take edited messages. Please send it again (in a report, ✏️ Edit on the "
        "summary changes any answer)."
    )


class Noted(StrEnum):
    """What a message was taken as, when the user is told."""

    PLACE = "place"  # an address: the district is asked next
    PLACE_OUTSIDE = "place_outside"  # a point outside the city's districts: the district next
    DISTRICT = "district"  # the place with its district
    SAME_PHOTO = "same_photo"  # a photo the report has already
    LAST_PHOTO = "last_photo"  # the photo that fills the report: on to the next step
    PHONE = "phone"
    DESCRIPTION_EDITED = "description_edited"  # an edit of the message that gave it
    ADDRESS_EDITED = "address_edited"


@dataclass(frozen=True)
class Taken:
    noted: Noted | None = None
    found: list[Duplicate] | None = None  # similar open cases, when the step moved on to them


# The order of the steps -----------------------------------------------------------------------


def after(step: Step, data: DraftData) -> Step:
    """The step that follows ``step`` once it is complete."""
    order = {
        Step.SCOPE: Step.CATEGORY,
        Step.CATEGORY: Step.LOCATION,
        Step.LOCATION: Step.DESCRIPTION,
        Step.DISTRICT: Step.DESCRIPTION,
        Step.DESCRIPTION: Step.PHOTOS,
        Step.PHOTOS: Step.LEVEL if data.self_report else Step.IDENTITY,
        Step.IDENTITY: Step.SUMMARY,
        Step.NAME: Step.PHONE,
        Step.PHONE: Step.SUMMARY,
        Step.LEVEL: Step.PROPOSAL,
        Step.PROPOSAL: Step.PLAN if data.level == "major" else Step.SUMMARY,
        Step.PLAN: Step.SUMMARY,
        Step.DUPLICATES: Step.SUMMARY,
    }
    following = order.get(step, Step.SUMMARY)
    # An edit from the summary goes back there once its own step (with sub-steps) is done.
    if data.editing and STEP_NUMBER[following] != STEP_NUMBER[step]:
        return Step.SUMMARY
    return following


async def save(services: Services, draft: ReportDraft, message_id: int = 0) -> None:
    await save_draft(services.db, draft, services.clock.now(), message_id)


async def advance(
    services: Services, draft: ReportDraft, done: Step, message_id: int = 0
) -> list[Duplicate]:
    """Move past a finished step and store the draft; return duplicates if any were found."""
    step = after(done, draft.data)
    found: list[Duplicate] = []
    if step is Step.SUMMARY and not draft.data.duplicates_dismissed:
        found = await find_duplicates(services.db, services.city, draft.data, services.clock.now())
        if found:
            step = Step.DUPLICATES
    if step is Step.SUMMARY:
        draft.data.editing = False
        draft.data.before_edit = None
    draft.step = step
    await save(services, draft, message_id)
    return found


# Starting, cancelling ---------------------------------------------------------------------------


async def current_draft(services: Services, user_id: int) -> ReportDraft | None:
    """The user's report in progress; one left untouched too long is dropped."""
    limits = services.city.limits
    return await load_draft(services.db, user_id, services.clock.now(), limits.draft_ttl_days)


async def _check_daily_limit(services: Services, user_id: int) -> None:
    zone = services.settings.zone
    await check_daily_limit(services.db, services.city, user_id, services.clock.now(), zone)


async def _start(services: Services, account: Account) -> ReportDraft:
    # An enterprise contact is first asked whether it is a self-report.
    first = Step.SCOPE if account.has(Role.ENTERPRISE) else Step.CATEGORY
    return await start_draft(services.db, account.id, services.clock.now(), first)


async def new_draft(services: Services, account: Account, message_id: int = 0) -> ReportDraft:
    """A fresh draft, if the user may still report today (else DailyLimitReached);
    ``message_id`` is the message that asked for it, so a replay of it is recognised."""
    await _check_daily_limit(services, account.id)
    draft = await _start(services, account)
    if message_id:
        await save(services, draft, message_id)
    return draft


async def start_with_photo(
    services: Services, account: Account, photo: PhotoSource, message_id: int
) -> ReportDraft:
    """A new draft holding the photo sent with no report in progress."""
    await _check_daily_limit(services, account.id)
    stored = await save_photo(services, await photo())
    draft = await _start(services, account)
    draft.data.photos.append(stored.sha256)
    await save(services, draft, message_id)
    return draft


async def restart(services: Services, account: Account) -> ReportDraft:
    """Drop the report in progress and start a new one."""
    await cancel_draft(services.db, account.id)
    return await new_draft(services, account)


async def cancel(services: Services, user_id: int) -> bool:
    """Drop the report in progress; False when there was none."""
    return await cancel_draft(services.db, user_id)


async def cancel_edit(services: Services, draft: ReportDraft) -> bool:
    """Undo a change begun from the summary and go back to it; False when none was begun."""
    before = draft.data.before_edit
    if not draft.data.editing or before is None:
        return False
    kept = draft.data.photo_status_id
    draft.data = DraftData.model_validate({**before, "photo_status_id": kept})
    draft.step = Step.SUMMARY
    await save(services, draft)
    return True


async def own_enterprises(services: Services, account: Account) -> list[tuple[int, str]]:
    """The enterprises this user is a contact of, with their names (the first step's choices)."""
    found = []
    for enterprise_id in sorted(account.enterprises()):
        enterprise = await services.db.read.enterprises.get(enterprise_id)
        if enterprise is not None:
            found.append((enterprise.id, enterprise.name))
    return found


async def duplicates_to_show(services: Services, draft: ReportDraft) -> list[Duplicate]:
    """The similar open cases of a draft at the duplicates step; when none is left (closed
    meanwhile), the draft moves on to the summary."""
    found = await find_duplicates(services.db, services.city, draft.data, services.clock.now())
    if not found:
        draft.step = Step.SUMMARY
        draft.data.editing = False
        await save(services, draft)
    return found


async def photo_status(services: Services, draft: ReportDraft, shown: int) -> int | None:
    """Record the message ``shown`` at the step; return the earlier status message to remove.

    Each photo is answered with "photo n received … Done": the answer to the photo before goes,
    so one stays, under the newest photo; and it goes too when a new message moves the report
    on (the 5th photo).
    """
    d = draft.data
    previous = d.photo_status_id
    d.photo_status_id = shown if draft.step is Step.PHOTOS and d.photos else None
    if previous == d.photo_status_id:
        return None
    await save(services, draft)
    return previous if previous is not None and previous != shown else None


async def take_edit(services: Services, draft: ReportDraft, message_id: int, text: str) -> Noted:
    """An edit of a message the report took as its description or typed address updates that
    answer (checked as when it was sent); any other edit raises EditNotTaken."""
    d = draft.data
    if message_id == d.description_message_id and d.description is not None:
        d.description = check_description(text)
        noted = Noted.DESCRIPTION_EDITED
    elif message_id == d.address_message_id and d.address is not None:
        d.address = check_address(text)
        noted = Noted.ADDRESS_EDITED
    else:
        raise EditNotTaken()
    await save(services, draft)
    return noted


# Messages at each step ------------------------------------------------------------------------


async def _location(services: Services, draft: ReportDraft, sent: Sent) -> Taken:
    d = draft.data
    if sent.text is not None:
        d.address = check_address(sent.text)
        d.address_message_id = sent.message_id
        d.latitude = d.longitude = None
        d.district = None
    else:
        assert sent.point is not None
        d.latitude, d.longitude = check_point(*sent.point)
        d.address = sent.address
        found = services.city.district_at(*sent.point)
        d.district = found.code if found else None
    d.duplicates_dismissed = False
    if d.district is None:
        draft.step = Step.DISTRICT
        await save(services, draft, sent.message_id)
        return Taken(Noted.PLACE_OUTSIDE if d.latitude is not None else Noted.PLACE)
    return Taken(Noted.DISTRICT, await advance(services, draft, Step.LOCATION, sent.message_id))


async def _district(services: Services, draft: ReportDraft, sent: Sent) -> Taken:
    """The district typed by name, or a shared location that lies in one (the address typed
    before stays)."""
    d = draft.data
    if sent.text is not None:
        district = services.city.district_named(sent.text)
        if district is None:
            raise ChooseWithButtons()
    else:
        assert sent.point is not None
        district = services.city.district_at(*check_point(*sent.point))
        if district is None:
            raise OutsideDistricts()
        d.latitude, d.longitude = sent.point
    d.district = district.code
    return Taken(Noted.DISTRICT, await advance(services, draft, Step.DISTRICT, sent.message_id))


async def _description(services: Services, draft: ReportDraft, sent: Sent) -> Taken:
    assert sent.text is not None
    draft.data.description = check_description(sent.text)
    draft.data.description_message_id = sent.message_id
    return Taken(None, await advance(services, draft, Step.DESCRIPTION, sent.message_id))


async def _photo(services: Services, draft: ReportDraft, sent: Sent) -> Taken:
    d = draft.data
    if len(d.photos) >= MAX_PHOTOS:
        raise PhotosFull(maximum=MAX_PHOTOS)
    assert sent.photo is not None
    stored = await save_photo(services, await sent.photo())
    if stored.sha256 in d.photos:
        await save(services, draft, sent.message_id)
        return Taken(Noted.SAME_PHOTO)
    d.photos.append(stored.sha256)
    d.no_photo = False
    d.duplicates_dismissed = False
    if len(d.photos) >= MAX_PHOTOS:
        found = await advance(services, draft, Step.PHOTOS, sent.message_id)
        return Taken(Noted.LAST_PHOTO, found)
    await save(services, draft, sent.message_id)
    return Taken()


async def _name(services: Services, draft: ReportDraft, sent: Sent) -> Taken:
    assert sent.text is not None
    draft.data.name = check_name(sent.text)
    return Taken(None, await advance(services, draft, Step.NAME, sent.message_id))


async def _phone(services: Services, draft: ReportDraft, sent: Sent) -> Taken:
    if sent.phone is not None:
        if sent.phone_owner != draft.user_id:
            raise NotOwnPhone()
        phone = check_phone(sent.phone)
    else:
        assert sent.text is not None
        phone = check_phone(sent.text)
    draft.data.phone = phone
    return Taken(Noted.PHONE, await advance(services, draft, Step.PHONE, sent.message_id))


async def _proposal(services: Services, draft: ReportDraft, sent: Sent) -> Taken:
    assert sent.text is not None
    deadline = parse_deadline(services, sent.text)
    zone = services.settings.zone
    draft.data.proposed_deadline = deadline.astimezone(zone).date().isoformat()
    return Taken(None, await advance(services, draft, Step.PROPOSAL, sent.message_id))


async def _plan(services: Services, draft: ReportDraft, sent: Sent) -> Taken:
    assert sent.text is not None
    draft.data.plan = check_plan(sent.text)
    return Taken(None, await advance(services, draft, Step.PLAN, sent.message_id))


StepRule = Callable[[Services, ReportDraft, Sent], Awaitable[Taken]]

# For each step that takes a message: the kinds of message it accepts, and what it does.
STEPS: dict[Step, tuple[frozenset[str], StepRule]] = {
    Step.LOCATION: (frozenset({"location", "text"}), _location),
    Step.DISTRICT: (frozenset({"location", "text"}), _district),
    Step.DESCRIPTION: (frozenset({"text"}), _description),
    Step.PHOTOS: (frozenset({"photo", "image"}), _photo),
    Step.NAME: (frozenset({"text"}), _name),
    Step.PHONE: (frozenset({"contact", "text"}), _phone),
    Step.PROPOSAL: (frozenset({"text"}), _proposal),
    Step.PLAN: (frozenset({"text"}), _plan),
}


def accepts(step: Step) -> frozenset[str]:
    """The kinds of message ``step`` takes; none for a step answered with buttons."""
    rule = STEPS.get(step)
    return rule[0] if rule is not None else frozenset()


async def take(services: Services, draft: ReportDraft, sent: Sent) -> Taken:
    """Apply a message to the draft's step; raise WrongKind for one the step does not take."""
    if sent.message_id <= draft.last_message_id:
        # Delivered again (a restart mid-update): it is already in the draft, so only the
        # answer may be missing.
        return Taken()
    rule = STEPS.get(draft.step)
    if rule is None or sent.kind not in rule[0]:
        raise WrongKind(sent.kind)
    return await rule[1](services, draft, sent)


# Buttons --------------------------------------------------------------------------------------


async def draft_for_press(
    services: Services, user_id: int, action: str, key: str, case_id: int | None = None
) -> ReportDraft:
    """The draft a report button acts on, checked: the action is known, the button carries the
    current draft's key and belongs to its step.

    Raises StaleButton, AlreadyFiled (a second "submit": the case has its number),
    AlreadyFollowing (a second "follow it" on case ``case_id``), DraftGone, or EarlierButton
    (which carries the draft, to ask its step again).
    """
    if action not in ACTION_STEPS:
        raise StaleButton()
    draft = await current_draft(services, user_id)
    if draft is None or draft.key != key:
        if action == "confirm" and key:
            case = await services.db.read.cases.by_draft_key(key)
            if case is not None and await services.db.read.reporters.is_reporter(case.id, user_id):
                raise AlreadyFiled(number=case.number)
        if action == "dup" and case_id is not None:
            read = services.db.read.cases
            case = await read.get(case_id)
            if case is not None and await read.is_participant(case_id, user_id):
                raise AlreadyFollowing(number=case.number)
        raise DraftGone()
    steps = ACTION_STEPS[action]
    if steps is not None and draft.step not in steps:
        raise EarlierButton(draft)
    return draft


async def choose_scope(
    services: Services, account: Account, draft: ReportDraft, enterprise_id: int | None
) -> list[Duplicate]:
    """A self-report of one of the user's enterprises, or (0) a report as a citizen."""
    if enterprise_id is None or (enterprise_id != 0 and enterprise_id not in account.enterprises()):
        raise StaleButton()
    draft.data.self_report = enterprise_id != 0
    draft.data.enterprise_id = enterprise_id or None
    return await advance(services, draft, Step.SCOPE)


async def choose_level(services: Services, draft: ReportDraft, level: str) -> list[Duplicate]:
    if level not in {known.value for known in Level}:
        raise StaleButton()
    draft.data.level = level
    if level != Level.MAJOR.value:
        draft.data.plan = None
    return await advance(services, draft, Step.LEVEL)


async def choose_proposal(services: Services, draft: ReportDraft, days: str) -> list[Duplicate]:
    if days not in {str(n) for n in PROPOSAL_DAYS}:
        raise StaleButton()
    deadline = end_of_day(services, int(days))
    zone = services.settings.zone
    draft.data.proposed_deadline = deadline.astimezone(zone).date().isoformat()
    return await advance(services, draft, Step.PROPOSAL)


async def choose_category(services: Services, draft: ReportDraft, code: str) -> list[Duplicate]:
    category = services.city.category(code)
    if category is None:
        raise StaleButton()
    draft.data.category = category.code
    draft.data.duplicates_dismissed = False
    return await advance(services, draft, Step.CATEGORY)


async def choose_district(services: Services, draft: ReportDraft, code: str) -> list[Duplicate]:
    district = services.city.district(code)
    if district is None:
        raise StaleButton()
    draft.data.district = district.code
    return await advance(services, draft, Step.DISTRICT)


async def photos_done(services: Services, draft: ReportDraft) -> list[Duplicate]:
    if not draft.data.photos:
        raise NoPhotoYet()
    return await advance(services, draft, Step.PHOTOS)


def confirm_no_photo(draft: ReportDraft) -> bool:
    """Whether "No photo" asks the user to confirm; not when a photo came after the question
    (the step's question is asked again, now as "photo n received")."""
    return not draft.data.photos


async def no_photo(services: Services, draft: ReportDraft) -> list[Duplicate] | None:
    """Go on without a photo; None when a photo came after the question: it is kept."""
    if draft.data.photos:
        return None
    draft.data.no_photo = True
    return await advance(services, draft, Step.PHOTOS)


async def remove_photos(services: Services, draft: ReportDraft) -> None:
    d = draft.data
    d.photos, d.no_photo, d.duplicates_dismissed = [], False, False
    await save(services, draft)


async def anonymous(services: Services, draft: ReportDraft) -> list[Duplicate]:
    draft.data.anonymous = True
    draft.data.name = draft.data.phone = None
    return await advance(services, draft, Step.IDENTITY)


async def real_name(services: Services, draft: ReportDraft) -> None:
    draft.data.anonymous = False
    draft.step = Step.NAME
    await save(services, draft)


async def follow_duplicate(services: Services, draft: ReportDraft, case_id: int | None) -> Case:
    """Follow one of the similar cases instead of reporting; the draft is dropped."""
    found = await find_duplicates(services.db, services.city, draft.data, services.clock.now())
    # Only a case the bot itself offered may be followed: no guessing of case ids.
    if case_id is None or case_id not in {d.case.id for d in found}:
        raise StaleButton()
    return await follow_instead(
        services.db, draft.user_id, draft.key, case_id, services.clock.now()
    )


async def different(services: Services, draft: ReportDraft) -> list[Duplicate]:
    """The user's report is not one of the similar cases shown."""
    draft.data.duplicates_dismissed = True
    return await advance(services, draft, Step.DUPLICATES)


async def edit(services: Services, draft: ReportDraft, field: str) -> None:
    """Go back from the summary to the step of one field (``field`` is one of EDITABLE)."""
    try:
        step = Step(field)
    except ValueError:
        raise StaleButton() from None
    if step not in EDITABLE:
        raise StaleButton()
    d = draft.data
    d.editing = True
    d.before_edit = d.model_dump(exclude={"editing", "before_edit", "photo_status_id"})
    if step is Step.PHOTOS:
        # The photos stay: the step asks for more, or they can be removed there.
        d.duplicates_dismissed = False
    if step is Step.IDENTITY:
        d.anonymous, d.name, d.phone = None, None, None
        if d.self_report:
            d.level, d.proposed_deadline, d.plan = None, None, None
            step = Step.LEVEL
    draft.step = step
    await save(services, draft)
