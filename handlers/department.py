"""Officers: triage (accept, reject, transfer, duplicate, ask), assignment, verification.

Every button names the case and the version it was made for; the server re-checks that the
presser is an officer of the case's department and that the case has not moved on since.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import html
from collections.abc import Awaitable, Callable

from telegram import Message, Update
from telegram.error import BadRequest
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from bot import (
    assignment,
    case_buttons,
    casefile,
    dates,
    orders,
    permissions,
    questions,
    reasons,
    rectification,
    reward_notices,
    rewards,
    triage,
    verification,
)
from bot.assignment import Choice
from bot.buttons import Space, case_data, decode, decode_case, pattern
from bot.cards import COLOUR_LABELS, MAX_TEXT, REJECT_REASONS, Audience, cards, shorten
from bot.enterprises import CreditCodeError
from bot.errors import CaseLeft, CaseMoved, InputMistake, NotAllowed, NotThisStep, ShaoziError
from bot.i18n import N_
from bot.labels import LEVEL_LABELS, STATUS_LABELS
from bot.queue import queue_page
from bot.tg.context import Context
from bot.tg.delivery import fits_caption
from bot.tg.keyboards import keyboard
from bot.vocabulary.grading import Colour
from bot.vocabulary.lifecycle import Level, Status
from bot.vocabulary.models import Case, PendingInput
from handlers import inputs
from handlers.common import answer
from handlers.staff import (
    FROM_OVERDUE,
    FROM_QUEUE,
    Rows,
    numbers,
    page_data,
    page_numbers,
    paged,
    render_card,
    send_photos,
    staff_card,
)

# A card opened from a list has a button back to its page; the list's own callback re-checks
# who may read it.
RETURNS = {
    FROM_QUEUE: (Space.QUEUE, N_("« Back to the queue")),
    FROM_OVERDUE: (Space.OVERDUE, N_("« Back to the overdue list")),
}
# For what a deadline is chosen: an assignment, a handling by the department itself, the
# acknowledgement of a self-report, a returned fix.
ASSIGN, HANDLE, ACKNOWLEDGE, RETURN = "a", "h", "k", "r"


async def show_card(
    update: Update,
    context: Context,
    case: Case,
    *,
    edit: bool,
    extra: Rows | None = None,
) -> None:
    """Show the case's current card: in place of the pressed message, or as a new one."""
    card = await staff_card(context, case, permissions.audience_of(context.account, case))
    if edit and not extra:
        extra = way_back(update)  # a card opened from a list keeps its way back to it
    buttons = keyboard([*card.buttons, *(extra or [])])
    query = update.callback_query
    if edit and query is not None and query.message is not None:
        with contextlib.suppress(BadRequest):  # unchanged, or too old to edit
            if not (isinstance(query.message, Message) and query.message.photo):
                await query.edit_message_text(card.text, reply_markup=buttons)
                return
            # A notice sent as a photo with the card as its caption.
            if fits_caption(card.text):
                await query.edit_message_caption(card.text, reply_markup=buttons)
                return
            # The card outgrew a caption: it comes anew, the photo keeps no stale buttons.
            await query.edit_message_reply_markup(None)
    await context.bot.send_message(context.account.id, card.text, reply_markup=buttons)


async def choose(update: Update, text: str, rows: Rows) -> None:
    """Replace the pressed message's buttons with a choice (the card text stays above)."""
    query = update.callback_query
    assert query is not None
    await answer(update, text)
    with contextlib.suppress(BadRequest):
        await query.edit_message_reply_markup(keyboard([*rows, *way_back(update)]))


def way_back(update: Update) -> Rows:
    """The pressed message's button back to the list it was opened from (/queue, /overdue),
    kept on its next card and choices until the officer goes back."""
    query = update.callback_query
    message = query.message if query is not None else None
    markup = getattr(message, "reply_markup", None)
    for row in markup.inline_keyboard if markup is not None else ():
        for button in row:
            data = button.callback_data if isinstance(button.callback_data, str) else None
            pressed = decode(data)
            if pressed is not None and pressed.space in (Space.QUEUE, Space.OVERDUE):
                return [[(button.text, data)]] if data else []
    return []


def back(context: Context, case: Case) -> tuple[str, str]:
    return (context.gettext("« Back"), case_data("open", case.id, case.version))


# The officer's buttons ----------------------------------------------------------------------


async def on_button(update: Update, context: Context) -> None:
    """Check an officer's case button, then show the next choice or apply the action."""
    _ = context.gettext
    pressed = decode_case(update.callback_query.data if update.callback_query else None)
    if pressed is None or pressed.action not in OFFICER_ACTIONS:
        await answer(update, _("This button is no longer valid."), alert=True)
        return
    try:
        case = await casefile.pressed(
            context.services,
            context.account,
            pressed.case_id,
            pressed.version,
            viewing=pressed.action in VIEW_ACTIONS,
        )
        await OFFICER_ACTIONS[pressed.action](update, context, case, pressed.args)
    except CaseMoved as moved:
        await answer(update, moved.render(_), alert=True)
        await show_card(update, context, moved.case, edit=True)
    except ShaoziError as exc:
        await answer(update, exc.render(_), alert=True)


async def open_case(update: Update, context: Context, case: Case, args: tuple[str, ...]) -> None:
    extra: Rows = []
    if args:
        page = numbers(args[1:]) if len(args) == 2 else None
        if not page or args[0] not in RETURNS:
            raise NotAllowed()
        space, label = RETURNS[args[0]]
        extra.append([(context.gettext(label), page_data(space, page[0]))])
    await answer(update)
    await forget_fine(context, case)  # "« Back" from the closing questions
    await forget_wording(context, case)  # "« Back" from an order being prepared
    await show_card(update, context, case, edit=True, extra=extra)


async def accept(update: Update, context: Context, case: Case, args: tuple[str, ...]) -> None:
    _ = context.gettext
    colours = {c.value for c in Colour}
    if not args:
        rows = [
            [(_(COLOUR_LABELS[c]), case_data("acc", case.id, case.version, c.value))]
            for c in Colour
        ]
        await choose(update, _("Choose the risk colour."), [*rows, [back(context, case)]])
        return
    if args[0] not in colours:
        raise NotAllowed()
    if len(args) == 1:
        rows = [
            [
                (
                    _(LEVEL_LABELS[level]),
                    case_data("acc", case.id, case.version, args[0], level.value),
                )
            ]
            for level in Level
        ]
        await choose(update, _("Choose the hazard level."), [*rows, [back(context, case)]])
        return
    if args[1] not in {level.value for level in Level}:
        raise NotAllowed()
    updated = await triage.accept(
        context.services, context.account, case.id, case.version, Colour(args[0]), Level(args[1])
    )
    await answer(update, _("Accepted. Now order the fix, or handle it yourselves."))
    await show_card(update, context, updated, edit=True)


async def reject(update: Update, context: Context, case: Case, args: tuple[str, ...]) -> None:
    _ = context.gettext
    if not args:
        rows = [
            [(_(text), case_data("rej", case.id, case.version, code))]
            for code, text in REJECT_REASONS.items()
        ]
        rows.append(
            [(_("Another reason (type it)"), case_data("rej", case.id, case.version, "other"))]
        )
        await choose(update, _("Why is it not accepted?"), [*rows, [back(context, case)]])
        return
    if args[0] == "other":
        await ask_for(
            update, context, case, "reject_reason", _("Type the reason the reporter will read.")
        )
        return
    if args[0] not in REJECT_REASONS:
        raise NotAllowed()
    updated = await triage.reject(
        context.services, context.account, case.id, case.version, "@" + args[0]
    )
    await answer(update, _("Not accepted; the reporter is told why."))
    await show_card(update, context, updated, edit=True)


async def transfer(update: Update, context: Context, case: Case, args: tuple[str, ...]) -> None:
    _ = context.gettext
    if not args:
        rows = [
            [(d.name.get(context.tr.language), case_data("trf", case.id, case.version, d.code))]
            for d in context.city.departments
            if d.code != case.department
        ]
        await choose(update, _("Which department is responsible?"), [*rows, [back(context, case)]])
        return
    if context.city.department(args[0]) is None or args[0] == case.department:
        raise NotAllowed()
    await ask_for(
        update,
        context,
        case,
        "transfer_reason",
        _("Why does it go to {department}? Type a short reason.").format(
            department=html.escape(cards(context.services).department(context.tr, args[0]))
        ),
        {"department": args[0]},
    )


async def duplicate(update: Update, context: Context, case: Case, args: tuple[str, ...]) -> None:
    _ = context.gettext
    await ask_for(
        update, context, case, "merge_target", _("Type the number of the case it duplicates.")
    )


async def ask_reporter(update: Update, context: Context, case: Case, args: tuple[str, ...]) -> None:
    _ = context.gettext
    if case.self_reported:
        raise NotThisStep(status=STATUS_LABELS[case.status])
    await ask_for(
        update,
        context,
        case,
        "question",
        _(
            "Type your question for the reporter. They will not see who you are, and you "
            "will not see who they are."
        ),
    )


async def assign(update: Update, context: Context, case: Case, args: tuple[str, ...]) -> None:
    _ = context.gettext
    await ask_for(
        update,
        context,
        case,
        "enterprise_search",
        _("Which enterprise must fix it? Type a part of its name or its credit code."),
    )


async def chosen_enterprise(
    update: Update, context: Context, case: Case, args: tuple[str, ...]
) -> None:
    chosen = numbers(args[:1])
    if not chosen:
        raise NotAllowed()
    enterprise = await assignment.enterprise(context.services, chosen[0])
    await answer(update)
    await show_order(update, context, case, enterprise.id, orders.default_order(context.city, case))


async def handle(update: Update, context: Context, case: Case, args: tuple[str, ...]) -> None:
    await offer_deadlines(update, context, case, HANDLE, 0)


def deadline_label(context: Context, choice: Choice) -> str:
    return context.ngettext("{n} day, by {date}", "{n} days, by {date}", choice.days).format(
        n=choice.days, date=cards(context.services).date(choice.deadline)
    )


async def offer_deadlines(
    update: Update, context: Context, case: Case, kind: str, enterprise_id: int
) -> None:
    """Offer the colour's default deadline, two others, or a typed date."""
    _ = context.gettext
    rows = []
    for choice in assignment.deadline_choices(context.services, case):
        label = deadline_label(context, choice)
        if choice.default:
            label = "⭐ " + label
        data = case_data("dl", case.id, case.version, kind, enterprise_id, choice.days)
        rows.append([(label, data)])
    other = case_data("dlo", case.id, case.version, kind, enterprise_id)
    rows.append([(_("📅 Another date (type it)"), other)])
    await choose(update, _("By when must it be fixed?"), [*rows, [back(context, case)]])


async def deadline_chosen(
    update: Update, context: Context, case: Case, args: tuple[str, ...]
) -> None:
    chosen = numbers(args[1:]) if len(args) == 3 else None
    if not chosen:
        raise NotAllowed()
    kind, (enterprise_id, days) = args[0], chosen
    deadline = assignment.deadline_in(context.services, days)
    if kind == RETURN:
        reason = await assignment.returned_reason(context.services, context.account, case.id)
        await inputs.done(context, context.account.id)
        updated = await verification.return_fix(
            context.services, context.account, case.id, case.version, reason, deadline
        )
    else:
        updated = await apply_deadline(
            context, case.id, case.version, kind, enterprise_id, deadline
        )
    await answer(update, context.gettext("Done."))
    await show_card(update, context, updated, edit=True)


async def apply_deadline(
    context: Context,
    case_id: int,
    version: int,
    kind: str,
    enterprise_id: int,
    deadline: dt.datetime,
) -> Case:
    services, actor = context.services, context.account
    if kind == ASSIGN:
        return await triage.assign(services, actor, case_id, version, enterprise_id, deadline)
    if kind == HANDLE:
        return await triage.assign(services, actor, case_id, version, None, deadline)
    if kind == ACKNOWLEDGE:
        return await triage.acknowledge(services, actor, case_id, version, deadline)
    raise NotAllowed()


async def other_deadline(
    update: Update, context: Context, case: Case, args: tuple[str, ...]
) -> None:
    _ = context.gettext
    kinds = {ASSIGN, HANDLE, ACKNOWLEDGE, RETURN}
    chosen = numbers(args[1:]) if len(args) == 2 and args[0] in kinds else None
    if not chosen:
        raise NotAllowed()
    data: dict[str, object] = {"kind": args[0], "enterprise_id": chosen[0]}
    if args[0] == RETURN:
        data["reason"] = await assignment.returned_reason(
            context.services, context.account, case.id
        )
    await ask_for(
        update,
        context,
        case,
        "deadline",
        _("Type the date, like {example}.").format(
            example=cards(context.services).date(dates.end_of_day(context.services, 7))
        ),
        data,
    )


async def acknowledge(update: Update, context: Context, case: Case, args: tuple[str, ...]) -> None:
    updated = await triage.acknowledge(
        context.services, context.account, case.id, case.version, None
    )
    await answer(update, context.gettext("Acknowledged; the rectification order was sent."))
    await show_card(update, context, updated, edit=True)


async def acknowledge_other(
    update: Update, context: Context, case: Case, args: tuple[str, ...]
) -> None:
    await offer_deadlines(update, context, case, ACKNOWLEDGE, 0)


async def close(update: Update, context: Context, case: Case, args: tuple[str, ...]) -> None:
    """Close the case; first, when it could earn its reporter a reward, ask whether the report
    was genuine and what fine was imposed (button data: g1 / g0, then nf for "no fine")."""
    _ = context.gettext
    if not await rewards.should_ask(context.services, case):
        await close_with(update, context, case, None)
        return
    if not args:
        rows = [
            [(_("✅ Genuine: the hazard was real"), case_data("cls", case.id, case.version, "g1"))],
            [(_("✖ Not genuine"), case_data("cls", case.id, case.version, "g0"))],
        ]
        await choose(
            update,
            _("Was the report genuine (the hazard was real)?"),
            [*rows, [back(context, case)]],
        )
        return
    if args == ("g0",):
        await close_with(update, context, case, rewards.Outcome(genuine=False))
    elif args == ("g1",):
        await inputs.expect(
            context, context.account.id, "reward_fine", case_id=case.id, version=case.version
        )
        prompt = _("Fine imposed on the enterprise, in yuan? Type the amount, or press “No fine”.")
        no_fine = case_data("cls", case.id, case.version, "g1", "nf")
        await choose(update, prompt, [[(_("No fine"), no_fine)], [back(context, case)]])
        await context.bot.send_message(
            context.account.id,
            _("Case {number}: {prompt}").format(number=case.number, prompt=prompt)
            + "\n"
            + _("(Send /cancel to give up.)"),
        )
    elif args == ("g1", "nf"):
        await close_with(update, context, case, rewards.Outcome(genuine=True))
    else:
        raise NotAllowed()


async def forget_fine(context: Context, case: Case) -> None:
    """Stop waiting for the fine of this case (closed, or the officer went back)."""
    if await rewards.awaits_fine(context.services, context.account, case.id):
        await inputs.done(context, context.account.id)


async def close_with(
    update: Update, context: Context, case: Case, outcome: rewards.Outcome | None
) -> None:
    updated, reward = await rewards.close_case(
        context.services, context.account, case.id, case.version, outcome
    )
    await forget_fine(context, case)
    told = context.gettext("Closed (销号). The reporter is told.")
    about_reward = reward_notices.outcome_text(context.services, context.tr, reward)
    await answer(update, f"{told} {about_reward}".strip())
    await show_card(update, context, updated, edit=True)


async def return_fix(update: Update, context: Context, case: Case, args: tuple[str, ...]) -> None:
    _ = context.gettext
    await ask_for(
        update,
        context,
        case,
        "return_reason",
        _("What is still wrong? Type the reason the enterprise will read."),
    )


async def extension(update: Update, context: Context, case: Case, grant: bool) -> None:
    updated = await rectification.decide_extension(
        context.services, context.account, case.id, case.version, grant
    )
    await answer(update, context.gettext("Done."))
    await show_card(update, context, updated, edit=True)


async def extension_yes(
    update: Update, context: Context, case: Case, args: tuple[str, ...]
) -> None:
    await extension(update, context, case, True)


async def extension_no(update: Update, context: Context, case: Case, args: tuple[str, ...]) -> None:
    await extension(update, context, case, False)


async def photos(update: Update, context: Context, case: Case, args: tuple[str, ...]) -> None:
    """Send the case's photos on request (the stripped copies), those the presser may see."""
    audience = permissions.audience_of(context.account, case)
    hashes = await casefile.photos(context.services, case, audience)
    await send_photos(context, hashes)
    await answer(update, None if hashes else context.gettext("No photos."))


# The order: its wording and its photos (#16 item 1, #20 item 2) -------------------------------
#
# After the enterprise, the officer sees what the enterprise will read: the wording (one of the
# city's templates for the category, or typed), the report photos going with it (all by
# default, any may be left out), and the deadlines, which send it. What is chosen rides in the
# buttons (the enterprise, the photos left out as a mask, the template's place or TYPED); typed
# words wait in the officer's pending input until the order goes.
TYPED = "w"
# How much of the reporter's description the officer sees beside the wording.
DESCRIPTION_ROOM = 1500


async def order_choice(
    context: Context, case: Case, args: tuple[str, ...], *, days: bool = False
) -> tuple[int, orders.Order]:
    """The enterprise and the order of an order button (ENT, MASK, TEMPLATE[, DAYS])."""
    if len(args) != (4 if days else 3):
        raise NotAllowed()
    chosen = numbers([args[0], args[1], *args[3:]])
    if chosen is None:
        raise NotAllowed()
    left_out = orders.left_out(chosen[1])
    if args[2] == TYPED:
        return chosen[0], orders.Order(text=await typed_wording(context, case), left_out=left_out)
    place = numbers(args[2:3])
    offered = orders.templates(context.city, case)
    if place is None or place[0] >= len(offered):
        raise NotAllowed()
    return chosen[0], orders.Order(template=offered[place[0]].code, left_out=left_out)


async def typed_wording(context: Context, case: Case) -> str | None:
    """The words the officer typed for this case's order, while the bot still holds them (an
    order without wording is refused when it would be sent)."""
    pending = await inputs.owed(context)
    if pending is None or pending.kind != "order_text" or pending.case_id != case.id:
        return None
    text = pending.data.get("text")
    return str(text) if text else None


def order_text(context: Context, draft: assignment.Draft, order: orders.Order) -> str:
    """What the officer reads while preparing the order: the wording the enterprise will read,
    the photos going with it, and the reporter's description, marked as theirs alone."""
    _ = context.gettext
    case = draft.case
    wording = order.text
    if order.template is not None:
        template = next(t for t in draft.templates if t.code == order.template)
        wording = template.text.get(context.tr.language)
    count = len(draft.photos)
    going = count - len(order.left_out & set(range(count)))
    lines = [
        "<b>" + _("Rectification order for case {number}").format(number=case.number) + "</b>",
        _("Enterprise: {value}").format(value=html.escape(draft.enterprise.name)),
        "",
        _("The enterprise will read (the department's wording, never the report):"),
        "<i>" + html.escape(wording or "—") + "</i>",
        _("Photos with the order: {going} of {count}").format(going=going, count=count),
        "",
        _("The reporter's description, for you only:"),
        html.escape(shorten(case.description, DESCRIPTION_ROOM)),
        "",
        _(
            "Choose the wording or type your own, tap a photo to leave it out, then choose by "
            "when it must be fixed: that sends the order."
        ),
    ]
    return "\n".join(lines)


def order_rows(context: Context, draft: assignment.Draft, order: orders.Order) -> Rows:
    _ = context.gettext
    case = draft.case
    enterprise_id, mask = draft.enterprise.id, orders.mask_of(order.left_out)

    def data(action: str, *args: object) -> str:
        return case_data(action, case.id, case.version, enterprise_id, *args)

    place = TYPED
    rows: Rows = []
    for index, template in enumerate(draft.templates):
        label = template.title.get(context.tr.language)
        if template.code == order.template:
            label, place = "✅ " + label, str(index)
        rows.append([(label, data("ordt", mask, index))])
    typed = _("✍️ Type the hazard text")
    rows.append([("✅ " + typed if order.text else typed, data("ordw", mask))])
    toggles = []
    for position in range(len(draft.photos)):
        if position in order.left_out:
            label = _("⬜ Photo {n}").format(n=position + 1)
        else:
            label = _("✅ Photo {n}").format(n=position + 1)
        toggles.append((label, data("ordp", mask ^ (1 << position), place)))
    rows.extend(toggles[i : i + 3] for i in range(0, len(toggles), 3))
    if draft.photos:
        rows.append([case_buttons.photos_button(context.tr, case)])
    if order.template is not None or order.text:
        for choice in assignment.deadline_choices(context.services, case):
            label = deadline_label(context, choice)
            if choice.default:
                label = "⭐ " + label
            rows.append([(label, data("ordd", mask, place, choice.days))])
        rows.append([(_("📅 Another date (type it)"), data("ordo", mask, place))])
    rows.append([back(context, case)])
    return rows


async def show_order(
    update: Update,
    context: Context,
    case: Case,
    enterprise_id: int,
    order: orders.Order,
) -> None:
    """The order being prepared: in place of the pressed message, or (typed wording) anew."""
    draft = await assignment.draft(context.services, context.account, case.id, enterprise_id)
    text = order_text(context, draft, order)
    query = update.callback_query
    if query is not None and isinstance(query.message, Message) and not query.message.photo:
        markup = keyboard([*order_rows(context, draft, order), *way_back(update)])
        with contextlib.suppress(BadRequest):  # unchanged
            await query.edit_message_text(text, reply_markup=markup)
        return
    markup = keyboard(order_rows(context, draft, order))
    await context.bot.send_message(context.account.id, text, reply_markup=markup)


async def order_template(
    update: Update, context: Context, case: Case, args: tuple[str, ...]
) -> None:
    """Word the order with one of the city's templates."""
    enterprise_id, order = await order_choice(context, case, args)
    await answer(update)
    await show_order(update, context, case, enterprise_id, order)


async def order_photo(update: Update, context: Context, case: Case, args: tuple[str, ...]) -> None:
    """Leave a photo out of the order, or put it back."""
    enterprise_id, order = await order_choice(context, case, args)
    await answer(update)
    await show_order(update, context, case, enterprise_id, order)


async def order_typed(update: Update, context: Context, case: Case, args: tuple[str, ...]) -> None:
    """Ask the officer for the order's wording in their own words."""
    chosen = numbers(args) if len(args) == 2 else None
    if chosen is None:
        raise NotAllowed()
    orders.left_out(chosen[1])
    await ask_for(
        update,
        context,
        case,
        "order_text",
        context.gettext(
            "Type the hazard as the enterprise will read it, in the department's words. Do "
            "not copy the reporter's description: their words can identify them."
        ),
        {"enterprise_id": chosen[0], "mask": chosen[1]},
    )


async def order_deadline(
    update: Update, context: Context, case: Case, args: tuple[str, ...]
) -> None:
    """Send the order, due in the days chosen."""
    enterprise_id, order = await order_choice(context, case, args, days=True)
    days = numbers(args[3:])
    assert days is not None
    deadline = assignment.deadline_in(context.services, days[0])
    updated = await triage.assign(
        context.services, context.account, case.id, case.version, enterprise_id, deadline, order
    )
    await forget_wording(context, case)
    await answer(update, context.gettext("Done."))
    await show_card(update, context, updated, edit=True)


async def order_other_date(
    update: Update, context: Context, case: Case, args: tuple[str, ...]
) -> None:
    """Ask for the order's deadline as a typed date."""
    enterprise_id, order = await order_choice(context, case, args)
    data: dict[str, object] = {
        "enterprise_id": enterprise_id,
        "template": order.template,
        "text": order.text,
        "mask": orders.mask_of(order.left_out),
    }
    await ask_for(
        update,
        context,
        case,
        "order_deadline",
        context.gettext("Type the date, like {example}.").format(
            example=cards(context.services).date(dates.end_of_day(context.services, 7))
        ),
        data,
    )


async def forget_wording(context: Context, case: Case) -> None:
    """Stop holding typed words for this case's order (it went out, or the officer went back)."""
    pending = await inputs.owed(context)
    if pending is not None and pending.kind == "order_text" and pending.case_id == case.id:
        await inputs.done(context, context.account.id)


async def ask_for(
    update: Update,
    context: Context,
    case: Case,
    kind: str,
    prompt: str,
    data: dict[str, object] | None = None,
) -> None:
    """Ask the officer to type something for this case; /cancel gives up."""
    _ = context.gettext
    await inputs.expect(
        context, context.account.id, kind, case_id=case.id, version=case.version, data=data
    )
    await answer(update)
    await context.bot.send_message(
        context.account.id,
        _("Case {number}: {prompt}").format(number=case.number, prompt=prompt)
        + "\n"
        + _("(Send /cancel to give up.)"),
    )


CaseAction = Callable[[Update, Context, Case, tuple[str, ...]], Awaitable[None]]
# Looking at a case needs only the right to see it; everything else is an officer's.
VIEW_ACTIONS = frozenset({"open", "pho"})
OFFICER_ACTIONS: dict[str, CaseAction] = {
    "open": open_case,
    "acc": accept,
    "rej": reject,
    "trf": transfer,
    "dup": duplicate,
    "ask": ask_reporter,
    "asg": assign,
    "asge": chosen_enterprise,
    "hdl": handle,
    "dl": deadline_chosen,
    "dlo": other_deadline,
    "ack": acknowledge,
    "ackd": acknowledge_other,
    "cls": close,
    "ret": return_fix,
    "exy": extension_yes,
    "exn": extension_no,
    "pho": photos,
    "ordt": order_template,
    "ordw": order_typed,
    "ordp": order_photo,
    "ordd": order_deadline,
    "ordo": order_other_date,
}


# What officers type ---------------------------------------------------------------------------


async def typed_text(update: Update, context: Context) -> tuple[Message, str] | None:
    """The message and its text, or None after asking for text instead."""
    message = update.effective_message
    assert message is not None
    if message.text is None:
        await message.reply_text(context.gettext("Please type it as text, or send /cancel."))
        return None
    return message, message.text


async def stop(context: Context, message: Message, refusal: ShaoziError) -> None:
    """Stop waiting for the input, saying why it was refused."""
    await inputs.done(context, context.account.id)
    await message.reply_text(refusal.render(context.gettext))


Apply = Callable[[int, str], Awaitable[Case | None]]


async def run_typed(update: Update, context: Context, pending: PendingInput, apply: Apply) -> None:
    """Apply a typed input to its case; keep waiting after a fixable mistake, stop after any
    other (the core refuses a case the officer may not act on). Whoever was beaten to the case
    by another officer is told so, with the case's card as it is now if they may still see it."""
    typed = await typed_text(update, context)
    if typed is None:
        return
    message, text = typed
    case_id = pending.case_id or 0
    moved: list[Case] = []

    async def attempt() -> Case | None:
        try:
            return await apply(case_id, text)
        except CaseMoved as exc:
            moved.append(exc.case)
            raise
        except NotAllowed:
            # The bot asked them for this while the case was theirs: it was passed on since.
            if await casefile.changed_since(context.services, case_id, pending.version):
                raise CaseLeft() from None
            raise

    updated = await inputs.settle(context, message, attempt)
    if updated is not None or moved:
        await show_card(update, context, updated or moved[0], edit=False)


@inputs.handles("reject_reason")
async def typed_reject_reason(update: Update, context: Context, pending: PendingInput) -> None:
    """Reject with the officer's own reason."""

    async def apply(case_id: int, text: str) -> Case:
        return await triage.reject(
            context.services, context.account, case_id, pending.version or 0, text
        )

    await run_typed(update, context, pending, apply)


@inputs.handles("transfer_reason")
async def typed_transfer_reason(update: Update, context: Context, pending: PendingInput) -> None:
    """Transfer with the typed reason."""

    async def apply(case_id: int, text: str) -> Case:
        return await triage.transfer(
            context.services,
            context.account,
            case_id,
            pending.version or 0,
            str(pending.data.get("department")),
            text,
        )

    await run_typed(update, context, pending, apply)


@inputs.handles("merge_target")
async def typed_merge_target(update: Update, context: Context, pending: PendingInput) -> None:
    """Merge into the typed case number."""

    async def apply(case_id: int, text: str) -> Case:
        return await triage.merge(
            context.services, context.account, case_id, pending.version or 0, text
        )

    await run_typed(update, context, pending, apply)


@inputs.handles("question")
async def typed_question(update: Update, context: Context, pending: PendingInput) -> None:
    """Relay the officer's question to the reporter."""
    _ = context.gettext

    async def apply(case_id: int, text: str) -> Case | None:
        await questions.ask_reporter(context.services, context.account, case_id, text)
        message = update.effective_message
        assert message is not None
        await message.reply_text(_("Your question was passed on. The answer will come here."))
        return None

    await run_typed(update, context, pending, apply)


@inputs.handles("return_reason")
async def typed_return_reason(update: Update, context: Context, pending: PendingInput) -> None:
    """Take the reason a fix is returned, then offer the new deadline."""
    _ = context.gettext
    typed = await typed_text(update, context)
    if typed is None:
        return
    message, text = typed
    try:
        case = await casefile.officer_case(context.services, context.account, pending.case_id or 0)
    except ShaoziError as exc:
        await stop(context, message, exc)
        return
    try:
        reason = reasons.check_reason(text)
    except InputMistake as exc:
        await message.reply_text(exc.render(_))
        return
    await inputs.expect(
        context,
        context.account.id,
        "return_deadline",
        case_id=case.id,
        version=pending.version,
        data={"reason": reason},
    )
    choice = assignment.default_choice(context.services, case)
    rows = [
        [
            (
                deadline_label(context, choice),
                case_data("dl", case.id, case.version, RETURN, 0, choice.days),
            )
        ],
        [(_("📅 Another date (type it)"), case_data("dlo", case.id, case.version, RETURN, 0))],
    ]
    await message.reply_text(
        _("By when must it be fixed again? Choose, or type a date."), reply_markup=keyboard(rows)
    )


@inputs.handles("return_deadline")
async def typed_return_deadline(update: Update, context: Context, pending: PendingInput) -> None:
    """Return the fix with the typed new deadline."""

    async def apply(case_id: int, text: str) -> Case:
        deadline = dates.parse_deadline(context.services, text)
        return await verification.return_fix(
            context.services,
            context.account,
            case_id,
            pending.version or 0,
            str(pending.data["reason"]),
            deadline,
        )

    await run_typed(update, context, pending, apply)


@inputs.handles("deadline")
async def typed_deadline(update: Update, context: Context, pending: PendingInput) -> None:
    """Apply the typed deadline to an assignment, a handling, an acknowledgement or a return."""

    async def apply(case_id: int, text: str) -> Case:
        deadline = dates.parse_deadline(context.services, text)
        kind = str(pending.data.get("kind"))
        version = pending.version or 0
        if kind == RETURN:
            return await verification.return_fix(
                context.services,
                context.account,
                case_id,
                version,
                str(pending.data["reason"]),
                deadline,
            )
        enterprise_id = int(pending.data.get("enterprise_id") or 0)
        return await apply_deadline(context, case_id, version, kind, enterprise_id, deadline)

    await run_typed(update, context, pending, apply)


@inputs.handles("reward_fine")
async def typed_fine(update: Update, context: Context, pending: PendingInput) -> None:
    """Close a genuine report's case with the fine the officer typed."""
    message = update.effective_message
    assert message is not None

    async def apply(case_id: int, text: str) -> Case:
        fine = rewards.parse_yuan(text)
        updated, reward = await rewards.close_case(
            context.services,
            context.account,
            case_id,
            pending.version or 0,
            rewards.Outcome(genuine=True, fine=fine or None),
        )
        told = context.gettext("Closed (销号). The reporter is told.")
        about_reward = reward_notices.outcome_text(context.services, context.tr, reward)
        await message.reply_text(f"{told} {about_reward}".strip())
        return updated

    await run_typed(update, context, pending, apply)


@inputs.handles("order_text")
async def typed_order_text(update: Update, context: Context, pending: PendingInput) -> None:
    """Take the officer's own wording of the order, and show the order with it."""
    _ = context.gettext
    typed = await typed_text(update, context)
    if typed is None:
        return
    message, text = typed
    try:
        case = await casefile.officer_case(context.services, context.account, pending.case_id or 0)
        if case.version != pending.version:
            raise CaseMoved(case)
    except ShaoziError as exc:
        await stop(context, message, exc)
        return
    try:
        wording = orders.check_text(case, text)
    except InputMistake as exc:
        await message.reply_text(exc.render(_) + "\n" + _("(Send /cancel to give up.)"))
        return
    data = {**pending.data, "text": wording}
    await inputs.expect(
        context, context.account.id, "order_text", case_id=case.id, version=case.version, data=data
    )
    order = orders.Order(text=wording, left_out=orders.left_out(int(data.get("mask") or 0)))
    await show_order(update, context, case, int(data.get("enterprise_id") or 0), order)


@inputs.handles("order_deadline")
async def typed_order_deadline(update: Update, context: Context, pending: PendingInput) -> None:
    """Send the order, due by the typed date."""
    data = pending.data

    async def apply(case_id: int, text: str) -> Case:
        deadline = dates.parse_deadline(context.services, text)
        template, wording = data.get("template"), data.get("text")
        order = orders.Order(
            template=str(template) if template else None,
            text=str(wording) if wording else None,
            left_out=orders.left_out(int(data.get("mask") or 0)),
        )
        return await triage.assign(
            context.services,
            context.account,
            case_id,
            pending.version or 0,
            int(data.get("enterprise_id") or 0),
            deadline,
            order,
        )

    await run_typed(update, context, pending, apply)


@inputs.handles("enterprise_search")
async def typed_search(update: Update, context: Context, pending: PendingInput) -> None:
    """Find enterprises by name or credit code and offer them with their record."""
    _ = context.gettext
    typed = await typed_text(update, context)
    if typed is None:
        return
    message, text = typed
    try:
        search = await assignment.find_enterprises(
            context.services, context.account, pending.case_id or 0, text
        )
    except CreditCodeError as problem:
        await message.reply_text(
            html.escape(problem.render(_)) + "\n" + _("(Send /cancel to give up.)")
        )
        return
    except ShaoziError as exc:
        await stop(context, message, exc)
        return
    if not search.found:
        await message.reply_text(
            _("No enterprise matches “{text}”. Try another part of the name, or /cancel.").format(
                text=html.escape(text.strip())
            )
        )
        return
    await inputs.done(context, context.account.id)
    case, version = search.case, pending.version or 0
    lines = [_("Choose the enterprise for case {number}:").format(number=case.number)]
    rows = []
    for record in search.found:
        enterprise = record.enterprise
        lines.append(
            "• "
            + html.escape(enterprise.name)
            + f" ({enterprise.credit_code or '—'}) · "
            + _("open {open}, overdue {overdue}, closed {closed}").format(
                open=record.open, overdue=record.overdue, closed=record.closed
            )
        )
        rows.append([(enterprise.name[:60], case_data("asge", case.id, version, enterprise.id))])
    await message.reply_text("\n".join(lines), reply_markup=keyboard(rows))


# /queue and /case ---------------------------------------------------------------------------


async def queue_text(context: Context, page: int) -> tuple[str, Rows]:
    """One page of the officer's queue, a button for each case (NotAllowed: no officer)."""
    _ = context.gettext
    listing = await queue_page(context.services, context.account, page)
    show, now = cards(context.services), listing.now
    lines = []
    for section in listing.sections:
        lines.append(
            "<b>"
            + html.escape(show.department(context.tr, section.department))
            + "</b> · "
            + context.ngettext(
                "{count} case waiting", "{count} cases waiting", section.waiting
            ).format(count=section.waiting)
        )
        for case in section.cases:
            flags = ""
            if case.reopened:
                flags += " ⚠️"
            if case.overdue(now):
                flags += " ⏰"
            category = html.escape(show.category(context.tr, case.category))
            status = show.status(context.tr, case, now)
            lines.append(f"• {case.number} · {category} · {status}{flags}")
    if listing.empty:
        lines.append(_("Nothing is waiting. Well done!"))
    buttons = [
        (case.number, case_data("open", case.id, case.version, FROM_QUEUE, listing.page))
        for case in listing.cases
    ]
    return paged(context, lines, buttons, Space.QUEUE, listing.page, listing.pages)


async def queue(update: Update, context: Context) -> None:
    """List the cases waiting on the officer's departments, what needs action first."""
    try:
        text, rows = await queue_text(context, 0)
    except ShaoziError as exc:
        await context.bot.send_message(context.account.id, exc.render(context.gettext))
        return
    await context.bot.send_message(context.account.id, text, reply_markup=keyboard(rows))


async def on_queue_page(update: Update, context: Context) -> None:
    """Show a page of the queue in place of the pressed message (a list page or a case card
    opened from it); the officer's departments are read again: roles may have changed."""
    query = update.callback_query
    assert query is not None
    chosen = page_numbers(query.data, Space.QUEUE)
    try:
        if chosen is None or len(chosen) != 1:
            raise NotAllowed()
        text, rows = await queue_text(context, chosen[0])
    except ShaoziError as exc:
        await answer(update, exc.render(context.gettext), alert=True)
        return
    await answer(update)
    with contextlib.suppress(BadRequest):  # unchanged, or too old to edit
        await query.edit_message_text(text, reply_markup=keyboard(rows))


async def case_command(update: Update, context: Context) -> None:
    """Show a case with its full history to staff whose scope it is in."""
    _ = context.gettext
    if not context.args:
        await context.bot.send_message(
            context.account.id, _("Send /case followed by the case number.")
        )
        return
    try:
        found = await casefile.case_file(context.services, context.account, context.args[0])
    except ShaoziError as exc:
        await context.bot.send_message(context.account.id, exc.render(_))
        return
    view = found.view
    case = view.case
    card = render_card(context, view)
    room = MAX_TEXT - len(card.text) - 2
    text = (
        card.text
        + "\n\n"
        + cards(context.services).timeline(context.tr, found.events, view.audience, room)
    )
    buttons = list(card.buttons)
    if view.audience is not Audience.ENTERPRISE or case.status is Status.ASSIGNED:
        buttons.append([case_buttons.photos_button(context.tr, case)])
    await context.bot.send_message(context.account.id, text, reply_markup=keyboard(buttons))


def handlers() -> list[BaseHandler[Update, Context, object]]:
    private = filters.ChatType.PRIVATE
    return [
        CommandHandler("queue", queue, private),
        CommandHandler("case", case_command, private),
        CallbackQueryHandler(on_button, pattern=pattern(Space.CASE)),
        CallbackQueryHandler(on_queue_page, pattern=pattern(Space.QUEUE)),
    ]
