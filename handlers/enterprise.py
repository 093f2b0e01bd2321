"""Enterprise safety officers: /tasks, submitting the fix, asking for more time."""

from __future__ import annotations

import contextlib
import datetime as dt
import html
from typing import Any

from telegram import Update
from telegram.error import BadRequest
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from bot import case_buttons, rectification, stats, tasks
from bot.buttons import CasePress, Space, case_data, decode_case, pattern
from bot.cards import Audience, cards
from bot.errors import InputMistake, NotAllowed, ShaoziError
from bot.labels import STATUS_LABELS
from bot.photos import PhotoError
from bot.reports import MAX_PHOTOS, check_plan, save_photo
from bot.tg.context import Context
from bot.tg.keyboards import keyboard
from bot.tg.media import download, kind_of
from bot.vocabulary.lifecycle import Status
from bot.vocabulary.models import Case, PendingInput
from handlers import inputs
from handlers.common import answer, delete_or_unbutton
from handlers.staff import Rows, numbers, page_data, page_numbers, paged, staff_card

# The answers to "drop the fix photos sent so far?": keep (continue that fix), or drop CASE COUNT
# (go on; the case and count agreed to, so a stale answer cannot drop photos sent since).
KEEP, DROP = "keep", "drop"


# /tasks ----------------------------------------------------------------------------------------


def tasks_page(context: Context, orders: tasks.Orders) -> tuple[str, Rows]:
    """One page of the open orders, a line and a button for each (the enterprise named only
    when the user is a contact of several)."""
    _ = context.gettext
    if not orders.cases:
        return _("Your enterprise has no open rectification orders."), []
    now, show, page = orders.now, cards(context.services), orders.page
    count = len(orders.cases)
    lines = [
        "<b>"
        + context.ngettext(
            "{count} open rectification order:", "{count} open rectification orders:", count
        ).format(count=count)
        + "</b>"
    ]
    for case in page.items:
        parts = [case.number]
        if case.enterprise_id in orders.names:
            parts.append(html.escape(orders.names[case.enterprise_id]))
        parts.append(html.escape(show.category(context.tr, case.category)))
        parts.append(_("Deadline: {value}").format(value=show.date(case.deadline)))
        if case.status is not Status.ASSIGNED:
            parts.append(_(STATUS_LABELS[case.status]))
        elif case.deadline is not None and case.overdue(now):
            days = stats.days_overdue(case.deadline, now)
            parts.append(
                "⏰ " + context.ngettext("{n} day overdue", "{n} days overdue", days).format(n=days)
            )
        if case.escalated_at is not None:
            parts.append(_("under supervision (挂牌督办)"))
        lines.append("• " + " · ".join(parts))
    buttons = [(case.number, page_data(Space.TASKS, page.number, case.id)) for case in page.items]
    return paged(context, lines, buttons, Space.TASKS, page.number, page.pages)


async def order_card(context: Context, case: Case, back: Rows) -> tuple[str, Rows]:
    """The order as its enterprise sees it, with its actions while it is to be fixed."""
    card = await staff_card(context, case, Audience.ENTERPRISE)
    rows = list(card.buttons)
    if case.status is Status.ASSIGNED:
        rows.append([case_buttons.photos_button(context.tr, case)])
    return card.text, [*rows, *back]


async def tasks_command(update: Update, context: Context) -> None:
    """List the open rectification orders of the user's enterprises in one message, due first;
    a single order is shown as its card at once."""
    try:
        orders = await tasks.open_orders(context.services, context.account)
    except ShaoziError as exc:
        await context.bot.send_message(context.account.id, exc.render(context.gettext))
        return
    if len(orders.cases) == 1:
        text, rows = await order_card(context, orders.cases[0], [])
    else:
        text, rows = tasks_page(context, orders)
    await context.bot.send_message(context.account.id, text, reply_markup=keyboard(rows))


async def on_tasks_page(update: Update, context: Context) -> None:
    """Show a page of /tasks (tk:1:PAGE), or an order opened from one (tk:1:PAGE:CASE, with a
    way back to the page), in place of the pressed message; the user's enterprises are read
    again: roles may have changed."""
    _ = context.gettext
    query = update.callback_query
    assert query is not None
    chosen = page_numbers(query.data, Space.TASKS)
    try:
        if chosen is None or len(chosen) not in (1, 2):
            raise NotAllowed()
        page = chosen[0]
        if len(chosen) == 2:
            case = await tasks.open_order(context.services, context.account, chosen[1])
            back = [[(_("« Back"), page_data(Space.TASKS, page))]]
            text, rows = await order_card(context, case, back)
        else:
            orders = await tasks.open_orders(context.services, context.account, page)
            text, rows = tasks_page(context, orders)
    except ShaoziError as exc:
        await answer(update, exc.render(_), alert=True)
        return
    await answer(update)
    with contextlib.suppress(BadRequest):  # unchanged, or too old to edit
        await query.edit_message_text(text, reply_markup=keyboard(rows))


# Submitting the fix, asking for more time ------------------------------------------------------


def agreed_drop(args: tuple[str, ...]) -> tuple[int, int] | None:
    """The (case, photo count) a "drop the photos, go on" answer agreed to drop."""
    agreed = numbers(args[1:]) if len(args) == 3 and args[0] == DROP else None
    return (agreed[0], agreed[1]) if agreed else None


async def ask_to_drop(
    context: Context, unsent: tasks.Unsent, pressed: CasePress, case: Case
) -> None:
    """Ask before a press on another case (or for more time) drops the fix photos sent so far."""
    other = unsent.case
    count = unsent.photos
    text = context.ngettext(
        "You have sent {count} photo for the fix of case {number} but not yet the note. "
        "Going on to case {other} drops that photo.",
        "You have sent {count} photos for the fix of case {number} but not yet the note. "
        "Going on to case {other} drops those photos.",
        count,
    ).format(count=count, number=other.number, other=case.number)
    rows = [
        [
            (
                context.gettext("Continue the fix of case {number}").format(number=other.number),
                case_data(tasks.FIX, other.id, other.version, KEEP),
            )
        ],
        [
            (
                context.ngettext(
                    "Drop the photo, go on to case {number}",
                    "Drop the photos, go on to case {number}",
                    count,
                ).format(number=case.number),
                case_data(pressed.action, case.id, case.version, DROP, other.id, count),
            )
        ],
    ]
    await context.bot.send_message(context.account.id, text, reply_markup=keyboard(rows))


async def on_button(update: Update, context: Context) -> None:
    """Start submitting a fix or asking for more time, after checking the case is theirs; fix
    photos already sent are never dropped without asking."""
    _ = context.gettext
    query = update.callback_query
    pressed = decode_case(query.data if query else None)
    if pressed is None:
        await answer(update, _("This button is no longer valid."), alert=True)
        return
    try:
        case = await tasks.order_for(
            context.services, context.account, pressed.case_id, pressed.action
        )
    except ShaoziError as exc:
        await answer(update, exc.render(_), alert=True)
        return
    keep = pressed.args == (KEEP,) and pressed.action == tasks.FIX
    agreed = agreed_drop(pressed.args)
    if pressed.args and not keep and agreed is None:
        await answer(update, NotAllowed().render(_), alert=True)
        return
    if pressed.args and query is not None:  # an answer to "drop the photos?": settled now
        with contextlib.suppress(BadRequest):
            await query.edit_message_reply_markup(None)
    try:
        tasks.check_startable(context.services, case, pressed.action)
    except ShaoziError as exc:
        await answer(update, exc.render(_), alert=True)
        return
    await answer(update)
    unsent = await tasks.unsent_fix(context.services, context.account)
    if unsent is not None and unsent.case.id == case.id and pressed.action == tasks.FIX:
        # The same fix again: go on with the photos it has.
        prompt = _(
            "Photo {count} received. Send more, or type a short note of what was done."
        ).format(count=unsent.photos)
        await context.bot.send_message(
            context.account.id,
            _("Case {number}: {prompt}").format(number=case.number, prompt=prompt)
            + "\n"
            + _("(Send /cancel to give up.)"),
        )
        return
    if unsent is not None and (unsent.case.id, unsent.photos) != agreed:
        await ask_to_drop(context, unsent, pressed, case)
        return
    if pressed.action in (tasks.PLAN, tasks.MEASURES):
        kind = "plan" if pressed.action == tasks.PLAN else "measures"
        await inputs.expect(context, context.account.id, kind, case_id=case.id)
        prompt = _(
            "A major hazard needs a rectification plan (治理方案). Type it: the goal, the "
            "measures, money and materials, who is responsible, the deadline, and how safety "
            "is kept until it is fixed."
        )
        if kind == "measures":
            prompt = _(
                "A major hazard needs interim control measures (临时管控措施) until it is "
                "fixed. Type what is done now to keep people safe: the area closed off, "
                "warning signs, who watches it, what is stopped."
            )
        await context.bot.send_message(
            context.account.id,
            _("Case {number}: {prompt}").format(number=case.number, prompt=prompt)
            + "\n"
            + _("(Send /cancel to give up.)"),
        )
    elif pressed.action == tasks.FIX:
        await inputs.expect(
            context, context.account.id, "fix", case_id=case.id, data={"photos": []}
        )
        await context.bot.send_message(
            context.account.id,
            _(
                "Case {number}: send photos of the place now it is fixed (up to {maximum}), "
                "then type a short note of what was done."
            ).format(number=case.number, maximum=MAX_PHOTOS)
            + "\n"
            + _("(Send /cancel to give up.)"),
        )
    else:
        await inputs.expect(context, context.account.id, "extension_date", case_id=case.id)
        example = tasks.extension_example(context.services, case)
        asking = await context.bot.send_message(
            context.account.id,
            _(
                "Case {number}: the deadline is {date}. Until which date do you need? "
                "Type it, like {example}."
            ).format(
                number=case.number,
                date=cards(context.services).date(case.deadline),
                example=cards(context.services).date(example),
            )
            + "\n"
            + _("(Send /cancel to give up.)"),
        )
        await inputs.asked(context, context.account.id, "extension_date", asking)


@inputs.handles("plan")
async def typed_plan(update: Update, context: Context, pending: PendingInput) -> None:
    """Send the typed rectification plan of a major hazard to the department."""
    _ = context.gettext
    message = update.effective_message
    assert message is not None
    try:
        plan = check_plan(message.text or "")
    except ShaoziError as exc:  # too short or too long: the input stays open for another try
        await message.reply_text(exc.render(_) + "\n" + _("(Send /cancel to give up.)"))
        return
    case = await inputs.settle(
        context,
        message,
        lambda: rectification.submit_plan(
            context.services, context.account, pending.case_id or 0, plan
        ),
    )
    if case is not None:
        await message.reply_text(
            _(
                "Thank you. The rectification plan of case {number} was sent to the department."
            ).format(number=case.number)
        )


@inputs.handles("measures")
async def typed_measures(update: Update, context: Context, pending: PendingInput) -> None:
    """Send the typed interim control measures of a major hazard to the department."""
    _ = context.gettext
    message = update.effective_message
    assert message is not None
    case = await inputs.settle(
        context,
        message,
        lambda: rectification.submit_measures(
            context.services, context.account, pending.case_id or 0, message.text or ""
        ),
    )
    if case is not None:
        await message.reply_text(
            _(
                "Thank you. The interim control measures of case {number} were sent to the "
                "department."
            ).format(number=case.number)
        )


@inputs.handles("fix")
async def typed_fix(update: Update, context: Context, pending: PendingInput) -> None:
    """Collect the fix photos, then submit the fix with the typed note."""
    _ = context.gettext
    message = update.effective_message
    assert message is not None
    photos = list(pending.data.get("photos", []))
    kind = kind_of(message)
    if kind in ("photo", "image"):
        if len(photos) >= MAX_PHOTOS:
            await message.reply_text(
                _(
                    "That is {maximum} photos already. Now type a short note of what was done."
                ).format(maximum=MAX_PHOTOS)
            )
            return
        try:
            raw = await download(message)
            sha = (await save_photo(context.services, raw)).sha256
        except PhotoError as exc:
            await message.reply_text(exc.render(_))
            return
        if sha not in photos:
            photos.append(sha)
        # The photos are kept before the answer; then the answer to the photo before goes,
        # so one "photo n received" stays, under the newest photo.
        data: dict[str, Any] = {"photos": photos, "status": pending.data.get("status")}
        await inputs.expect(context, context.account.id, "fix", case_id=pending.case_id, data=data)
        status = await message.reply_text(
            _("Photo {count} received. Send more, or type a short note of what was done.").format(
                count=len(photos)
            )
        )
        previous, data["status"] = data["status"], status.message_id
        await inputs.expect(context, context.account.id, "fix", case_id=pending.case_id, data=data)
        if isinstance(previous, int):
            await delete_or_unbutton(context.bot, message.chat.id, previous)
        return
    if kind != "text" or not message.text:
        await message.reply_text(_("Please send photos of the fix, then type a short note."))
        return
    if not photos:
        await message.reply_text(_("Please send at least one photo of the fix first."))
        return
    note = message.text
    case = await inputs.settle(
        context,
        message,
        lambda: rectification.submit_fix(
            context.services, context.account, pending.case_id or 0, photos, note
        ),
    )
    if case is None:
        return
    await message.reply_text(
        _("Thank you. The fix of case {number} was sent to the department for checking.").format(
            number=case.number
        )
    )


@inputs.handles("extension_date")
async def typed_extension_date(update: Update, context: Context, pending: PendingInput) -> None:
    """Take the date wanted, then ask why."""
    _ = context.gettext
    message = update.effective_message
    assert message is not None
    if not message.text:
        await message.reply_text(_("Please type the date, or send /cancel."))
        return
    try:
        until = await tasks.extension_until(
            context.services, context.account, pending.case_id or 0, message.text
        )
    except InputMistake as exc:
        await message.reply_text(exc.render(_))
        return
    except ShaoziError as exc:  # not their case (any more): nothing to wait for
        await inputs.done(context, context.account.id)
        await message.reply_text(exc.render(_))
        return
    await inputs.expect(
        context,
        context.account.id,
        "extension_reason",
        case_id=pending.case_id,
        data={"until": until.isoformat()},
    )
    asking = await message.reply_text(_("Why do you need more time? The department will decide."))
    await inputs.asked(context, context.account.id, "extension_reason", asking)


@inputs.handles("extension_reason")
async def typed_extension_reason(update: Update, context: Context, pending: PendingInput) -> None:
    """Send the extension request to the department's officers."""
    _ = context.gettext
    message = update.effective_message
    assert message is not None
    if not message.text:
        await message.reply_text(_("Please type the reason, or send /cancel."))
        return
    until = dt.datetime.fromisoformat(str(pending.data["until"]))
    reason = message.text
    case = await inputs.settle(
        context,
        message,
        lambda: rectification.request_extension(
            context.services, context.account, pending.case_id or 0, until, reason
        ),
    )
    if case is None:
        return
    await message.reply_text(
        _(
            "Your request for more time on case {number} was sent. I will tell you the answer."
        ).format(number=case.number)
    )


def handlers() -> list[BaseHandler[Update, Context, object]]:
    return [
        CommandHandler("tasks", tasks_command, filters.ChatType.PRIVATE),
        CallbackQueryHandler(
            on_button,
            pattern=pattern(Space.CASE, tasks.FIX, tasks.EXTENSION, tasks.PLAN, tasks.MEASURES),
        ),
        CallbackQueryHandler(on_tasks_page, pattern=pattern(Space.TASKS)),
    ]
