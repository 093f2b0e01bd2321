"""/report: a citizen reports a hazard in six steps, with the draft kept in the database.

The step lives in the ``drafts`` table, not in memory: every answer is written there before the
bot replies, so a crash or restart resumes exactly where the user was. Buttons carry the draft's
key, so a button from an earlier report or step is recognised and answered, never applied.
"""

from __future__ import annotations

import datetime as dt
import html
import logging
from collections.abc import Awaitable, Callable

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    MaybeInaccessibleMessage,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.error import BadRequest
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from bot.city import Category, District
from bot.dates import end_of_day, parse_deadline
from bot.errors import ShaoziError
from bot.labels import LEVEL_LABELS, STATUS_LABELS
from bot.photos import NotAnImage
from bot.reports import (
    MAX_DESCRIPTION,
    MAX_PHOTOS,
    MIN_DESCRIPTION,
    STEP_NUMBER,
    TOTAL_STEPS,
    DraftData,
    DraftGone,
    Duplicate,
    ReportDraft,
    Step,
    after,
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
    start_draft,
    store_photo,
    submit,
)
from bot.tg.context import Context
from bot.tg.media import download, kind_of
from bot.vocabulary.lifecycle import Level
from bot.vocabulary.roles import Role
from handlers import common, inputs
from handlers.common import answer, delete_or_unbutton, unbutton

log = logging.getLogger(__name__)

PREFIX = "rep:1"
# Fields the summary's "edit" offers, in the order of the steps.
EDITABLE = (Step.CATEGORY, Step.LOCATION, Step.DESCRIPTION, Step.PHOTOS, Step.IDENTITY)


def data(action: str, key: str = "", arg: str = "") -> str:
    return ":".join(part for part in (PREFIX, action, key, arg) if part)


def button(label: str, action: str, key: str = "", arg: str = "") -> InlineKeyboardButton:
    return InlineKeyboardButton(label, callback_data=data(action, key, arg))


def choices(
    context: Context, action: str, key: str, items: list[Category] | list[District]
) -> InlineKeyboardMarkup:
    """Two buttons a row, one per item of the city configuration, and a cancel button."""
    _ = context.gettext
    buttons = [button(x.name.get(context.tr.language), action, key, x.code) for x in items]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    return InlineKeyboardMarkup([*rows, [button(_("✖ Cancel report"), "cancel", key)]])


# Texts shared by several steps -----------------------------------------------------------


def step_header(context: Context, step: Step) -> str:
    return context.gettext("Step {number} of {total}").format(
        number=STEP_NUMBER[step], total=TOTAL_STEPS
    )


def category_name(context: Context, code: str | None) -> str:
    category = context.city.category(code) if code else None
    return category.name.get(context.tr.language) if category else "—"


def district_name(context: Context, code: str | None) -> str:
    district = context.city.district(code) if code else None
    return district.name.get(context.tr.language) if district else "—"


def place_text(context: Context, d: DraftData) -> str:
    _ = context.gettext
    parts = []
    if d.address:
        parts.append(html.escape(d.address))
    if d.latitude is not None and d.longitude is not None:
        parts.append(_("map point {lat:.5f}, {lon:.5f}").format(lat=d.latitude, lon=d.longitude))
    if d.district:
        parts.append(html.escape(district_name(context, d.district)))
    return " · ".join(parts) or "—"


def masked_phone(phone: str) -> str:
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 8 else phone


# Prompts: what the bot says at each step ------------------------------------------------


Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove


async def prompt(context: Context, draft: ReportDraft) -> tuple[str, Markup]:
    """The text and keyboard that ask for the draft's current step."""
    _ = context.gettext
    d, key, step = draft.data, draft.key, draft.step
    head = "<b>" + step_header(context, step) + "</b> · "
    if step is Step.SCOPE:
        rows = [
            [button(_("Our enterprise: {name}").format(name=name), "scope", key, str(eid))]
            for eid, name in await own_enterprises(context)
        ]
        rows.append([button(_("Somewhere else (report as a citizen)"), "scope", key, "0")])
        return head + _(
            "Is this hazard at your own enterprise? Then it is a self-report (隐患自查自报): you "
            "propose the deadline yourself."
        ), InlineKeyboardMarkup(rows)
    if step is Step.CATEGORY:
        markup = choices(context, "cat", key, context.city.categories)
        return head + _("What kind of hazard is it?"), markup
    if step is Step.LOCATION:
        keyboard = ReplyKeyboardMarkup(
            [[KeyboardButton(_("📍 Send my current location"), request_location=True)]],
            resize_keyboard=True,
            one_time_keyboard=True,
        )
        return head + _(
            "Where is it? Press the button below to send where you are now, "
            "share another place (📎 → Location), or type the address."
        ), keyboard
    if step is Step.DISTRICT:
        markup = choices(context, "dist", key, context.city.districts)
        return head + _("Which district is it in?"), markup
    if step is Step.DESCRIPTION:
        return head + _(
            "Describe the hazard in your own words ({minimum}–{maximum} characters): "
            "what it is, where exactly, and since when."
        ).format(minimum=MIN_DESCRIPTION, maximum=MAX_DESCRIPTION), ReplyKeyboardRemove()
    if step is Step.PHOTOS:
        if d.photos:
            text = _("Photo {count} of {maximum} received. Send more, or press Done.").format(
                count=len(d.photos), maximum=MAX_PHOTOS
            )
            return head + text, InlineKeyboardMarkup(
                [
                    [button(_("✅ Done"), "done", key)],
                    [button(_("🗑 Remove these photos"), "phdel", key)],
                ]
            )
        text = _("Send up to {maximum} photos of the hazard, as photos or as image files.").format(
            maximum=MAX_PHOTOS
        )
        return head + text, InlineKeyboardMarkup([[button(_("No photo"), "nophoto", key)]])
    if step is Step.IDENTITY:
        return head + _(
            "Report anonymously, or with your real name? Your name and phone are never shown "
            "to the enterprise. A reward can be paid to anonymous reporters only with the "
            "claim code you will be given."
        ), InlineKeyboardMarkup(
            [[button(_("🙈 Anonymous"), "anon", key), button(_("🪪 Real name"), "real", key)]]
        )
    if step is Step.NAME:
        return head + _("Please type your full name."), ReplyKeyboardRemove()
    if step is Step.LEVEL:
        return head + _("How serious is it?"), InlineKeyboardMarkup(
            [
                [button(_("General hazard (一般隐患)"), "lvl", key, Level.GENERAL.value)],
                [button(_("Major hazard (重大隐患)"), "lvl", key, Level.MAJOR.value)],
            ]
        )
    if step is Step.PROPOSAL:
        days = (3, 7, 15, 30)
        row = [
            button(context.ngettext("{n} day", "{n} days", n).format(n=n), "prop", key, str(n))
            for n in days
        ]
        return head + _(
            "By when will your enterprise have fixed it? Choose, or type a date like {example}."
        ).format(example=example_date(context)), InlineKeyboardMarkup([row])
    if step is Step.PLAN:
        return head + _(
            "A major hazard needs a rectification plan (治理方案). Type it: the goal, the "
            "measures, money and materials, who is responsible, the deadline, and how safety "
            "is kept until it is fixed."
        ), ReplyKeyboardRemove()
    if step is Step.PHONE:
        keyboard = ReplyKeyboardMarkup(
            [[KeyboardButton(_("📱 Share my phone number"), request_contact=True)]],
            resize_keyboard=True,
            one_time_keyboard=True,
        )
        return head + _("Your phone number: press the button, or type it."), keyboard
    if step is Step.DUPLICATES:
        found = await find_duplicates(context.db, context.city, d, context.clock.now())
        if found:
            return duplicates_prompt(context, draft, found)
        # The similar cases were closed meanwhile: on to the summary, whose buttons need it.
        draft.step = Step.SUMMARY
        d.editing = False
        await save(context, draft)
    return summary(context, draft)


def summary(context: Context, draft: ReportDraft) -> tuple[str, Markup]:
    _ = context.gettext
    d, key = draft.data, draft.key
    if d.self_report:
        identity = _("self-report of your enterprise, {level}, to be fixed by {date}").format(
            level=_(LEVEL_LABELS[Level(d.level or Level.GENERAL.value)]),
            date=d.proposed_deadline or "—",
        )
        if d.plan:
            identity += "\n" + _("Rectification plan: {value}").format(value=html.escape(d.plan))
    elif d.anonymous:
        identity = _("anonymous")
    else:
        identity = _("real name: {name}, {phone}").format(
            name=html.escape(d.name or ""), phone=masked_phone(d.phone or "")
        )
    photos = str(len(d.photos)) if d.photos else _("none")
    lines = [
        "<b>" + step_header(context, Step.SUMMARY) + "</b> · " + _("Please check your report."),
        "",
        _("Category: {value}").format(value=html.escape(category_name(context, d.category))),
        _("Place: {value}").format(value=place_text(context, d)),
        _("Description: {value}").format(value=html.escape(d.description or "")),
        _("Photos: {value}").format(value=photos),
        _("Identity: {value}").format(value=identity),
    ]
    keyboard = InlineKeyboardMarkup(
        [
            [button(_("✅ Submit"), "confirm", key)],
            [button(_("✏️ Edit"), "edit", key), button(_("✖ Cancel report"), "cancel", key)],
        ]
    )
    return "\n".join(lines), keyboard


def duplicates_prompt(
    context: Context, draft: ReportDraft, found: list[Duplicate]
) -> tuple[str, Markup]:
    _ = context.gettext
    lines = [
        "<b>"
        + step_header(context, Step.DUPLICATES)
        + "</b> · "
        + _("These open cases look like yours:")
    ]
    rows = []
    for duplicate in found:
        case = duplicate.case
        details = [_(STATUS_LABELS[case.status])]
        if duplicate.distance_m is not None:
            details.append(_("{meters} m away").format(meters=round(duplicate.distance_m)))
        if duplicate.same_photo:
            details.append(_("similar photo"))
        # The brackets and the comma between details are the language's own (（，） in Chinese).
        lines.append(
            "• "
            + _("{number} ({details})").format(number=case.number, details=_(", ").join(details))
        )
        label = _("Same as {number}: follow it").format(number=case.number)
        rows.append([button(label, "dup", draft.key, str(case.id))])
    lines.append("")
    lines.append(
        _(
            "If one of them is the same hazard, follow it instead: you will get its updates. "
            "Otherwise, go on with your own report."
        )
    )
    rows.append([button(_("Mine is different"), "dupnew", draft.key)])
    return "\n".join(lines), InlineKeyboardMarkup(rows)


# Sending ----------------------------------------------------------------------------------


async def ask(
    context: Context,
    draft: ReportDraft,
    note: str | None = None,
    found: list[Duplicate] | None = None,
    *,
    after_keyboard: bool = False,
    replace: MaybeInaccessibleMessage | None = None,
) -> None:
    """Send the prompt of the draft's current step, after an optional note.

    ``replace`` is the message whose button was pressed: a prompt with buttons takes its place
    (one message that moves on, instead of a trail of spent questions); any other prompt comes
    as a new message and the pressed one loses its buttons.
    """
    if found and draft.step is Step.DUPLICATES:
        text, markup = duplicates_prompt(context, draft, found)
    else:
        text, markup = await prompt(context, draft)
    if note and after_keyboard and isinstance(markup, InlineKeyboardMarkup):
        # The step before showed a reply keyboard (location, phone) and this prompt has buttons:
        # a separate note takes the keyboard away, since a message carries only one keyboard.
        await context.bot.send_message(draft.user_id, note, reply_markup=ReplyKeyboardRemove())
    elif note:
        text = note + "\n\n" + text
    shown = await show(context, draft.user_id, text, markup, replace)
    await keep_one_photo_status(context, draft, shown)


async def show(
    context: Context,
    user_id: int,
    text: str,
    markup: Markup,
    replace: MaybeInaccessibleMessage | None = None,
) -> int:
    """Send ``text``; with buttons and ``replace`` (the pressed message), edit that instead.

    Returns the id of the message that now shows ``text``.
    """
    if replace is not None:
        if isinstance(markup, InlineKeyboardMarkup) and await edit_in_place(
            context, replace, text, markup
        ):
            return replace.message_id
        await remove_buttons(replace)
    sent = await context.bot.send_message(user_id, text, reply_markup=markup)
    return sent.message_id


async def keep_one_photo_status(context: Context, draft: ReportDraft, shown: int) -> None:
    """Each photo is answered with "photo n received … Done": the answer to the photo before
    is deleted, so one stays, under the newest photo; and it goes too when a new message moves
    the report on (the 5th photo)."""
    d = draft.data
    previous = d.photo_status_id
    d.photo_status_id = shown if draft.step is Step.PHOTOS and d.photos else None
    if previous == d.photo_status_id:
        return
    await save(context, draft)
    if previous is not None and previous != shown:
        await delete_or_unbutton(context.bot, draft.user_id, previous)


async def edit_in_place(
    context: Context,
    message: MaybeInaccessibleMessage,
    text: str,
    markup: InlineKeyboardMarkup | None,
) -> bool:
    """Turn ``message`` into ``text``; False when Telegram will not (too old, a photo …)."""
    try:
        await context.bot.edit_message_text(
            text, chat_id=message.chat.id, message_id=message.message_id, reply_markup=markup
        )
    except BadRequest as exc:
        log.info("could not edit message %s in place: %s", message.message_id, exc.message)
        return False
    return True


async def advance(
    context: Context, draft: ReportDraft, done: Step, message_id: int = 0
) -> list[Duplicate]:
    """Move past a finished step and store the draft; return duplicates if any were found."""
    step = after(done, draft.data)
    found: list[Duplicate] = []
    if step is Step.SUMMARY and not draft.data.duplicates_dismissed:
        found = await find_duplicates(context.db, context.city, draft.data, context.clock.now())
        if found:
            step = Step.DUPLICATES
    if step is Step.SUMMARY:
        draft.data.editing = False
    draft.step = step
    await save_draft(context.db, draft, context.clock.now(), message_id)
    return found


async def save(context: Context, draft: ReportDraft, message_id: int = 0) -> None:
    await save_draft(context.db, draft, context.clock.now(), message_id)


# Starting, cancelling ------------------------------------------------------------------------


async def start_report(update: Update, context: Context) -> None:
    """Start a report, or offer to continue the one in progress."""
    _ = context.gettext
    if update.callback_query is not None:
        await answer(update)
    user_id, now = context.account.id, context.clock.now()
    # An answer or a reason the user began to give and left: the report is what they are
    # doing now, so its messages must not go there.
    await inputs.done(context, user_id)
    settings = context.services.settings
    draft = await load_draft(context.db, user_id, now, context.city.limits.draft_ttl_days)
    if draft is not None:
        text = _(
            "You have a report in progress (step {number} of {total}). Continue it, or start over?"
        ).format(number=STEP_NUMBER[draft.step], total=TOTAL_STEPS)
        keyboard = InlineKeyboardMarkup(
            [
                [
                    button(_("Continue"), "resume", draft.key),
                    button(_("Start over"), "restart", draft.key),
                ]
            ]
        )
        await context.bot.send_message(user_id, text, reply_markup=keyboard)
        return
    try:
        await check_daily_limit(context.db, context.city, user_id, now, settings.zone)
    except ShaoziError as exc:
        await context.bot.send_message(user_id, exc.render(_))
        return
    await ask(context, await new_draft(context))


async def own_enterprises(context: Context) -> list[tuple[int, str]]:
    """The enterprises this user is a contact of, with their names."""
    found = []
    for enterprise_id in sorted(context.account.enterprises()):
        enterprise = await context.db.read.enterprises.get(enterprise_id)
        if enterprise is not None:
            found.append((enterprise.id, enterprise.name))
    return found


async def new_draft(context: Context) -> ReportDraft:
    """A fresh draft; an enterprise contact is first asked whether it is a self-report."""
    first = Step.SCOPE if context.account.has(Role.ENTERPRISE) else Step.CATEGORY
    return await start_draft(context.db, context.account.id, context.clock.now(), first)


def example_date(context: Context) -> str:
    today = context.clock.now().astimezone(context.services.settings.zone).date()
    return f"{today + dt.timedelta(days=7):%Y-%m-%d}"


async def cancel_command(update: Update, context: Context) -> None:
    """Cancel the input the bot is waiting for, else the report in progress."""
    _ = context.gettext
    if await inputs.done(context, context.account.id):
        await context.bot.send_message(
            context.account.id,
            _("Cancelled. Nothing was changed."),
            reply_markup=ReplyKeyboardRemove(),
        )
        return
    if not await cancel_draft(context.db, context.account.id):
        await common.cancel(update, context)
        return
    await context.bot.send_message(
        context.account.id,
        _("Your report was cancelled; nothing was sent. Send /report to start again."),
        reply_markup=ReplyKeyboardRemove(),
    )


# Messages at each step ---------------------------------------------------------------------


def wrong_kind_note(context: Context, kind: str, step: Step, draft: ReportDraft) -> str:
    """Explain why this message does not fit the step; the step's prompt follows."""
    _ = context.gettext
    if kind == "sticker":
        return _("Stickers cannot be part of a report.")
    typed = "text" in STEP_HANDLERS.get(step, (frozenset(), None))[0]
    if kind == "voice":
        if not typed:
            return _("I cannot use voice messages; please choose with the buttons.")
        return _("I cannot use voice messages; please type instead.")
    if kind == "video":
        return _("Videos cannot be attached to a report; please send photos instead.")
    if kind in ("photo", "image"):
        if draft.data.photos or draft.data.no_photo:
            return _("The photo step is done. To change the photos, press ✏️ Edit on the summary.")
        return _("Photos come at step {number}; I will ask for them then.").format(
            number=STEP_NUMBER[Step.PHOTOS]
        )
    if kind == "document":
        if step is Step.PHOTOS:
            return NotAnImage().render(_)
        return _("Files cannot be used at this step.")
    if kind == "location":
        if draft.data.has_location:
            return _(
                "The place is already noted (you can change it from the summary). "
                "Here I need something else."
            )
        return _(
            "Please answer this step first; I will ask for the place at step {number}."
        ).format(number=STEP_NUMBER[Step.LOCATION])
    if kind == "contact":
        return _("I do not need a contact card at this step.")
    if kind == "text":
        return _("Please choose with the buttons.")
    return _("I cannot use that in a report.")


async def on_message(update: Update, context: Context) -> bool:
    """Take a message for the user's draft; False when they have none."""
    if not context.has_account:
        return False
    message = update.effective_message
    if message is None:
        return False
    now = context.clock.now()
    draft = await load_draft(
        context.db, context.account.id, now, context.city.limits.draft_ttl_days
    )
    if draft is None:
        return False
    if message.message_id <= draft.last_message_id:
        # Telegram delivered this message again (a restart mid-update): it is already in the
        # draft, so only the answer may be missing.
        await ask(context, draft)
        return True
    kind = kind_of(message)
    asked = draft.step
    accepted, handler = STEP_HANDLERS.get(draft.step, (frozenset(), None))
    _ = context.gettext
    try:
        if handler is None or kind not in accepted:
            await ask(context, draft, wrong_kind_note(context, kind, draft.step, draft))
            return True
        note, found = await handler(context, draft, message)
    except DraftGone as exc:
        await context.bot.send_message(draft.user_id, exc.render(_))
        return True
    except ShaoziError as exc:
        await ask(context, draft, exc.render(_))
        return True
    await ask(context, draft, note, found, after_keyboard=asked in (Step.LOCATION, Step.PHONE))
    return True


async def on_first_photo(update: Update, context: Context) -> bool:
    """A photo sent with no report in progress starts one, with the photo in it: it is what
    someone in the street sends first. False for any other message."""
    message = update.effective_message
    if not context.has_account or message is None or kind_of(message) not in ("photo", "image"):
        return False
    _ = context.gettext
    now, settings = context.clock.now(), context.services.settings
    try:
        await check_daily_limit(context.db, context.city, context.account.id, now, settings.zone)
        raw = await download(message)
        stored = await store_photo(context.db, settings.photos_dir, raw, now)
    except ShaoziError as exc:
        await message.reply_text(exc.render(_))
        return True
    draft = await new_draft(context)
    draft.data.photos.append(stored.sha256)
    await save(context, draft, message.message_id)
    await ask(context, draft, _("📸 I kept your photo for a new report. A few questions:"))
    return True


StepResult = tuple[str | None, list[Duplicate] | None]


async def on_location(context: Context, draft: ReportDraft, message: Message) -> StepResult:
    _ = context.gettext
    d = draft.data
    if message.text is not None:
        d.address = check_address(message.text)
        d.latitude = d.longitude = None
        d.district = None
    else:
        location = message.venue.location if message.venue else message.location
        assert location is not None
        d.latitude, d.longitude = location.latitude, location.longitude
        d.address = message.venue.address if message.venue else None
        found = context.city.district_at(location.latitude, location.longitude)
        d.district = found.code if found else None
    d.duplicates_dismissed = False
    if d.district is None:
        draft.step = Step.DISTRICT
        await save(context, draft, message.message_id)
        note = _("📍 Place noted.")
        if d.latitude is not None:
            note = _("📍 Place noted, but it is outside the districts I know.")
        return note, None
    found_dups = await advance(context, draft, Step.LOCATION, message.message_id)
    return _("📍 Place noted: {district}.").format(
        district=html.escape(district_name(context, d.district))
    ), found_dups


async def on_district(context: Context, draft: ReportDraft, message: Message) -> StepResult:
    """The district typed by name, or a shared location that lies in one (the address typed
    before stays)."""
    _ = context.gettext
    d = draft.data
    if message.text is not None:
        district = context.city.district_named(message.text)
        if district is None:
            return _("Please choose with the buttons."), None
    else:
        location = message.venue.location if message.venue else message.location
        assert location is not None
        district = context.city.district_at(location.latitude, location.longitude)
        if district is None:
            return _("📍 Place noted, but it is outside the districts I know."), None
        d.latitude, d.longitude = location.latitude, location.longitude
    d.district = district.code
    found = await advance(context, draft, Step.DISTRICT, message.message_id)
    return _("📍 Place noted: {district}.").format(
        district=html.escape(district_name(context, d.district))
    ), found


async def on_description(context: Context, draft: ReportDraft, message: Message) -> StepResult:
    assert message.text is not None
    draft.data.description = check_description(message.text)
    return None, await advance(context, draft, Step.DESCRIPTION, message.message_id)


async def on_photo(context: Context, draft: ReportDraft, message: Message) -> StepResult:
    _ = context.gettext
    d = draft.data
    if len(d.photos) >= MAX_PHOTOS:
        return _("This report has {maximum} photos already, the most it can have.").format(
            maximum=MAX_PHOTOS
        ), None
    raw = await download(message)
    root = context.services.settings.photos_dir
    stored = await store_photo(context.db, root, raw, context.clock.now())
    if stored.sha256 in d.photos:
        await save(context, draft, message.message_id)
        return _("You sent this photo already."), None
    d.photos.append(stored.sha256)
    d.no_photo = False
    d.duplicates_dismissed = False
    if len(d.photos) >= MAX_PHOTOS:
        found = await advance(context, draft, Step.PHOTOS, message.message_id)
        return _("That makes {maximum} photos, the most a report can have.").format(
            maximum=MAX_PHOTOS
        ), found
    await save(context, draft, message.message_id)
    return None, None


async def on_name(context: Context, draft: ReportDraft, message: Message) -> StepResult:
    assert message.text is not None
    draft.data.name = check_name(message.text)
    return None, await advance(context, draft, Step.NAME, message.message_id)


async def on_phone(context: Context, draft: ReportDraft, message: Message) -> StepResult:
    _ = context.gettext
    if message.contact is not None:
        if message.contact.user_id != draft.user_id:
            return _("Please share your own phone number, or type it."), None
        phone = check_phone(message.contact.phone_number)
    else:
        assert message.text is not None
        phone = check_phone(message.text)
    draft.data.phone = phone
    found = await advance(context, draft, Step.PHONE, message.message_id)
    return _("📱 Phone number noted."), found


async def on_proposal(context: Context, draft: ReportDraft, message: Message) -> StepResult:
    assert message.text is not None
    deadline = parse_deadline(context.services, message.text)
    zone = context.services.settings.zone
    draft.data.proposed_deadline = deadline.astimezone(zone).date().isoformat()
    return None, await advance(context, draft, Step.PROPOSAL, message.message_id)


async def on_plan(context: Context, draft: ReportDraft, message: Message) -> StepResult:
    assert message.text is not None
    draft.data.plan = check_plan(message.text)
    return None, await advance(context, draft, Step.PLAN, message.message_id)


StepHandler = Callable[[Context, ReportDraft, Message], Awaitable[StepResult]]

# For each step that takes a message: the kinds of message it accepts, and what it does.
STEP_HANDLERS: dict[Step, tuple[frozenset[str], StepHandler]] = {
    Step.LOCATION: (frozenset({"location", "text"}), on_location),
    Step.DISTRICT: (frozenset({"location", "text"}), on_district),
    Step.DESCRIPTION: (frozenset({"text"}), on_description),
    Step.PHOTOS: (frozenset({"photo", "image"}), on_photo),
    Step.NAME: (frozenset({"text"}), on_name),
    Step.PHONE: (frozenset({"contact", "text"}), on_phone),
    Step.PROPOSAL: (frozenset({"text"}), on_proposal),
    Step.PLAN: (frozenset({"text"}), on_plan),
}


# Buttons ---------------------------------------------------------------------------------

# The steps at which each button means something; pressed at any other step it is stale.
BUTTON_STEPS: dict[str, frozenset[Step] | None] = {
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
    "cancel": None,  # at any step
    "resume": None,
    "restart": None,
}


async def clear_buttons(update: Update) -> None:
    """Take the keyboard off the pressed message so it cannot be pressed again."""
    message = pressed(update)
    if message is not None:
        await remove_buttons(message)


async def remove_buttons(message: MaybeInaccessibleMessage) -> None:
    await unbutton(message.get_bot(), message.chat.id, message.message_id)


def pressed(update: Update) -> MaybeInaccessibleMessage | None:
    """The message whose button was pressed."""
    return update.callback_query.message if update.callback_query is not None else None


async def on_button(update: Update, context: Context) -> None:
    """Apply a report button after checking it belongs to the user's current draft and step."""
    _ = context.gettext
    query = update.callback_query
    assert query is not None
    assert query.data is not None
    parts = query.data.split(":")
    action = parts[2] if len(parts) > 2 else ""
    key = parts[3] if len(parts) > 3 else ""
    arg = parts[4] if len(parts) > 4 else ""
    if action == "start":
        await start_report(update, context)
        return
    if action not in BUTTON_STEPS:
        await answer(update, _("This button is no longer valid."), alert=True)
        return
    user_id, now = context.account.id, context.clock.now()
    draft = await load_draft(context.db, user_id, now, context.city.limits.draft_ttl_days)
    if draft is None or draft.key != key:
        await stale_draft_button(update, context, action, key)
        return
    steps = BUTTON_STEPS[action]
    if steps is not None and draft.step not in steps:
        await answer(
            update,
            _("That button is from an earlier message. Please use the latest one."),
            alert=True,
        )
        await ask(context, draft)
        return
    await answer(update)
    try:
        await BUTTON_ACTIONS[action](update, context, draft, arg)
    except DraftGone as exc:
        await context.bot.send_message(user_id, exc.render(_))
    except ShaoziError as exc:
        await ask(context, draft, exc.render(_))


async def stale_draft_button(update: Update, context: Context, action: str, key: str) -> None:
    """A button of a draft that is gone: a second "submit" still gets its case number."""
    _ = context.gettext
    query = update.callback_query
    assert query is not None
    if action == "confirm" and key:
        case = await context.db.read.cases.by_draft_key(key)
        if case is not None and case.reporter_id == context.account.id:
            await answer(
                update,
                _("This report is already filed as {number}.").format(number=case.number),
                alert=True,
            )
            return
    await answer(update, DraftGone().render(_), alert=True)


async def choose_scope(update: Update, context: Context, draft: ReportDraft, arg: str) -> None:
    _ = context.gettext
    enterprise_id = int(arg) if arg.isdigit() else -1
    if enterprise_id != 0 and enterprise_id not in context.account.enterprises():
        await ask(context, draft, _("This button is no longer valid."))
        return
    await clear_buttons(update)
    draft.data.self_report = enterprise_id != 0
    draft.data.enterprise_id = enterprise_id or None
    await ask(context, draft, None, await advance(context, draft, Step.SCOPE))


async def choose_level(update: Update, context: Context, draft: ReportDraft, arg: str) -> None:
    _ = context.gettext
    if arg not in {level.value for level in Level}:
        await ask(context, draft, _("This button is no longer valid."))
        return
    await clear_buttons(update)
    draft.data.level = arg
    if arg != Level.MAJOR.value:
        draft.data.plan = None
    await ask(context, draft, None, await advance(context, draft, Step.LEVEL))


async def choose_proposal(update: Update, context: Context, draft: ReportDraft, arg: str) -> None:
    _ = context.gettext
    if arg not in {"3", "7", "15", "30"}:
        await ask(context, draft, _("This button is no longer valid."))
        return
    await clear_buttons(update)
    deadline = end_of_day(context.services, int(arg))
    zone = context.services.settings.zone
    draft.data.proposed_deadline = deadline.astimezone(zone).date().isoformat()
    await ask(context, draft, None, await advance(context, draft, Step.PROPOSAL))


async def choose_category(update: Update, context: Context, draft: ReportDraft, arg: str) -> None:
    _ = context.gettext
    category = context.city.category(arg)
    if category is None:
        await ask(context, draft, _("This button is no longer valid."))
        return
    await clear_buttons(update)
    draft.data.category = category.code
    draft.data.duplicates_dismissed = False
    found = await advance(context, draft, Step.CATEGORY)
    note = _("Category: {value}").format(value=html.escape(category.name.get(context.tr.language)))
    await ask(context, draft, note, found)


async def choose_district(update: Update, context: Context, draft: ReportDraft, arg: str) -> None:
    _ = context.gettext
    district = context.city.district(arg)
    if district is None:
        await ask(context, draft, _("This button is no longer valid."))
        return
    await clear_buttons(update)
    draft.data.district = district.code
    found = await advance(context, draft, Step.DISTRICT)
    await ask(context, draft, None, found)


async def photos_done(update: Update, context: Context, draft: ReportDraft, arg: str) -> None:
    _ = context.gettext
    if not draft.data.photos:
        note = _("Send a photo first, or choose to go on without one.")
        await ask(context, draft, note, replace=pressed(update))
        return
    await ask(
        context, draft, None, await advance(context, draft, Step.PHOTOS), replace=pressed(update)
    )


async def no_photo(update: Update, context: Context, draft: ReportDraft, arg: str) -> None:
    _ = context.gettext
    if draft.data.photos:
        # "No photo" on the step's first question, pressed after a photo came: the question
        # becomes "photo n received, send more or Done".
        await ask(context, draft, replace=pressed(update))
        return
    keyboard = InlineKeyboardMarkup(
        [
            [button(_("Go on without a photo"), "nophotook", draft.key)],
            [button(_("I will send a photo"), "done", draft.key)],
        ]
    )
    text = _(
        "Reports with a photo are checked and handled much faster, because the department "
        "sees the hazard at once. Go on without a photo?"
    )
    await show(context, draft.user_id, text, keyboard, pressed(update))


async def remove_photos(update: Update, context: Context, draft: ReportDraft, arg: str) -> None:
    _ = context.gettext
    d = draft.data
    d.photos, d.no_photo, d.duplicates_dismissed = [], False, False
    await save(context, draft)
    await ask(context, draft, _("The photos were removed."), replace=pressed(update))


async def no_photo_ok(update: Update, context: Context, draft: ReportDraft, arg: str) -> None:
    if draft.data.photos:  # a photo came after the question: keep it
        await ask(context, draft, replace=pressed(update))
        return
    draft.data.no_photo = True
    await ask(
        context, draft, None, await advance(context, draft, Step.PHOTOS), replace=pressed(update)
    )


async def anonymous(update: Update, context: Context, draft: ReportDraft, arg: str) -> None:
    _ = context.gettext
    draft.data.anonymous = True
    draft.data.name = draft.data.phone = None
    found = await advance(context, draft, Step.IDENTITY)
    await ask(context, draft, _("You will report anonymously."), found, replace=pressed(update))


async def real_name(update: Update, context: Context, draft: ReportDraft, arg: str) -> None:
    await clear_buttons(update)
    draft.data.anonymous = False
    draft.step = Step.NAME
    await save(context, draft)
    await ask(context, draft)


async def follow_duplicate(update: Update, context: Context, draft: ReportDraft, arg: str) -> None:
    _ = context.gettext
    if not arg.isdigit():
        await ask(context, draft, _("This button is no longer valid."))
        return
    found = await find_duplicates(context.db, context.city, draft.data, context.clock.now())
    if int(arg) not in {d.case.id for d in found}:
        # Only a case the bot itself offered may be followed: no guessing of case ids.
        await ask(context, draft, _("This button is no longer valid."))
        return
    await clear_buttons(update)
    case = await follow_instead(context.db, draft.user_id, draft.key, int(arg), context.clock.now())
    await context.bot.send_message(
        draft.user_id,
        _(
            "Thank you. You now follow case {number} and will get its updates; "
            "your own draft was discarded. See /my."
        ).format(number=case.number),
        reply_markup=ReplyKeyboardRemove(),
    )


async def different(update: Update, context: Context, draft: ReportDraft, arg: str) -> None:
    draft.data.duplicates_dismissed = True
    found = await advance(context, draft, Step.DUPLICATES)
    await ask(context, draft, None, found, replace=pressed(update))


async def confirm(update: Update, context: Context, draft: ReportDraft, arg: str) -> None:
    _ = context.gettext
    result = await submit(context.services, draft.user_id, draft.key)
    case = result.case
    department = context.city.department(case.department)
    text = _(
        "Thank you! Your report is filed as <b>{number}</b> and goes to {department}. "
        "A report is usually accepted within {hours} hours; I will message you at each change. "
        "See it any time with /status {number}."
    ).format(
        number=case.number,
        department=html.escape(department.name.get(context.tr.language) if department else ""),
        hours=context.city.limits.acceptance_hours,
    )
    # The summary becomes the receipt: what was sent, and its number.
    message = pressed(update)
    receipt = summary(context, draft)[0] + "\n\n" + text
    if message is not None and await edit_in_place(context, message, receipt, None):
        return
    await clear_buttons(update)
    await context.bot.send_message(draft.user_id, text, reply_markup=ReplyKeyboardRemove())


async def edit_menu(update: Update, context: Context, draft: ReportDraft, arg: str) -> None:
    _ = context.gettext
    labels = {
        Step.CATEGORY: _("Category"),
        Step.LOCATION: _("Place"),
        Step.DESCRIPTION: _("Description"),
        Step.PHOTOS: _("Photos"),
        Step.IDENTITY: _("Identity"),
    }
    rows = [[button(labels[step], "editf", draft.key, step.value)] for step in EDITABLE]
    rows.append([button(_("« Back"), "sum", draft.key)])
    markup = InlineKeyboardMarkup(rows)
    await show(context, draft.user_id, _("What do you want to change?"), markup, pressed(update))


async def back_to_summary(update: Update, context: Context, draft: ReportDraft, arg: str) -> None:
    await ask(context, draft, replace=pressed(update))


async def edit_field(update: Update, context: Context, draft: ReportDraft, arg: str) -> None:
    _ = context.gettext
    try:
        step = Step(arg)
    except ValueError:
        step = None
    if step not in EDITABLE:
        await ask(context, draft, _("This button is no longer valid."))
        return
    assert step is not None
    await clear_buttons(update)
    d = draft.data
    d.editing = True
    if step is Step.PHOTOS:
        # The photos stay: the step asks for more, or they can be removed there.
        d.duplicates_dismissed = False
    if step is Step.IDENTITY:
        d.anonymous, d.name, d.phone = None, None, None
        if d.self_report:
            d.level, d.proposed_deadline, d.plan = None, None, None
            step = Step.LEVEL
    draft.step = step
    await save(context, draft)
    await ask(context, draft)


async def cancel_button(update: Update, context: Context, draft: ReportDraft, arg: str) -> None:
    _ = context.gettext
    await clear_buttons(update)
    await cancel_draft(context.db, draft.user_id)
    await context.bot.send_message(
        draft.user_id,
        _("Your report was cancelled; nothing was sent. Send /report to start again."),
        reply_markup=ReplyKeyboardRemove(),
    )


async def resume(update: Update, context: Context, draft: ReportDraft, arg: str) -> None:
    await clear_buttons(update)
    await ask(context, draft)


async def restart(update: Update, context: Context, draft: ReportDraft, arg: str) -> None:
    _ = context.gettext
    await clear_buttons(update)
    await cancel_draft(context.db, draft.user_id)
    settings = context.services.settings
    now = context.clock.now()
    try:
        await check_daily_limit(context.db, context.city, draft.user_id, now, settings.zone)
    except ShaoziError as exc:
        await context.bot.send_message(draft.user_id, exc.render(_))
        return
    await ask(context, await new_draft(context))


ButtonAction = Callable[[Update, Context, ReportDraft, str], Awaitable[None]]
BUTTON_ACTIONS: dict[str, ButtonAction] = {
    "scope": choose_scope,
    "lvl": choose_level,
    "prop": choose_proposal,
    "cat": choose_category,
    "dist": choose_district,
    "done": photos_done,
    "nophoto": no_photo,
    "phdel": remove_photos,
    "nophotook": no_photo_ok,
    "anon": anonymous,
    "real": real_name,
    "dup": follow_duplicate,
    "dupnew": different,
    "confirm": confirm,
    "edit": edit_menu,
    "sum": back_to_summary,
    "editf": edit_field,
    "cancel": cancel_button,
    "resume": resume,
    "restart": restart,
}


def handlers() -> list[BaseHandler[Update, Context, object]]:
    private = filters.ChatType.PRIVATE
    return [
        CommandHandler("report", start_report, private),
        CommandHandler("cancel", cancel_command, private),
        CallbackQueryHandler(on_button, pattern=f"^{PREFIX}:"),
    ]
