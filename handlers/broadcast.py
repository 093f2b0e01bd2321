"""/broadcast: an admin's warning to subscribers — text or photo, audience, preview, confirm.

Every step re-checks that the user is an admin and that the draft is theirs and unsent, so a
forged or replayed button does nothing but say so.
"""

from __future__ import annotations

from telegram import InlineKeyboardMarkup, Update
from telegram.error import BadRequest
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from bot import broadcast_notices, broadcasts
from bot.buttons import Space, button, decode, pattern
from bot.errors import NotAllowed, ShaoziError
from bot.reports import save_photo
from bot.subscriptions import district_of
from bot.tg.context import Context
from bot.tg.keyboards import keyboard
from bot.tg.media import download, kind_of
from bot.tg.photos import send_stored
from bot.vocabulary.models import PendingInput
from handlers import inputs
from handlers.common import answer, refused

# bc:1:aud:ID:AREA previews the draft for an audience, bc:1:ok:ID:AREA sends it to that
# audience, bc:1:no:ID drops it. AREA is a district's code, or ALL (*) for every subscriber.
AUDIENCE, CONFIRM, CANCEL = "aud", "ok", "no"
ALL = "*"


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
    if await refused(update, context):  # the role was taken away meanwhile
        await inputs.done(context, context.account.id)
        return
    services, account = context.services, context.account
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
            photo = (await save_photo(services, await download(message))).sha256
        except ShaoziError as exc:  # a mistake or a bad image: the admin may send another
            await message.reply_text(exc.render(_) + "\n" + _("(Send /cancel to give up.)"))
            return
    elif kind == "text":
        text = message.text
    else:
        await message.reply_text(broadcasts.BroadcastEmpty().render(_))
        return
    draft = await inputs.settle(
        context, message, lambda: broadcasts.create_draft(services, account, text, photo)
    )
    if draft is not None:
        await message.reply_text(
            _("Who should get it?"), reply_markup=await audience_keyboard(context, draft)
        )


async def audience_keyboard(
    context: Context, draft: broadcasts.Broadcast
) -> InlineKeyboardMarkup | None:
    _ = context.gettext
    counts = await broadcasts.audience_counts(context.services)
    everyone = _("📢 All subscribers ({count})").format(count=sum(counts.values()))
    rows = [[button(everyone, Space.BROADCAST, AUDIENCE, draft.id, ALL)]]
    language = context.tr.language
    districts = [
        button(
            f"📍 {d.name.get(language)} ({counts.get(d.code, 0)})",
            Space.BROADCAST,
            AUDIENCE,
            draft.id,
            d.code,
        )
        for d in context.city.districts
    ]
    rows += [districts[i : i + 2] for i in range(0, len(districts), 2)]
    rows.append([button(_("✖ Cancel"), Space.BROADCAST, CANCEL, draft.id)])
    return keyboard(rows)


async def preview(
    update: Update, context: Context, draft: broadcasts.Broadcast, district: str | None
) -> None:
    """Show the message exactly as subscribers will get it, then how many, Confirm / Cancel."""
    _ = context.gettext
    services, user_id = context.services, context.account.id
    await answer(update)
    message = broadcast_notices.broadcast_message(services, draft)(context.tr)
    await send_stored(context.bot, services, user_id, list(message.photos))
    await context.bot.send_message(user_id, message.text, reply_markup=keyboard(message.buttons))
    count = await broadcasts.audience_size(services, district)
    audience = broadcast_notices.audience_name(services, context.tr, district)
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
    rows = [[button(_("✖ Cancel"), Space.BROADCAST, CANCEL, draft.id)]]
    if count:
        send = button(_("✅ Confirm and send"), Space.BROADCAST, CONFIRM, draft.id, district or ALL)
        rows.insert(0, [send])
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
    audience = broadcast_notices.audience_name(services, context.tr, broadcast.district)
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
    pressed = decode(query.data)
    broadcast_id = pressed.number(0) if pressed else None
    area = pressed.text(1) if pressed and len(pressed.args) == 2 else None
    if (
        pressed is None
        or pressed.action not in (AUDIENCE, CONFIRM, CANCEL)
        or broadcast_id is None
        or len(pressed.args) > 2
        or area == ""
        or (pressed.action != CANCEL and area is None)
    ):
        await answer(update, NotAllowed().render(_), alert=True)
        return
    district = None if area in (None, ALL) else area
    try:
        district_of(context.services, district)  # refuses a district the city does not have
        if pressed.action == AUDIENCE:
            draft = await broadcasts.draft_for(context.services, context.account, broadcast_id)
            await preview(update, context, draft, district)
        elif pressed.action == CONFIRM:
            await confirmed(update, context, broadcast_id, district)
        else:
            await cancelled(update, context, broadcast_id)
    except ShaoziError as exc:
        await answer(update, exc.render(_), alert=True)


def handlers() -> list[BaseHandler[Update, Context, object]]:
    return [
        CommandHandler("broadcast", start_broadcast, filters.ChatType.PRIVATE),
        # Every broadcast button, well-formed or not: a non-admin is refused, never routed on.
        CallbackQueryHandler(on_button, pattern=pattern(Space.BROADCAST)),
    ]
