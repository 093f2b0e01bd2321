"""/broadcast: an admin's warning to subscribers — text or photo, audience, preview, confirm.

Every step re-checks that the user is an admin and that the draft is theirs and unsent, so a
forged or replayed button does nothing but say so.
"""

from __future__ import annotations

import re

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from bot import broadcasts
from bot.errors import NotAllowed, ShaoziError
from bot.reports import store_photo
from bot.tg import delivery
from bot.tg.context import Context
from bot.tg.media import download, kind_of
from bot.vocabulary.models import PendingInput
from bot.vocabulary.roles import Role
from handlers import inputs
from handlers.common import answer, refused
from storage.broadcasts import Broadcast

PREFIX = "bc:1"
BUTTON = re.compile(rf"^{PREFIX}:(aud|ok|no):(\d{{1,12}})(?::([a-z][a-z0-9_]{{0,31}}|\*))?$")
ALL = "*"


def keyboard(rows: list[list[tuple[str, str]]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=data) for label, data in row] for row in rows]
    )


async def start_broadcast(update: Update, context: Context) -> None:
    """Ask the admin for the warning's text or photo."""
    if await refused(update, context):
        return
    _ = context.gettext
    await inputs.expect(context, context.account.id, "broadcast")
    await context.bot.send_message(
        context.account.id,
        _(
            "Send the warning for subscribers: a text, or a photo with the text as its caption. "
            "You will choose who gets it and see a preview before anything is sent."
        )
        + "\n"
        + _("(Send /cancel to give up.)"),
    )


@inputs.handles("broadcast")
async def typed_broadcast(update: Update, context: Context, pending: PendingInput) -> None:
    """Keep the warning as a draft and ask who should get it."""
    _ = context.gettext
    message = update.effective_message
    assert message is not None
    if not context.account.has(Role.ADMIN):  # the role was taken away meanwhile
        await inputs.done(context, context.account.id)
        await message.reply_text(NotAllowed().render(_))
        return
    kind = kind_of(message)
    photo: str | None = None
    if kind in ("photo", "image"):
        text = message.caption
        if not (text or "").strip():
            await message.reply_text(
                _("Please send the photo again with the warning text as its caption.")
            )
            return
        try:
            broadcasts.check_text(text)
            raw = await download(message)
            stored = await store_photo(
                context.db, context.services.settings.photos_dir, raw, context.clock.now()
            )
        except ShaoziError as exc:  # a mistake or a bad image: the admin may send another
            await message.reply_text(exc.render(_) + "\n" + _("(Send /cancel to give up.)"))
            return
        photo = stored.sha256
    elif kind == "text":
        text = message.text
    else:
        await message.reply_text(broadcasts.BroadcastEmpty().render(_))
        return
    services, account = context.services, context.account
    draft = await inputs.settle(
        context, message, lambda: broadcasts.create_draft(services, account, text, photo)
    )
    if draft is not None:
        await message.reply_text(
            _("Who should get it?"), reply_markup=await audience_keyboard(context, draft)
        )


async def audience_keyboard(context: Context, draft: Broadcast) -> InlineKeyboardMarkup:
    _ = context.gettext
    counts = await context.db.read.users.subscriber_counts()
    data = f"{PREFIX}:aud:{draft.id}"
    rows = [
        [
            (
                _("📢 All subscribers ({count})").format(count=sum(counts.values())),
                f"{data}:{ALL}",
            )
        ]
    ]
    language = context.tr.language
    districts = [
        (f"📍 {d.name.get(language)} ({counts.get(d.code, 0)})", f"{data}:{d.code}")
        for d in context.city.districts
    ]
    rows += [districts[i : i + 2] for i in range(0, len(districts), 2)]
    rows.append([(_("✖ Cancel"), f"{PREFIX}:no:{draft.id}")])
    return keyboard(rows)


async def preview(update: Update, context: Context, draft: Broadcast, district: str | None) -> None:
    """Show the message exactly as subscribers will get it, then how many, Confirm / Cancel."""
    _ = context.gettext
    services, user_id = context.services, context.account.id
    await answer(update)
    message = broadcasts.broadcast_message(services, draft)(context.tr)
    root = services.settings.photos_dir
    await delivery.send_photos(context.bot, context.db, root, user_id, list(message.photos))
    await context.bot.send_message(user_id, message.text, reply_markup=keyboard(message.buttons))
    count = await broadcasts.audience_size(services, district)
    audience = broadcasts.audience_name(services, context.tr, district)
    now = context.clock.now()
    lines = [
        _("⬆️ This is the preview."),
        context.ngettext(
            "It goes to {count} subscriber ({audience}).",
            "It goes to {count} subscribers ({audience}).",
            count,
        ).format(count=count, audience=audience),
    ]
    starts = broadcasts.mass_send_time(services, now)
    if starts > now:
        lines.append(
            _("It is quiet hours now: it goes out from {time}.").format(
                time=f"{starts.astimezone(services.settings.zone):%H:%M}"
            )
        )
    aud = district or ALL
    rows = [[(_("✖ Cancel"), f"{PREFIX}:no:{draft.id}")]]
    if count:
        rows.insert(0, [(_("✅ Confirm and send"), f"{PREFIX}:ok:{draft.id}:{aud}")])
    else:
        lines.append(_("Nobody would get it: choose another audience, or cancel."))
    await context.bot.send_message(user_id, "\n".join(lines), reply_markup=keyboard(rows))


async def confirmed(
    update: Update, context: Context, broadcast_id: int, district: str | None
) -> None:
    _ = context.gettext
    services = context.services
    broadcast = await broadcasts.confirm(services, context.account, broadcast_id, district)
    await answer(update)
    audience = broadcasts.audience_name(services, context.tr, broadcast.district)
    text = context.ngettext(
        "✅ Confirmed: it is going out to {count} subscriber ({audience}). "
        "You will get a delivery report when it has gone out.",
        "✅ Confirmed: it is going out to {count} subscribers ({audience}). "
        "You will get a delivery report when it has gone out.",
        broadcast.total,
    ).format(count=broadcast.total, audience=audience)
    await edit_or_send(update, context, text)


async def cancelled(update: Update, context: Context, broadcast_id: int) -> None:
    _ = context.gettext
    await broadcasts.cancel(context.services, context.account, broadcast_id)
    await answer(update)
    await edit_or_send(update, context, _("Cancelled. Nothing was sent."))


async def edit_or_send(update: Update, context: Context, text: str) -> None:
    query = update.callback_query
    assert query is not None
    try:
        await query.edit_message_text(text)
    except BadRequest:  # the message is too old to edit
        await context.bot.send_message(context.account.id, text)


async def on_button(update: Update, context: Context) -> None:
    """Route a broadcast button, after checking who pressed it and what it names."""
    if await refused(update, context):
        return
    _ = context.gettext
    query = update.callback_query
    assert query is not None
    match = BUTTON.match(query.data or "")
    action = match.group(1) if match else None
    if match is None or (action != "no" and match.group(3) is None):
        await answer(update, NotAllowed().render(_), alert=True)
        return
    broadcast_id = int(match.group(2))
    area = match.group(3)
    district = None if area in (None, ALL) else area
    try:
        if district is not None and context.city.district(district) is None:
            raise NotAllowed()
        if action == "aud":
            draft = await broadcasts.draft_for(context.services, context.account, broadcast_id)
            await preview(update, context, draft, district)
        elif action == "ok":
            await confirmed(update, context, broadcast_id, district)
        else:
            await cancelled(update, context, broadcast_id)
    except ShaoziError as exc:
        await answer(update, exc.render(_), alert=True)


def handlers() -> list[BaseHandler[Update, Context, object]]:
    return [
        CommandHandler("broadcast", start_broadcast, filters.ChatType.PRIVATE),
        # Every broadcast button, well-formed or not: a non-admin is refused, never routed on.
        CallbackQueryHandler(on_button, pattern=f"^{PREFIX}:"),
    ]
