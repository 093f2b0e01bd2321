"""/report: a citizen reports a hazard in six steps, with the draft kept in the database.

The step lives in the ``drafts`` table, not in memory: every answer is written there before the
bot replies, so a crash or restart resumes exactly where the user was. Buttons carry the draft's
key, so a button from an earlier report or step is recognised and answered, never applied.

The rules (what each step takes, which step follows, what each button does) are the core's, in
``bot/report_flow.py``; here a message or a press becomes plain values, and the outcome becomes
the prompts and keyboards the user sees.
"""

from __future__ import annotations

import datetime as dt
import html
import logging
from collections.abc import Awaitable, Callable
from functools import partial

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
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot import report_flow
from bot.buttons import Pressed, Space, decode, encode, pattern
from bot.city import Category, District
from bot.errors import ShaoziError
from bot.labels import LEVEL_LABELS, STATUS_LABELS
from bot.photos import NotAnImage
from bot.report_flow import (
    EDITABLE,
    PROPOSAL_DAYS,
    EarlierButton,
    EditNotTaken,
    NoPhotoYet,
    Noted,
    Sent,
    WrongKind,
)
from bot.reports import (
    MAX_DESCRIPTION,
    MAX_PHOTOS,
    MIN_DESCRIPTION,
    STEP_NUMBER,
    TOTAL_STEPS,
    AlreadyFollowing,
    DraftData,
    DraftGone,
    Duplicate,
    ReportDraft,
    Step,
    submit,
)
from bot.tg.context import Context
from bot.tg.media import download, kind_of
from bot.vocabulary.lifecycle import Level
from handlers import common, inputs
from handlers.common import answer, delete_or_unbutton, unbutton

log = logging.getLogger(__name__)


def button(label: str, action: str, key: str = "", arg: str = "") -> InlineKeyboardButton:
    data = encode(Space.REPORT, action, *(part for part in (key, arg) if part))
    return InlineKeyboardButton(label, callback_data=data)


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
            for eid, name in await report_flow.own_enterprises(context.services, context.account)
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
        row = [
            button(context.ngettext("{n} day", "{n} days", n).format(n=n), "prop", key, str(n))
            for n in PROPOSAL_DAYS
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
        # The similar cases may have closed meanwhile: then on to the summary.
        found = await report_flow.duplicates_to_show(context.services, draft)
        if found:
            return duplicates_prompt(context, draft, found)
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
    """One "photo n received … Done" stays, under the newest photo (see report_flow)."""
    previous = await report_flow.photo_status(context.services, draft, shown)
    if previous is not None:
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


# Starting, cancelling ------------------------------------------------------------------------


async def start_report(update: Update, context: Context) -> None:
    """Start a report, or offer to continue the one in progress."""
    _ = context.gettext
    if update.callback_query is not None:
        await answer(update)
    user_id = context.account.id
    # An answer or a reason the user began to give and left: the report is what they are
    # doing now, so its messages must not go there.
    await inputs.forget_all(context, user_id)
    draft = await report_flow.current_draft(context.services, user_id)
    command = update.message
    if draft is not None and command is not None and command.message_id <= draft.last_message_id:
        # This /report again (a restart mid-update): it began the draft, whose step is asked.
        await ask(context, draft)
        return
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
        draft = await report_flow.new_draft(
            context.services, context.account, command.message_id if command else 0
        )
    except ShaoziError as exc:
        await context.bot.send_message(user_id, exc.render(_))
        return
    await ask(context, draft)


def example_date(context: Context) -> str:
    today = context.clock.now().astimezone(context.services.settings.zone).date()
    return f"{today + dt.timedelta(days=7):%Y-%m-%d}"


async def cancel_command(update: Update, context: Context) -> None:
    """Cancel the input the bot is waiting for, else the report in progress."""
    _ = context.gettext
    if await inputs.cancel(update, context) is not None:
        await context.bot.send_message(
            context.account.id,
            _("Cancelled. Nothing was changed."),
            reply_markup=ReplyKeyboardRemove(),
        )
        return
    draft = await report_flow.current_draft(context.services, context.account.id)
    if draft is not None and await report_flow.cancel_edit(context.services, draft):
        note = _("The change was cancelled; your report is as it was.")
        await ask(context, draft, note, after_keyboard=True)
        return
    if not await report_flow.cancel(context.services, context.account.id):
        await common.cancel(update, context)
        return
    await context.bot.send_message(
        context.account.id,
        _("Your report was cancelled; nothing was sent. Send /report to start again."),
        reply_markup=ReplyKeyboardRemove(),
    )


async def ask_again(context: Context) -> None:
    """Ask the step of the report in progress again (after the user changed language)."""
    draft = await report_flow.current_draft(context.services, context.account.id)
    if draft is not None:
        await ask(context, draft)


# Messages at each step ---------------------------------------------------------------------


def as_sent(message: Message) -> Sent:
    """The message as the step machine takes it."""
    kind = kind_of(message)
    venue, contact = message.venue, message.contact
    location = venue.location if venue else message.location
    return Sent(
        message.message_id,
        kind,
        text=message.text,
        point=(location.latitude, location.longitude) if location else None,
        address=venue.address if venue else None,
        phone=contact.phone_number if contact else None,
        phone_owner=contact.user_id if contact else None,
        photo=partial(download, message) if kind in ("photo", "image") else None,
    )


def wrong_kind_note(context: Context, kind: str, step: Step, draft: ReportDraft) -> str:
    """Explain why this message does not fit the step; the step's prompt follows."""
    _ = context.gettext
    if kind == "sticker":
        return _("Stickers cannot be part of a report.")
    typed = "text" in report_flow.accepts(step)
    if kind == "voice":
        if step is Step.PHOTOS:
            return _("I cannot use voice messages; please send a photo, or choose below.")
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


def noted_text(context: Context, noted: Noted | None, draft: ReportDraft) -> str | None:
    """What to tell the user about the message the step took."""
    _ = context.gettext
    if noted is Noted.PLACE:
        return _("📍 Place noted.")
    if noted is Noted.PLACE_OUTSIDE:
        return _("📍 Place noted, but it is outside the districts I know.")
    if noted is Noted.DISTRICT:
        return _("📍 Place noted: {district}.").format(
            district=html.escape(district_name(context, draft.data.district))
        )
    if noted is Noted.SAME_PHOTO:
        return _("You sent this photo already.")
    if noted is Noted.LAST_PHOTO:
        return _("That makes {maximum} photos, the most a report can have.").format(
            maximum=MAX_PHOTOS
        )
    if noted is Noted.PHONE:
        return _("📱 Phone number noted.")
    if noted is Noted.DESCRIPTION_EDITED:
        return _("✏️ The description now reads as you edited it.")
    if noted is Noted.ADDRESS_EDITED:
        return _("✏️ The address now reads as you edited it.")
    return None


async def on_edited(update: Update, context: Context) -> None:
    """Take the edit of a message the report used as an answer; say so of any other edit."""
    _ = context.gettext
    message = update.edited_message
    assert message is not None
    draft = None
    if context.has_account:
        draft = await report_flow.current_draft(context.services, context.account.id)
    try:
        if draft is None or message.text is None:
            raise EditNotTaken()
        noted = await report_flow.take_edit(
            context.services, draft, message.message_id, message.text
        )
    except ShaoziError as exc:
        await message.reply_text(html.escape(exc.render(_)))
        return
    await ask(context, draft, noted_text(context, noted, draft))


async def on_message(update: Update, context: Context) -> bool:
    """Take a message for the user's draft; False when they have none."""
    if not context.has_account:
        return False
    message = update.effective_message
    if message is None:
        return False
    draft = await report_flow.current_draft(context.services, context.account.id)
    if draft is None:
        return False
    asked = draft.step
    _ = context.gettext
    try:
        taken = await report_flow.take(context.services, draft, as_sent(message))
    except WrongKind as exc:
        await ask(context, draft, wrong_kind_note(context, exc.kind, draft.step, draft))
        return True
    except DraftGone as exc:
        await context.bot.send_message(draft.user_id, exc.render(_))
        return True
    except ShaoziError as exc:
        await ask(context, draft, exc.render(_))
        return True
    note = noted_text(context, taken.noted, draft)
    # The location and phone steps show a reply keyboard, which a note must take away.
    after_keyboard = asked in (Step.LOCATION, Step.PHONE)
    await ask(context, draft, note, taken.found, after_keyboard=after_keyboard)
    return True


async def on_first_photo(update: Update, context: Context) -> bool:
    """A photo sent with no report in progress starts one, with the photo in it: it is what
    someone in the street sends first. False for any other message."""
    message = update.effective_message
    if not context.has_account or message is None or kind_of(message) not in ("photo", "image"):
        return False
    _ = context.gettext
    try:
        draft = await report_flow.start_with_photo(
            context.services, context.account, partial(download, message), message.message_id
        )
    except ShaoziError as exc:
        await message.reply_text(exc.render(_))
        return True
    await ask(context, draft, _("📸 I kept your photo for a new report. A few questions:"))
    return True


# Buttons ---------------------------------------------------------------------------------


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
    press = decode(query.data) or Pressed(Space.REPORT, "", ())
    # rep:1:ACTION:KEY:ARG, KEY naming the draft the button was made for.
    action, key = press.action, press.text(0)
    if action == "start":
        await start_report(update, context)
        return
    try:
        draft = await report_flow.draft_for_press(
            context.services, context.account.id, action, key, press.number(1)
        )
    except EarlierButton as exc:
        await answer(update, exc.render(_), alert=True)
        await ask(context, exc.draft)
        return
    except ShaoziError as exc:
        await answer(update, exc.render(_), alert=True)
        return
    await answer(update)
    try:
        await BUTTON_ACTIONS[action](update, context, draft, press)
    except (DraftGone, AlreadyFollowing) as exc:  # no draft any more: nothing to ask again
        await context.bot.send_message(draft.user_id, exc.render(_))
    except ShaoziError as exc:
        await ask(context, draft, exc.render(_))


async def choose_scope(
    update: Update, context: Context, draft: ReportDraft, press: Pressed
) -> None:
    services, account = context.services, context.account
    found = await report_flow.choose_scope(services, account, draft, press.number(1))
    await clear_buttons(update)
    await ask(context, draft, None, found)


async def choose_level(
    update: Update, context: Context, draft: ReportDraft, press: Pressed
) -> None:
    found = await report_flow.choose_level(context.services, draft, press.text(1))
    await clear_buttons(update)
    await ask(context, draft, None, found)


async def choose_proposal(
    update: Update, context: Context, draft: ReportDraft, press: Pressed
) -> None:
    found = await report_flow.choose_proposal(context.services, draft, press.text(1))
    await clear_buttons(update)
    await ask(context, draft, None, found)


async def choose_category(
    update: Update, context: Context, draft: ReportDraft, press: Pressed
) -> None:
    _ = context.gettext
    found = await report_flow.choose_category(context.services, draft, press.text(1))
    await clear_buttons(update)
    name = category_name(context, draft.data.category)
    await ask(context, draft, _("Category: {value}").format(value=html.escape(name)), found)


async def choose_district(
    update: Update, context: Context, draft: ReportDraft, press: Pressed
) -> None:
    found = await report_flow.choose_district(context.services, draft, press.text(1))
    await clear_buttons(update)
    await ask(context, draft, None, found)


async def photos_done(update: Update, context: Context, draft: ReportDraft, press: Pressed) -> None:
    _ = context.gettext
    try:
        found = await report_flow.photos_done(context.services, draft)
    except NoPhotoYet as exc:
        await ask(context, draft, exc.render(_), replace=pressed(update))
        return
    await ask(context, draft, None, found, replace=pressed(update))


async def no_photo(update: Update, context: Context, draft: ReportDraft, press: Pressed) -> None:
    _ = context.gettext
    if not report_flow.confirm_no_photo(draft):
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


async def remove_photos(
    update: Update, context: Context, draft: ReportDraft, press: Pressed
) -> None:
    _ = context.gettext
    await report_flow.remove_photos(context.services, draft)
    await ask(context, draft, _("The photos were removed."), replace=pressed(update))


async def no_photo_ok(update: Update, context: Context, draft: ReportDraft, press: Pressed) -> None:
    # None: a photo came after the question, and is kept.
    found = await report_flow.no_photo(context.services, draft)
    await ask(context, draft, None, found, replace=pressed(update))


async def anonymous(update: Update, context: Context, draft: ReportDraft, press: Pressed) -> None:
    _ = context.gettext
    found = await report_flow.anonymous(context.services, draft)
    await ask(context, draft, _("You will report anonymously."), found, replace=pressed(update))


async def real_name(update: Update, context: Context, draft: ReportDraft, press: Pressed) -> None:
    await clear_buttons(update)
    await report_flow.real_name(context.services, draft)
    await ask(context, draft)


async def follow_duplicate(
    update: Update, context: Context, draft: ReportDraft, press: Pressed
) -> None:
    _ = context.gettext
    case = await report_flow.follow_duplicate(context.services, draft, press.number(1))
    await clear_buttons(update)
    await context.bot.send_message(
        draft.user_id,
        _(
            "Thank you. You now follow case {number} and will get its updates; "
            "your own draft was discarded. See /my."
        ).format(number=case.number),
        reply_markup=ReplyKeyboardRemove(),
    )


async def different(update: Update, context: Context, draft: ReportDraft, press: Pressed) -> None:
    found = await report_flow.different(context.services, draft)
    await ask(context, draft, None, found, replace=pressed(update))


async def confirm(update: Update, context: Context, draft: ReportDraft, press: Pressed) -> None:
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


async def edit_menu(update: Update, context: Context, draft: ReportDraft, press: Pressed) -> None:
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


async def back_to_summary(
    update: Update, context: Context, draft: ReportDraft, press: Pressed
) -> None:
    await ask(context, draft, replace=pressed(update))


async def edit_field(update: Update, context: Context, draft: ReportDraft, press: Pressed) -> None:
    await report_flow.edit(context.services, draft, press.text(1))
    await clear_buttons(update)
    await ask(context, draft)


async def cancel_button(
    update: Update, context: Context, draft: ReportDraft, press: Pressed
) -> None:
    _ = context.gettext
    await clear_buttons(update)
    await report_flow.cancel(context.services, draft.user_id)
    await context.bot.send_message(
        draft.user_id,
        _("Your report was cancelled; nothing was sent. Send /report to start again."),
        reply_markup=ReplyKeyboardRemove(),
    )


async def resume(update: Update, context: Context, draft: ReportDraft, press: Pressed) -> None:
    await clear_buttons(update)
    await ask(context, draft)


async def restart(update: Update, context: Context, draft: ReportDraft, press: Pressed) -> None:
    _ = context.gettext
    await clear_buttons(update)
    try:
        fresh = await report_flow.restart(context.services, context.account)
    except ShaoziError as exc:
        await context.bot.send_message(draft.user_id, exc.render(_))
        return
    await ask(context, fresh)


ButtonAction = Callable[[Update, Context, ReportDraft, Pressed], Awaitable[None]]
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
# Every button the step machine knows is answered here, and no other.
assert BUTTON_ACTIONS.keys() == report_flow.ACTION_STEPS.keys()


def handlers() -> list[BaseHandler[Update, Context, object]]:
    private = filters.ChatType.PRIVATE
    return [
        # An edit is never taken as a new message (PTB hands edits to message handlers too).
        MessageHandler(filters.UpdateType.EDITED_MESSAGE & private, on_edited),
        CommandHandler("report", start_report, private),
        CommandHandler("cancel", cancel_command, private),
        CallbackQueryHandler(on_button, pattern=pattern(Space.REPORT)),
    ]
