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
import math
import re
import shutil
import tempfile
from pathlib import Path

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatAction
from telegram.error import BadRequest
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from bot import charts, ledger, stats
from bot.buttons import case_data
from bot.cards import Cards
from bot.errors import InputMistake, NotAllowed
from bot.tg.context import Context
from handlers.common import answer
from storage.stats import LedgerReader

PREFIX = "ov:1"
PAGE = 8
DIGITS = re.compile(r"[0-9]{1,18}")  # not str.isdigit(): it accepts "²", which int() refuses
# Telegram lets a bot upload documents up to 50 MB.
MAX_DOCUMENT = 50 * 1024 * 1024


def cards(context: Context) -> Cards:
    return Cards(context.city, context.services.settings.zone)


async def refuse(context: Context) -> None:
    await context.bot.send_message(context.account.id, NotAllowed().render(context.gettext))


def period_of(context: Context) -> stats.Period:
    """The period named after the command (stats.default_days when none); raises when
    unreadable."""
    text = " ".join(context.args or []) or None
    return stats.parse_period(text, context.clock.now(), context.services.settings.zone)


# /stats --------------------------------------------------------------------------------------


async def stats_command(update: Update, context: Context) -> None:
    """Send the period's figures in the reader's scope, then the chart."""
    _ = context.gettext
    scope = stats.scope_of(context.account)
    if scope is None:
        await refuse(context)
        return
    try:
        period = period_of(context)
    except InputMistake as exc:
        await context.bot.send_message(context.account.id, exc.render(_))
        return
    figures = await stats.compute(context.services, scope, period)
    show = cards(context)
    await context.bot.send_message(context.account.id, stats.render_text(context.tr, show, figures))
    chart = stats.chart(context.tr, show, figures)
    if chart is None:
        return
    png = await asyncio.to_thread(charts.render, chart)
    await context.bot.send_photo(context.account.id, png)


# /overdue ------------------------------------------------------------------------------------


Keyboard = list[list[InlineKeyboardButton]]


async def overdue_page(context: Context, scope: stats.Scope, page: int) -> tuple[str, Keyboard]:
    """The text and buttons of one page of the overdue list."""
    _ = context.gettext
    now = context.clock.now()
    read = context.db.read.stats
    total = await read.overdue_count(now, scope.departments)
    if total == 0:
        return _("No case is overdue. Well done!"), []
    pages = math.ceil(total / PAGE)
    page = min(max(page, 0), pages - 1)
    cases = await read.overdue(now, scope.departments, PAGE, page * PAGE)
    show = cards(context)
    lines = [
        "⏰ <b>"
        + context.ngettext("{count} case is overdue", "{count} cases are overdue", total).format(
            count=stats.Numbers(context.tr).count(total)
        )
        + "</b>"
        + (" · " + _("page {page} of {pages}").format(page=page + 1, pages=pages))
    ]
    rows: Keyboard = []
    for case in cases:
        assert case.deadline is not None
        days = max(1, math.ceil((now - case.deadline).total_seconds() / 86400))
        overdue = context.ngettext("{n} day overdue", "{n} days overdue", days).format(n=days)
        parts = [
            case.number,
            html.escape(show.department(context.tr, case.department)),
            html.escape(show.category(context.tr, case.category)),
            overdue,
        ]
        if case.escalated_at is not None:
            parts.append(_("under supervision (挂牌督办)"))
        lines.append("• " + " · ".join(parts))
        label = f"{case.number} · {overdue}"
        opened = case_data("open", case.id, case.version, "ov", page)
        rows.append([InlineKeyboardButton(label, callback_data=opened)])
    turn = []
    if page > 0:
        turn.append(InlineKeyboardButton(_("‹ Previous"), callback_data=f"{PREFIX}:{page - 1}"))
    if page < pages - 1:
        turn.append(InlineKeyboardButton(_("Next ›"), callback_data=f"{PREFIX}:{page + 1}"))
    if turn:
        rows.append(turn)
    return "\n".join(lines), rows


async def overdue_command(update: Update, context: Context) -> None:
    """List the open cases past their deadline in the reader's scope, longest overdue first."""
    scope = stats.scope_of(context.account)
    if scope is None:
        await refuse(context)
        return
    text, rows = await overdue_page(context, scope, 0)
    markup = InlineKeyboardMarkup(rows) if rows else None
    await context.bot.send_message(context.account.id, text, reply_markup=markup)


async def on_page(update: Update, context: Context) -> None:
    """Show a page of the overdue list in place of the pressed message (a page, or a case card
    opened from one); the scope is checked again: roles may have changed."""
    query = update.callback_query
    assert query is not None
    scope = stats.scope_of(context.account)
    parts = (query.data or "").split(":")
    if scope is None or len(parts) != 3 or not DIGITS.fullmatch(parts[2]):
        await answer(update, NotAllowed().render(context.gettext), alert=True)
        return
    text, rows = await overdue_page(context, scope, int(parts[2]))
    await answer(update)
    with contextlib.suppress(BadRequest):  # unchanged, or too old to edit
        await query.edit_message_text(text, reply_markup=InlineKeyboardMarkup(rows))


# /export -------------------------------------------------------------------------------------


def export_files(
    root: Path, reader: LedgerReader, book: ledger.Ledger, scope: stats.Scope, period: stats.Period
) -> tuple[Path, Path, int]:
    """Write the ledger into a fresh folder under ``root`` (blocking: a worker thread)."""
    root.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(dir=root))
    csv_path = folder / f"hazard-ledger-{period.slug}.csv"
    xlsx_path = folder / f"hazard-ledger-{period.slug}.xlsx"
    rows = reader.rows(period.start, period.end, scope.departments)
    try:
        count = ledger.write(book, rows, csv_path, xlsx_path)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return csv_path, xlsx_path, count


async def export_command(update: Update, context: Context) -> None:
    """Send the hazard ledger of a period as XLSX and CSV documents."""
    _ = context.gettext
    scope = stats.scope_of(context.account, officers=False)
    if scope is None:
        await refuse(context)
        return
    try:
        period = period_of(context)
    except InputMistake as exc:
        await context.bot.send_message(context.account.id, exc.render(_))
        return
    # A year of a large city takes a while: show that something is coming.
    await context.bot.send_chat_action(context.account.id, ChatAction.UPLOAD_DOCUMENT)
    root = context.services.settings.data_dir / "exports"
    reader = LedgerReader(context.db.path)
    book = ledger.Ledger(context.tr, cards(context), context.clock.now())
    csv_path, xlsx_path, count = await asyncio.to_thread(
        export_files, root, reader, book, scope, period
    )
    try:
        if count == 0:
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
            count,
        ).format(period=period.label, count=count)
        for path in (xlsx_path, csv_path):
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
        await asyncio.to_thread(shutil.rmtree, csv_path.parent, ignore_errors=True)


def handlers() -> list[BaseHandler[Update, Context, object]]:
    private = filters.ChatType.PRIVATE
    return [
        CommandHandler("stats", stats_command, private),
        CommandHandler("overdue", overdue_command, private),
        CommandHandler("export", export_command, private),
        CallbackQueryHandler(on_page, pattern=f"^{PREFIX}:"),
    ]
