"""Enterprise safety officers: /tasks, submitting the fix, asking for more time."""

from __future__ import annotations

import contextlib
import datetime as dt
import html
import math
from dataclasses import dataclass
from typing import Any

from telegram import Update
from telegram.error import BadRequest
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from bot import dates, permissions, plans, rectification
from bot.buttons import case_data
from bot.cards import Audience
from bot.errors import (
    CaseMovedOn,
    ExtensionPending,
    ExtensionTooShort,
    InputMistake,
    NotAllowed,
    ShaoziError,
)
from bot.labels import STATUS_LABELS
from bot.photos import PhotoError
from bot.reports import MAX_PHOTOS, check_plan, store_photo
from bot.tg.context import Context
from bot.tg.media import download, kind_of
from bot.vocabulary.lifecycle import Status
from bot.vocabulary.models import Case, PendingInput
from bot.vocabulary.roles import Role
from handlers import inputs
from handlers.common import answer, delete_or_unbutton
from handlers.department import (
    DIGITS,
    Pressed,
    Rows,
    cards,
    keyboard,
    paged,
    parse,
    staff_card,
)

# tk:1:PAGE turns the /tasks list to a page; tk:1:PAGE:CASE opens a case of that page, with
# a way back to it. Both re-check that the case is one of the user's enterprises'.
TASKS_PREFIX = "tk:1"
TASKS_PAGE = 10
# The answers to "drop the fix photos sent so far?": keep (continue that fix), or drop CASE COUNT
# (go on; the case and count agreed to, so a stale answer cannot drop photos sent since).
KEEP, DROP = "keep", "drop"


# /tasks ----------------------------------------------------------------------------------------


def own_enterprises(context: Context) -> list[int]:
    if not context.account.has(Role.ENTERPRISE):
        return []
    return sorted(context.account.enterprises())


def due_first(case: Case) -> tuple[bool, bool, float, int]:
    """Sort key: orders still to fix by deadline (so the overdue ones first), those without a
    deadline after them; fixes already sent, waiting for the department's check, last."""
    deadline = case.deadline.timestamp() if case.deadline is not None else 0.0
    return (case.status is not Status.ASSIGNED, case.deadline is None, deadline, case.id)


async def open_orders(context: Context, enterprises: list[int]) -> list[Case]:
    orders: list[Case] = []
    for enterprise_id in enterprises:
        orders.extend(await context.db.read.cases.open_for_enterprise(enterprise_id))
    return sorted(orders, key=due_first)


async def tasks_page(
    context: Context, enterprises: list[int], orders: list[Case], page: int
) -> tuple[str, Rows]:
    """One page of the open orders, a line and a button for each (the enterprise named only
    when the user is a contact of several)."""
    _ = context.gettext
    if not orders:
        return _("Your enterprise has no open rectification orders."), []
    now = context.clock.now()
    show = cards(context)
    names: dict[int, str] = {}
    if len(enterprises) > 1:
        for enterprise_id in enterprises:
            enterprise = await context.db.read.enterprises.get(enterprise_id)
            if enterprise is not None:
                names[enterprise_id] = enterprise.name
    pages = math.ceil(len(orders) / TASKS_PAGE)
    page = min(max(page, 0), pages - 1)
    shown = orders[page * TASKS_PAGE : (page + 1) * TASKS_PAGE]
    count = len(orders)
    lines = [
        "<b>"
        + context.ngettext(
            "{count} open rectification order:", "{count} open rectification orders:", count
        ).format(count=count)
        + "</b>"
    ]
    for case in shown:
        parts = [case.number]
        if case.enterprise_id in names:
            parts.append(html.escape(names[case.enterprise_id]))
        parts.append(html.escape(show.category(context.tr, case.category)))
        parts.append(_("Deadline: {value}").format(value=show.date(case.deadline)))
        if case.status is not Status.ASSIGNED:
            parts.append(_(STATUS_LABELS[case.status]))
        elif case.deadline is not None and case.overdue(now):
            days = max(1, math.ceil((now - case.deadline).total_seconds() / 86400))
            parts.append(
                "⏰ " + context.ngettext("{n} day overdue", "{n} days overdue", days).format(n=days)
            )
        if case.escalated_at is not None:
            parts.append(_("under supervision (挂牌督办)"))
        lines.append("• " + " · ".join(parts))
    buttons = [(case.number, f"{TASKS_PREFIX}:{page}:{case.id}") for case in shown]
    return paged(context, lines, buttons, TASKS_PREFIX, page, pages)


async def order_card(context: Context, case: Case, back: Rows) -> tuple[str, Rows]:
    """The order as its enterprise sees it, with its actions while it is to be fixed."""
    card = await staff_card(context, case, Audience.ENTERPRISE)
    rows = list(card.buttons)
    if case.status is Status.ASSIGNED:
        rows.append([(context.gettext("📷 Photos"), case_data("pho", case.id, case.version))])
    return card.text, [*rows, *back]


async def tasks(update: Update, context: Context) -> None:
    """List the open rectification orders of the user's enterprises in one message, due first;
    a single order is shown as its card at once."""
    _ = context.gettext
    enterprises = own_enterprises(context)
    if not enterprises:
        await context.bot.send_message(context.account.id, NotAllowed().render(_))
        return
    orders = await open_orders(context, enterprises)
    if len(orders) == 1:
        text, rows = await order_card(context, orders[0], [])
    else:
        text, rows = await tasks_page(context, enterprises, orders, 0)
    await context.bot.send_message(context.account.id, text, reply_markup=keyboard(rows))


async def on_tasks_page(update: Update, context: Context) -> None:
    """Show a page of /tasks, or an order opened from one, in place of the pressed message; the
    user's enterprises are read again: roles may have changed."""
    _ = context.gettext
    query = update.callback_query
    assert query is not None
    enterprises = own_enterprises(context)
    numbers = (query.data or "").split(":")[2:]
    if not enterprises or len(numbers) not in (1, 2) or not all(map(DIGITS.fullmatch, numbers)):
        await answer(update, NotAllowed().render(_), alert=True)
        return
    page = int(numbers[0])
    if len(numbers) == 2:
        case = await context.db.read.cases.get(int(numbers[1]))
        if case is None or case.enterprise_id not in enterprises:
            await answer(update, NotAllowed().render(_), alert=True)
            return
        text, rows = await order_card(context, case, [[(_("« Back"), f"{TASKS_PREFIX}:{page}")]])
    else:
        orders = await open_orders(context, enterprises)
        text, rows = await tasks_page(context, enterprises, orders, page)
    await answer(update)
    with contextlib.suppress(BadRequest):  # unchanged, or too old to edit
        await query.edit_message_text(text, reply_markup=keyboard(rows))


# Submitting the fix, asking for more time ------------------------------------------------------


@dataclass(frozen=True)
class Unsent:
    """Fix photos sent without the note yet: the one pending input per user holds them, so
    starting another input would drop them."""

    case: Case
    photos: int


async def unsent_fix(context: Context) -> Unsent | None:
    pending = await context.db.lookup.inputs.get(context.account.id)
    if pending is None or pending.kind != "fix" or not pending.data.get("photos"):
        return None
    case = await context.db.read.cases.get(pending.case_id or 0)
    return None if case is None else Unsent(case, len(pending.data["photos"]))


def agreed_drop(pressed: Pressed) -> tuple[int, int] | None:
    """The (case, photo count) a "drop the photos, go on" answer agreed to drop."""
    args = pressed.args
    if len(args) == 3 and args[0] == DROP and all(map(DIGITS.fullmatch, args[1:])):
        return int(args[1]), int(args[2])
    return None


async def ask_to_drop(context: Context, unsent: Unsent, pressed: Pressed, case: Case) -> None:
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
                case_data("fix", other.id, other.version, KEEP),
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
    pressed = parse(query.data if query else None)
    if pressed is None:
        await answer(update, _("This button is no longer valid."), alert=True)
        return
    case = await context.db.read.cases.get(pressed.case_id)
    officer_fix = (
        case is not None
        and case.handled_by_department
        and pressed.action == "fix"
        and permissions.is_case_officer(context.account, case)
    )
    if case is None or not (permissions.is_case_enterprise(context.account, case) or officer_fix):
        await answer(update, NotAllowed().render(_), alert=True)
        return
    keep = pressed.args == (KEEP,) and pressed.action == "fix"
    agreed = agreed_drop(pressed)
    if pressed.args and not keep and agreed is None:
        await answer(update, NotAllowed().render(_), alert=True)
        return
    if pressed.args and query is not None:  # an answer to "drop the photos?": settled now
        with contextlib.suppress(BadRequest):
            await query.edit_message_reply_markup(None)
    if case.status is not Status.ASSIGNED:
        moved = CaseMovedOn(status=STATUS_LABELS[case.status])
        await answer(update, moved.render(_), alert=True)
        return
    if pressed.action == "plan" and (case.plan or not plans.needs_plan(case)):
        await answer(
            update,
            _("The rectification plan of case {number} has been sent already.").format(
                number=case.number
            ),
            alert=True,
        )
        return
    if pressed.action == "ext" and case.extension_until is not None:
        date = cards(context).date(case.extension_until)
        waiting = ExtensionPending(number=case.number, date=date)
        await answer(update, waiting.render(_), alert=True)
        return
    await answer(update)
    unsent = await unsent_fix(context)
    if unsent is not None and unsent.case.id == case.id and pressed.action == "fix":
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
    if pressed.action == "plan":
        await inputs.expect(context, context.account.id, "plan", case_id=case.id)
        prompt = _(
            "A major hazard needs a rectification plan (治理方案). Type it: the goal, the "
            "measures, money and materials, who is responsible, the deadline, and how safety "
            "is kept until it is fixed."
        )
        await context.bot.send_message(
            context.account.id,
            _("Case {number}: {prompt}").format(number=case.number, prompt=prompt)
            + "\n"
            + _("(Send /cancel to give up.)"),
        )
    elif pressed.action == "fix":
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
        example = dates.end_of_day(context.services, 14)
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
    case = await context.db.read.cases.get(pending.case_id or 0)
    try:
        until = dates.parse_deadline(context.services, message.text)
        if case is not None and case.deadline is not None and until <= case.deadline:
            raise ExtensionTooShort(date=cards(context).date(case.deadline))
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
        CommandHandler("tasks", tasks, filters.ChatType.PRIVATE),
        CallbackQueryHandler(on_button, pattern=r"^cs:1:(fix|ext|plan):"),
        CallbackQueryHandler(on_tasks_page, pattern=f"^{TASKS_PREFIX}:"),
    ]
