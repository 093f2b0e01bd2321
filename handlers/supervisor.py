"""The supervisor's desk: /stats with a chart, /overdue, and /export of the hazard ledger.

Supervisors see the whole city, or their department; officers see their department's /stats and
/overdue. /export is the supervisors' (DESIGN.md, "Commands at a glance"). A case in the overdue
list opens with the officers' "open" button (handlers/department.py), which re-checks that the
presser may see it; its "ov" argument gives the card a button back to the page (ov:1:PAGE).
"""

from __future__ import annotations

import asyncio
import contextlib
import html

from telegram import InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatAction
from telegram.error import BadRequest
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from bot import charts, identity, ledger, notices, review, stats, stats_report
from bot.buttons import Space, case_data, decode, decode_case, pattern
from bot.cards import cards
from bot.errors import NotAllowed, ShaoziError
from bot.tg.context import Context
from bot.tg.keyboards import keyboard
from bot.vocabulary.models import ReviewDecision
from handlers.common import answer
from handlers.staff import FROM_OVERDUE, Rows, identity_log, page_data, page_numbers

# Telegram lets a bot upload documents up to 50 MB.
MAX_DOCUMENT = 50 * 1024 * 1024


def period_text(context: Context) -> str | None:
    """What was typed after the command: the period (stats.default_days when nothing)."""
    return " ".join(context.args or []) or None


# /stats --------------------------------------------------------------------------------------


async def stats_command(update: Update, context: Context) -> None:
    """Send the period's figures in the reader's scope, then the chart."""
    try:
        figures = await stats.figures_for(context.services, context.account, period_text(context))
    except ShaoziError as exc:
        await context.bot.send_message(context.account.id, exc.render(context.gettext))
        return
    show = cards(context.services)
    await context.bot.send_message(
        context.account.id, stats_report.render_text(context.tr, show, figures)
    )
    chart = stats_report.chart(context.tr, show, figures)
    if chart is None:
        return
    png = await charts.png(context.services.offload, chart)
    await context.bot.send_photo(context.account.id, png)


# /identitylog -----------------------------------------------------------------------------------


async def identity_log_command(update: Update, context: Context) -> None:
    """Show who was shown a case's reporter, when and why: to its supervisors and the admins."""
    _ = context.gettext
    if not context.args:
        await context.bot.send_message(
            context.account.id, _("Send /identitylog followed by a case number.")
        )
        return
    try:
        case, reads = await identity.audit_log_of(
            context.services, context.account, " ".join(context.args)
        )
    except ShaoziError as exc:
        await context.bot.send_message(context.account.id, exc.render(_))
        return
    head = _("Case <b>{number}</b>: who was shown its reporter").format(number=case.number)
    if not case.named:
        body = _("The reporter did not give their name: nobody can be shown who it is.")
        if reads:  # a look that was logged is never left out
            body += "\n" + identity_log(context, reads)
    else:
        body = identity_log(context, reads)
    await context.bot.send_message(context.account.id, head + "\n" + body)


# /overdue ------------------------------------------------------------------------------------


async def overdue_page(context: Context, page: int) -> tuple[str, Rows]:
    """The text and buttons of one page of the overdue list (NotAllowed: no scope)."""
    _ = context.gettext
    listing = await stats.overdue_page(context.services, context.account, page)
    if listing.total == 0:
        return _("No case is overdue. Well done!"), []
    now, page, pages = listing.now, listing.page, listing.pages
    show = cards(context.services)
    lines = [
        "⏰ <b>"
        + context.ngettext(
            "{count} case is overdue", "{count} cases are overdue", listing.total
        ).format(count=stats_report.Numbers(context.tr).count(listing.total))
        + "</b>"
        + (" · " + _("page {page} of {pages}").format(page=page + 1, pages=pages))
    ]
    rows: Rows = []
    for case in listing.cases:
        assert case.deadline is not None
        days = stats.days_overdue(case.deadline, now)
        overdue = context.ngettext("{n} day overdue", "{n} days overdue", days).format(n=days)
        if case.enterprise_id is None:
            who = _("Handled by the department itself")
        else:
            who = listing.enterprises.get(case.enterprise_id, f"#{case.enterprise_id}")
        parts = [
            case.number,
            html.escape(show.department(context.tr, case.department)),
            html.escape(who),
            html.escape(show.category(context.tr, case.category)),
            overdue,
        ]
        if case.escalated_at is not None:
            parts.append(_("under supervision (挂牌督办)"))
        lines.append("• " + " · ".join(parts))
        label = f"{case.number} · {overdue}"
        rows.append([(label, case_data("open", case.id, case.version, FROM_OVERDUE, page))])
    turn = []
    if page > 0:
        turn.append((_("‹ Previous"), page_data(Space.OVERDUE, page - 1)))
    if page < pages - 1:
        turn.append((_("Next ›"), page_data(Space.OVERDUE, page + 1)))
    if turn:
        rows.append(turn)
    return "\n".join(lines), rows


async def overdue_command(update: Update, context: Context) -> None:
    """List the open cases past their deadline in the reader's scope, longest overdue first."""
    try:
        text, rows = await overdue_page(context, 0)
    except ShaoziError as exc:
        await context.bot.send_message(context.account.id, exc.render(context.gettext))
        return
    await context.bot.send_message(context.account.id, text, reply_markup=keyboard(rows))


async def on_page(update: Update, context: Context) -> None:
    """Show a page of the overdue list in place of the pressed message (a page, or a case card
    opened from one); the scope is checked again: roles may have changed."""
    query = update.callback_query
    assert query is not None
    chosen = page_numbers(query.data, Space.OVERDUE)
    try:
        if chosen is None or len(chosen) != 1:
            raise NotAllowed()
        text, rows = await overdue_page(context, chosen[0])
    except ShaoziError as exc:
        await answer(update, exc.render(context.gettext), alert=True)
        return
    await answer(update)
    with contextlib.suppress(BadRequest):  # unchanged, or too old to edit
        # An empty list takes the buttons off the page it replaces.
        markup = keyboard(rows) or InlineKeyboardMarkup([])
        await query.edit_message_text(text, reply_markup=markup)


# /export -------------------------------------------------------------------------------------


async def export_command(update: Update, context: Context) -> None:
    """Send the hazard ledger of a period as XLSX and CSV documents."""
    _ = context.gettext
    try:
        asked = stats.request(
            context.services, context.account, period_text(context), officers=False
        )
    except ShaoziError as exc:
        await context.bot.send_message(context.account.id, exc.render(_))
        return
    # A year of a large city takes a while: show that something is coming.
    await context.bot.send_chat_action(context.account.id, ChatAction.UPLOAD_DOCUMENT)
    export = await ledger.export(context.services, context.tr, asked)
    period = asked.period
    try:
        if export.count == 0:
            await context.bot.send_message(
                context.account.id,
                _("No hazard was reported in {period}: the ledger is empty.").format(
                    period=period.label
                ),
            )
            return
        caption = context.ngettext(
            "Hazard ledger (隐患台账), {period}: {count} case.",
            "Hazard ledger (隐患台账), {period}: {count} cases.",
            export.count,
        ).format(period=period.label, count=export.count)
        for path in (export.xlsx, export.csv):
            data = await asyncio.to_thread(path.read_bytes)
            if len(data) > MAX_DOCUMENT:
                await context.bot.send_message(
                    context.account.id,
                    _("The ledger is too large to send; please choose a shorter period."),
                )
                return
            await context.bot.send_document(
                context.account.id, data, filename=path.name, caption=caption
            )
    finally:
        await ledger.discard(export)


def handlers() -> list[BaseHandler[Update, Context, object]]:
    private = filters.ChatType.PRIVATE
    return [
        CommandHandler("stats", stats_command, private),
        CommandHandler("overdue", overdue_command, private),
        CommandHandler("identitylog", identity_log_command, private),
        CommandHandler("export", export_command, private),
        CallbackQueryHandler(on_page, pattern=pattern(Space.OVERDUE)),
        CallbackQueryHandler(on_review_decision, pattern=pattern(Space.REVIEW, *DECISIONS)),
    ]


# Review (复核): a reporter asked; the supervisor upholds the decision or reopens the case ---------

# rv:1:up:REVIEW and rv:1:ro:REVIEW, built in bot/case_buttons.py.
DECISIONS = {"up": ReviewDecision.UPHELD, "ro": ReviewDecision.REOPENED}


async def on_review_decision(update: Update, context: Context) -> None:
    """Uphold the department's decision or reopen the case, once; the reporter is told."""
    _ = context.gettext
    query = update.callback_query
    assert query is not None
    press = decode(query.data)
    review_id = press.number(0) if press and len(press.args) == 1 else None
    decision = DECISIONS.get(press.action) if press else None
    try:
        if review_id is None or decision is None:
            raise NotAllowed()
        decided, _case = await review.decide(context.services, context.account, review_id, decision)
    except review.ReviewDecided as exc:
        # The other supervisor was first: told so, and the card shows what was decided.
        await answer(update, exc.render(_), alert=True)
        await show_decision(update, context, exc.review.decision)
        return
    except ShaoziError as exc:
        await answer(update, exc.render(_), alert=True)
        return
    await answer(update, notices.review_decided_line(context.tr, decision))
    await show_decision(update, context, decided.decision)


async def show_decision(update: Update, context: Context, decision: ReviewDecision | None) -> None:
    """Put the decision under the review's card and take its decision buttons off."""
    query = update.callback_query
    message = query.message if query is not None else None
    if query is None or not isinstance(message, Message) or decision is None:
        return
    line = notices.review_decided_line(context.tr, decision)
    text = message.text_html
    if not text or line in (message.text or ""):
        return
    # What stays is the case's own buttons (its photos): looking needs no decision.
    rows = message.reply_markup.inline_keyboard if message.reply_markup is not None else ()
    kept = [
        [(b.text, b.callback_data) for b in row if isinstance(b.callback_data, str)] for row in rows
    ]
    kept = [[(label, data) for label, data in row if decode_case(data)] for row in kept]
    with contextlib.suppress(BadRequest):  # too old to edit
        await query.edit_message_text(
            text + "\n\n" + html.escape(line),
            reply_markup=keyboard(kept) or InlineKeyboardMarkup([]),
        )
