"""/my and /status: a reporter follows their cases. Only participants see a case here."""

from __future__ import annotations

import contextlib
import datetime as dt
import html

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from bot import questions, review, tracking, verification
from bot.buttons import Space, decode, encode, pattern
from bot.cards import MAX_TEXT, cards, visible_len
from bot.case_buttons import review_ask_buttons
from bot.errors import ShaoziError
from bot.labels import STATUS_LABELS
from bot.photos import PhotoError
from bot.reports import StaleButton, save_photo
from bot.tg.context import Context
from bot.tg.keyboards import keyboard
from bot.tg.media import download, kind_of
from bot.tracking import NOT_FIXED, PAGE_SIZE, CaseView
from bot.vocabulary.models import Case, PendingInput
from handlers import inputs
from handlers.common import answer


def local_time(context: Context, moment: dt.datetime) -> str:
    return f"{moment.astimezone(context.services.settings.zone):%Y-%m-%d %H:%M}"


def category_name(context: Context, code: str) -> str:
    category = context.city.category(code)
    return category.name.get(context.tr.language) if category else code


async def my_cases(update: Update, context: Context) -> None:
    """List the user's reports and followed cases, newest first, a page at a time."""
    _ = context.gettext
    offset, turned = 0, False
    query = update.callback_query
    if query is not None:
        # "page:N" is the menu's entry (a new list); "page:N:turn" turns the list's own page.
        press = decode(query.data)
        if press is not None:
            offset = press.number(0) or 0
            turned = press.text(1) == "turn" and query.message is not None
        await answer(update)
    user_id = context.account.id
    page = await tracking.my_cases(context.services, user_id, offset)
    if page.total == 0:
        await context.bot.send_message(
            user_id, _("You have no reports yet. Send /report to report a hazard.")
        )
        return
    offset, cases, total = page.offset, page.cases, page.total
    lines = [
        _("Your reports and followed cases ({first}–{last} of {total}):").format(
            first=offset + 1, last=offset + len(cases), total=total
        )
    ]
    rows = []
    for case in cases:
        status = _(STATUS_LABELS[case.status])
        mark = " 👁" if case.following else ""
        lines.append(
            f"• <b>{case.number}</b>{mark} · {html.escape(category_name(context, case.category))}"
            f" · {status} · {local_time(context, case.created_at)[:10]}"
        )
        data = encode(Space.TRACK, "case", case.id)
        rows.append([InlineKeyboardButton(case.number, callback_data=data)])
    nav = []
    if offset > 0:
        newer = encode(Space.TRACK, "page", max(0, offset - PAGE_SIZE), "turn")
        nav.append(InlineKeyboardButton(_("« Newer"), callback_data=newer))
    if offset + PAGE_SIZE < total:
        older = encode(Space.TRACK, "page", offset + PAGE_SIZE, "turn")
        nav.append(InlineKeyboardButton(_("Older »"), callback_data=older))
    if nav:
        rows.append(nav)
    if any(c.following for c in cases):
        lines.append("")
        lines.append(_("👁 a case you follow"))
    text, markup = "\n".join(lines), InlineKeyboardMarkup(rows)
    if query is not None and turned:
        await query.edit_message_text(text, reply_markup=markup)
    else:
        await context.bot.send_message(user_id, text, reply_markup=markup)


def not_found(context: Context, number: str) -> str:
    # The same answer for a number that does not exist and for someone else's case, so
    # nobody can learn which numbers are real.
    return context.gettext(
        "No case {number} among your reports. Check the number, or see /my."
    ).format(number=html.escape(number))


def render_case(context: Context, view: CaseView) -> str:
    """The case with its history, as its reporter or a follower may read it."""
    show = cards(context.services)
    head = show.card(
        context.tr,
        view.case,
        view.audience,
        context.clock.now(),
        photo_count=view.photo_count,
    )
    room = MAX_TEXT - visible_len(head) - 2
    history = show.timeline(context.tr, view.events, view.audience, room, viewer=context.account.id)
    return head + "\n\n" + history


async def status(update: Update, context: Context) -> None:
    """Show one of the user's cases with its history."""
    _ = context.gettext
    user_id = context.account.id
    if not context.args:
        await context.bot.send_message(
            user_id, _("Send /status followed by the case number, e.g. /status YH-20261122-0001.")
        )
        return
    number = context.args[0].strip().upper()
    view = await tracking.case_by_number(context.services, user_id, number)
    if view is None:
        await context.bot.send_message(user_id, not_found(context, number))
        return
    markup = await review_keyboard(context, view.case)
    await context.bot.send_message(user_id, render_case(context, view), reply_markup=markup)


async def show_case(update: Update, context: Context) -> None:
    """Open a case from the /my list (the button is checked like a typed number)."""
    _ = context.gettext
    query = update.callback_query
    assert query is not None
    press = decode(query.data)
    case_id = press.number(0) if press else None
    user_id = context.account.id
    view = None
    if case_id is not None:
        view = await tracking.case_by_id(context.services, user_id, case_id)
    if view is None:
        await answer(update, StaleButton().render(_), alert=True)
        return
    await answer(update)
    markup = await review_keyboard(context, view.case)
    await context.bot.send_message(user_id, render_case(context, view), reply_markup=markup)


def handlers() -> list[BaseHandler[Update, Context, object]]:
    private = filters.ChatType.PRIVATE
    return [
        CommandHandler("my", my_cases, private),
        CommandHandler("status", status, private),
        CallbackQueryHandler(my_cases, pattern=pattern(Space.TRACK, "page")),
        CallbackQueryHandler(show_case, pattern=pattern(Space.TRACK, "case")),
    ]


# The reporter's side of the loop: answers to the department, "is it really fixed?" ------------


async def on_verify(update: Update, context: Context) -> None:
    """Take the reporter's word on whether a closed case is really fixed."""
    _ = context.gettext
    query = update.callback_query
    assert query is not None
    # vf:1:ok:ID or vf:1:no:ID, built with the closing question in bot/case_buttons.py.
    press = decode(query.data)
    case_id = press.number(0) if press and len(press.args) == 1 else None
    verdict = press.action if press else ""
    try:
        if case_id is None or verdict not in ("ok", "no"):
            raise StaleButton()
        if verdict == "ok":
            case = await tracking.closed_case(context.services, context.account, case_id)
        else:
            case = await tracking.not_fixed(context.services, context.account, case_id)
    except ShaoziError as exc:
        await answer(update, exc.render(_), alert=True)
        return
    await answer(update)
    with contextlib.suppress(BadRequest):
        await query.edit_message_reply_markup(None)
    if verdict == "ok":
        await context.bot.send_message(context.account.id, _("Thank you for confirming!"))
        return
    bare = encode(Space.VERIFY, "bare", case.id)
    await context.bot.send_message(
        context.account.id,
        _(
            "Sorry to hear that. Tell me what is still wrong (a few words or a photo), "
            "or press the button to send it back as it is."
        ),
        reply_markup=InlineKeyboardMarkup(
            [[InlineKeyboardButton(_("Send it back without details"), callback_data=bare)]]
        ),
    )


async def on_bare_reopen(update: Update, context: Context) -> None:
    """Reopen without details."""
    _ = context.gettext
    query = update.callback_query
    assert query is not None
    press = decode(query.data)
    case_id = press.number(0) if press else None
    try:
        if case_id is None:
            raise StaleButton()
        pending = await tracking.owed_reopen(context.services, context.account.id, case_id)
    except ShaoziError as exc:
        await answer(update, exc.render(_), alert=True)
        return
    await answer(update)
    with contextlib.suppress(BadRequest):
        await query.edit_message_reply_markup(None)
    await reopen(update, context, pending, None, None)


async def reopen(
    update: Update,
    context: Context,
    pending: PendingInput,
    text: str | None,
    photo: str | None,
) -> None:
    _ = context.gettext
    message = update.effective_message
    assert message is not None
    case = await inputs.settle(
        context,
        message,
        lambda: verification.reopen(
            context.services, context.account, pending.case_id or 0, text, photo
        ),
        asked=pending,
    )
    if case is None:
        return
    await context.bot.send_message(
        context.account.id,
        _("Thank you. Case {number} is back with the department, marked as not fixed.").format(
            number=case.number
        ),
    )


@inputs.handles(NOT_FIXED)
async def typed_not_fixed(update: Update, context: Context, pending: PendingInput) -> None:
    """Reopen the case with the reporter's words or photo."""
    _ = context.gettext
    message = update.effective_message
    assert message is not None
    text, photo = await words_or_photo(update, context)
    if text is None and photo is None:
        return
    await reopen(update, context, pending, text, photo)


async def words_or_photo(update: Update, context: Context) -> tuple[str | None, str | None]:
    """Text, or a stored photo (with its caption), from the message; tell the user otherwise."""
    _ = context.gettext
    message = update.effective_message
    assert message is not None
    kind = kind_of(message)
    if kind == "text" and message.text:
        return message.text, None
    if kind in ("photo", "image"):
        try:
            stored = await save_photo(context.services, await download(message))
        except PhotoError as exc:
            await message.reply_text(exc.render(_))
            return None, None
        return message.caption, stored.sha256
    await message.reply_text(_("Please send a few words or a photo, or /cancel."))
    return None, None


async def on_answer_button(update: Update, context: Context) -> None:
    """Start answering the department's question."""
    _ = context.gettext
    query = update.callback_query
    assert query is not None
    try:
        question_id = answered_question(query.data)
        if question_id is None:
            raise StaleButton()
        question = await tracking.open_question(context.services, context.account, question_id)
    except ShaoziError as exc:
        await answer(update, exc.render(_), alert=True)
        return
    await answer(update)
    await inputs.expect(
        context,
        context.account.id,
        "answer",
        case_id=question.case_id,
        data={"question": question.id},
    )
    prompt = await context.bot.send_message(
        context.account.id,
        _(
            "Type your answer, send a photo, or share a location. The department will not see "
            "your account. (Send /cancel to give up.)"
        ),
    )
    await inputs.asked(context, context.account.id, "answer", prompt)


@inputs.handles("answer")
async def typed_answer(update: Update, context: Context, pending: PendingInput) -> None:
    """Relay the reporter's answer to the officer who asked."""
    await relay_answer(update, context, int(pending.data.get("question", 0)))


def answered_question(data: object) -> int | None:
    """The question an ✍️ Answer button is for: qa:1:ID, built in bot/case_buttons.py."""
    press = decode(data) if isinstance(data, str) else None
    if press is None or press.space is not Space.ANSWER or len(press.args) != 1:
        return None
    return press.number(0)


def replied_question(message: Message) -> int | None:
    """The question a message replies to: a message of ours that has its ✍️ Answer button."""
    replied = message.reply_to_message
    if replied is None or replied.from_user is None or not replied.from_user.is_bot:
        return None
    markup = replied.reply_markup
    for row in markup.inline_keyboard if markup is not None else ():
        for button in row:
            if (question_id := answered_question(button.callback_data)) is not None:
                return question_id
    return None


async def on_reply(update: Update, context: Context) -> bool:
    """A reply (Telegram's "Reply") to the department's open question is the answer, as if
    ✍️ Answer had been pressed first; False for any other message."""
    message = update.effective_message
    if not context.has_account or message is None:
        return False
    question_id = replied_question(message)
    if question_id is None:
        return False
    try:
        await tracking.open_question(context.services, context.account, question_id)
    except ShaoziError:
        return False
    owed = await inputs.owed(context, "answer")
    if owed is not None and owed.data.get("question") == question_id:
        await inputs.handle(update, context, owed)  # ✍️ Answer was pressed first: it is done
    else:
        await relay_answer(update, context, question_id)
    return True


async def relay_answer(update: Update, context: Context, question_id: int) -> None:
    _ = context.gettext
    message = update.effective_message
    assert message is not None
    location = None
    text: str | None = None
    photo: str | None = None
    if message.location is not None:
        location = (message.location.latitude, message.location.longitude)
    else:
        text, photo = await words_or_photo(update, context)
        if text is None and photo is None:
            return
    case = await inputs.settle(
        context,
        message,
        lambda: questions.answer_question(
            context.services, context.account, question_id, text, photo, location
        ),
    )
    if case is None:
        return
    await message.reply_text(
        _("Thank you. Your answer about {number} was passed on.").format(number=case.number)
    )


def reporter_handlers() -> list[BaseHandler[Update, Context, object]]:
    return [
        CallbackQueryHandler(on_bare_reopen, pattern=pattern(Space.VERIFY, "bare")),
        CallbackQueryHandler(on_verify, pattern=pattern(Space.VERIFY)),
        CallbackQueryHandler(on_answer_button, pattern=pattern(Space.ANSWER)),
        CallbackQueryHandler(on_review_button, pattern=pattern(Space.REVIEW, "ask")),
    ]


# The reporter's request for a review (复核) of a case not accepted or found not genuine ---------


async def review_keyboard(context: Context, case: Case) -> InlineKeyboardMarkup | None:
    """The button to ask for a review, on the reporter's view of a case that may have one."""
    if not await review.may_ask(context.services.db.read, context.account.id, case):
        return None
    return keyboard(review_ask_buttons(context.tr, case))


async def on_review_button(update: Update, context: Context) -> None:
    """Ask the reporter why the case should be reviewed."""
    _ = context.gettext
    query = update.callback_query
    assert query is not None
    press = decode(query.data)  # rv:1:ask:CASE, bot/case_buttons.py
    case_id = press.number(0) if press and len(press.args) == 1 else None
    try:
        if case_id is None:
            raise StaleButton()
        case = await review.start(context.services, context.account, case_id)
    except ShaoziError as exc:
        await answer(update, exc.render(_), alert=True)
        return
    await answer(update)
    asking = await context.bot.send_message(
        context.account.id,
        _(
            "Case {number}: why should a supervisor review it? Type your reason in a few words. "
            "A case is reviewed once."
        ).format(number=case.number)
        + "\n"
        + _("(Send /cancel to give up.)"),
    )
    await inputs.asked(context, context.account.id, review.REASON, asking)


@inputs.handles(review.REASON)
async def typed_review_reason(update: Update, context: Context, pending: PendingInput) -> None:
    """Send the request for a review, with the reporter's reason, to the supervisors."""
    _ = context.gettext
    message = update.effective_message
    assert message is not None
    reason = message.text
    if not reason:
        await message.reply_text(_("Please type the reason, or send /cancel."))
        return
    case = await inputs.settle(
        context,
        message,
        lambda: review.request(context.services, context.account, pending.case_id or 0, reason),
    )
    if case is not None:
        await message.reply_text(
            _(
                "Your request for a review (复核) of case {number} was sent to a supervisor. I "
                "will tell you the outcome."
            ).format(number=case.number)
        )
