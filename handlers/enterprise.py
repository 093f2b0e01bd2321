"""Enterprise safety officers: /tasks, submitting the fix, asking for more time."""

from __future__ import annotations

import datetime as dt
from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from bot import workflow
from bot.cards import Audience
from bot.context import Context
from bot.errors import InputMistake, NotAllowed
from bot.lifecycle import STATUS_LABELS, Status
from bot.photos import PhotoError
from bot.reports import MAX_PHOTOS, store_photo
from bot.roles import Role
from handlers import inputs
from handlers.common import answer, delete_or_unbutton
from handlers.department import cards, keyboard, parse, staff_card
from handlers.report import download, kind_of
from storage.models import Case, PendingInput


async def tasks(update: Update, context: Context) -> None:
    """List the open rectification orders of the user's enterprises."""
    _ = context.gettext
    enterprises = sorted(context.account.enterprises())
    if not context.account.has(Role.ENTERPRISE) or not enterprises:
        await context.bot.send_message(context.account.id, NotAllowed().render(_))
        return
    orders: list[Case] = []
    for enterprise_id in enterprises:
        orders.extend(await context.db.read.cases.open_for_enterprise(enterprise_id))
    if not orders:
        await context.bot.send_message(
            context.account.id, _("Your enterprise has no open rectification orders.")
        )
        return
    await context.bot.send_message(
        context.account.id,
        context.ngettext(
            "{count} open rectification order:", "{count} open rectification orders:", len(orders)
        ).format(count=len(orders)),
    )
    for case in orders:
        card = await staff_card(context, case, Audience.ENTERPRISE)
        await context.bot.send_message(
            context.account.id, card.text, reply_markup=keyboard(card.buttons)
        )


async def on_button(update: Update, context: Context) -> None:
    """Start submitting a fix or asking for more time, after checking the case is theirs."""
    _ = context.gettext
    pressed = parse(update.callback_query.data if update.callback_query else None)
    if pressed is None:
        await answer(update, _("This button is no longer valid."), alert=True)
        return
    case = await context.db.read.cases.get(pressed.case_id)
    officer_fix = (
        case is not None
        and case.handled_by_department
        and pressed.action == "fix"
        and workflow.is_case_officer(context.account, case)
    )
    if case is None or not (workflow.is_case_enterprise(context.account, case) or officer_fix):
        await answer(update, NotAllowed().render(_), alert=True)
        return
    if case.status is not Status.ASSIGNED:
        moved = workflow.CaseMovedOn(status=STATUS_LABELS[case.status])
        await answer(update, moved.render(_), alert=True)
        return
    await answer(update)
    if pressed.action == "fix":
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
        # The example must pass typed_extension_date: after the deadline and after today.
        example = workflow.end_of_day(context.services, 14)
        if case.deadline is not None:
            example = max(example, case.deadline + dt.timedelta(days=14))
        await context.bot.send_message(
            context.account.id,
            _(
                "Case {number}: the deadline is {date}. Until which date do you need? "
                "Type it, like {example}."
            ).format(
                number=case.number,
                date=cards(context).date(case.deadline),
                example=cards(context).date(example),
            )
            + "\n"
            + _("(Send /cancel to give up.)"),
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
            raw = await download(context, message)
            stored = await store_photo(
                context.db, context.services.settings.photos_dir, raw, context.clock.now()
            )
        except PhotoError as exc:
            await message.reply_text(exc.render(_))
            return
        if stored.sha256 not in photos:
            photos.append(stored.sha256)
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
        lambda: workflow.submit_fix(
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
    case = await context.db.read.cases.get(pending.case_id or 0)
    try:
        until = workflow.parse_deadline(context.services, message.text)
        if case is not None and case.deadline is not None and until <= case.deadline:
            raise workflow.ExtensionTooShort(date=cards(context).date(case.deadline))
    except InputMistake as exc:
        await message.reply_text(exc.render(_))
        return
    await inputs.expect(
        context,
        context.account.id,
        "extension_reason",
        case_id=pending.case_id,
        data={"until": until.isoformat()},
    )
    await message.reply_text(_("Why do you need more time? The department will decide."))


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
        lambda: workflow.request_extension(
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
        CommandHandler("tasks", tasks, filters.ChatType.PRIVATE),
        CallbackQueryHandler(on_button, pattern=r"^cs:1:(fix|ext):"),
    ]
