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
    confirm,
    corrections,
    dates,
    identity,
    orders,
    permissions,
    questions,
    reasons,
    rectification,
    reward_notices,
    rewards,
    search,
    triage,
    verification,
)
from bot.assignment import Choice
from bot.buttons import Space, case_data, decode, decode_case, encode, pattern
from bot.cards import COLOUR_LABELS, MAX_TEXT, REJECT_REASONS, Audience, cards, note_text, shorten
from bot.enterprises import CreditCodeError
from bot.errors import CaseLeft, CaseMoved, InputMistake, NotAllowed, NotThisStep, ShaoziError
from bot.i18n import N_
from bot.labels import LEVEL_LABELS, STATUS_LABELS
from bot.queue import ACTION, OVERDUE, SUPERVISED, QueueFilter, from_code, parse_filter, queue_page
from bot.tg.context import Context
from bot.tg.delivery import fits_caption
from bot.tg.keyboards import keyboard
from bot.vocabulary.grading import Colour
from bot.vocabulary.lifecycle import Action, Level, Status, next_status
from bot.vocabulary.models import Case, PendingInput
from handlers import inputs
from handlers.common import answer
from handlers.staff import (
    FROM_OVERDUE,
    FROM_QUEUE,
    Rows,
    case_line,
    identity_log,
    legend,
    numbers,
    page_data,
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
    await put(update, context, card.text, [*card.buttons, *(extra or [])], edit=edit)


async def put(update: Update, context: Context, text: str, rows: Rows, *, edit: bool) -> None:
    """Show a text with its buttons: in place of the pressed message, or as a new one."""
    buttons = keyboard(rows)
    query = update.callback_query
    if edit and query is not None and query.message is not None:
        with contextlib.suppress(BadRequest):  # unchanged, or too old to edit
            if not (isinstance(query.message, Message) and query.message.photo):
                await query.edit_message_text(text, reply_markup=buttons)
                return
            # A notice sent as a photo with the card as its caption.
            if fits_caption(text):
                await query.edit_message_caption(text, reply_markup=buttons)
                return
            # The card outgrew a caption: it comes anew, the photo keeps no stale buttons.
            await query.edit_message_reply_markup(None)
    await context.bot.send_message(context.account.id, text, reply_markup=buttons)


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


def check_step(case: Case, action: Action) -> None:
    """Refuse at once what the case's state does not allow, before asking anything more."""
    if next_status(action, case.status) is None:
        raise NotThisStep(status=STATUS_LABELS[case.status])


async def ask_to_confirm(
    update: Update,
    context: Context,
    case: Case,
    action: Action,
    question: str,
    yes: tuple[str, str],
) -> None:
    """Ask once more before an action that ends the case (and its reward): the card with the
    question under it, "Yes" and "No, back" (to the card as it was). Nothing is asked when the
    case is past the step (a forged or replayed button)."""
    check_step(case, action)
    card = await staff_card(context, case, permissions.audience_of(context.account, case))
    text = card.text + "\n\n<b>" + question + "</b>"
    no = (context.gettext("« No, back"), case_data("open", case.id, case.version))
    await answer(update)
    await put(update, context, text, [[yes], [no], *way_back(update)], edit=True)


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
        # From a list: its key, its page, and for the queue the filter it was shown with.
        page = numbers(args[1:2]) if len(args) in (2, 3) else None
        tail = args[2:]
        if not page or args[0] not in RETURNS:
            raise NotAllowed()
        if tail and (args[0] != FROM_QUEUE or from_code(context.city, tail[0]) is None):
            raise NotAllowed()
        space, label = RETURNS[args[0]]
        extra.append([(context.gettext(label), page_data(space, page[0], *tail))])
    await answer(update)
    await forget_fine(context, case)  # "« Back" from the closing questions
    await forget_reason(context, case)  # "« No, back" from a typed reason's confirmation
    await forget_wording(context, case)  # "« Back" from an order being prepared
    await show_card(update, context, case, edit=True, extra=extra)


async def forget_reason(context: Context, case: Case) -> None:
    """Stop holding a typed reason for not accepting this case (the officer went back)."""
    with contextlib.suppress(NotAllowed):
        await confirm.held_reason(context.services, context.account, case.id)
        await inputs.done(context, context.account.id)


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
    if args == ("other",):
        await ask_for(
            update, context, case, "reject_reason", _("Type the reason the reporter will read.")
        )
        return
    if args == ("other", "y"):  # the typed reason, confirmed
        reason = await confirm.held_reason(context.services, context.account, case.id)
        await inputs.done(context, context.account.id)
    elif args[0] in REJECT_REASONS and args[1:] == ():
        await confirm_reject(update, context, case, "@" + args[0], args[0])
        return
    elif args[0] in REJECT_REASONS and args[1:] == ("y",):
        reason = "@" + args[0]
    else:
        raise NotAllowed()
    updated = await triage.reject(context.services, context.account, case.id, case.version, reason)
    await answer(update, _("Not accepted; the reporter is told why."))
    await show_card(update, context, updated, edit=True)


async def confirm_reject(
    update: Update, context: Context, case: Case, reason: str, code: str
) -> None:
    """Ask once more before not accepting the case for ``reason`` (a reason code's "@code", or
    typed words held by bot/confirm.py; ``code`` is what the Yes button names)."""
    _ = context.gettext
    question = _(
        "Are you sure? Case {number} will not be accepted: it ends here, and the reporter is "
        "told the reason: {reason}"
    ).format(number=case.number, reason=html.escape(note_text(context.tr, reason)))
    yes = (_("✅ Yes, do not accept it"), case_data("rej", case.id, case.version, code, "y"))
    await ask_to_confirm(update, context, case, Action.REJECT, question, yes)


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
        await inputs.done(context, context.account.id, "return_deadline")
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
    was genuine and what fine was imposed (button data: g1 / g0, then nf for "no fine" or the
    fine typed); then ask once more (y: yes)."""
    _ = context.gettext
    if not await rewards.should_ask(context.services, case):
        if args[-1:] == ("y",):
            await close_with(update, context, case, None)
        else:
            await confirm_close(update, context, case, None)
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
        await confirm_close(update, context, case, rewards.Outcome(genuine=False))
    elif args == ("g0", "y"):
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
        await confirm_close(update, context, case, rewards.Outcome(genuine=True))
    elif len(args) == 3 and args[0] == "g1" and args[2] == "y":
        fine = None if args[1] == "nf" else fine_of(args[1])
        await close_with(update, context, case, rewards.Outcome(genuine=True, fine=fine))
    else:
        raise NotAllowed()


def fine_of(text: str) -> int:
    """The fine a Yes button names, checked as if typed (a forged one is refused)."""
    if not (text.isascii() and text.isdigit()):
        raise NotAllowed()
    try:
        return rewards.parse_yuan(text)
    except InputMistake:
        raise NotAllowed() from None


async def confirm_close(
    update: Update, context: Context, case: Case, outcome: rewards.Outcome | None
) -> None:
    """Ask once more before closing the case with this outcome (None: no reward is at stake)."""
    _ = context.gettext
    number = case.number
    if outcome is None:
        question = _(
            "Are you sure? Case {number} will be closed (销号) as fixed, and the enterprise and "
            "the reporter are told."
        ).format(number=number)
        args: tuple[str, ...] = ("y",)
    elif not outcome.genuine:
        question = _(
            "Are you sure? Case {number} will be closed and its report recorded as not genuine "
            "(不属实): its reporter will get no reward."
        ).format(number=number)
        args = ("g0", "y")
    elif outcome.fine:
        question = _(
            "Are you sure? Case {number} will be closed (销号) as fixed, and its report recorded "
            "as genuine, with a fine of {fine} yuan."
        ).format(number=number, fine=f"{outcome.fine:,}")
        args = ("g1", str(outcome.fine), "y")
    else:
        question = _(
            "Are you sure? Case {number} will be closed (销号) as fixed, and its report recorded "
            "as genuine, with no fine."
        ).format(number=number)
        args = ("g1", "nf", "y")
    yes = (_("✅ Yes, close it"), case_data("cls", case.id, case.version, *args))
    await ask_to_confirm(update, context, case, Action.CLOSE, question, yes)


async def forget_fine(context: Context, case: Case) -> None:
    """Stop waiting for the fine of this case (closed, or the officer went back)."""
    if await rewards.awaits_fine(context.services, context.account, case.id):
        await inputs.done(context, context.account.id, "reward_fine")


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


# Corrections: another enterprise, another deadline, another category; each with a reason ------

WHY = N_("Why? Type the reason; it is kept in the case's history.")


async def reassign(update: Update, context: Context, case: Case, args: tuple[str, ...]) -> None:
    """Ask which enterprise must fix it instead (rea), then, once chosen (rea:ENTERPRISE), why."""
    _ = context.gettext
    check_step(case, Action.REASSIGN)
    if not args:
        await ask_for(
            update,
            context,
            case,
            "reassign_search",
            _("Which enterprise must fix it instead? Type a part of its name or its credit code."),
        )
        return
    chosen = numbers(args) if len(args) == 1 else None
    if not chosen:
        raise NotAllowed()
    enterprise = await assignment.enterprise(context.services, chosen[0])
    prompt = _("The order goes to {enterprise}, and is withdrawn from the enterprise that has it.")
    await ask_for(
        update,
        context,
        case,
        "reassign_reason",
        prompt.format(enterprise=html.escape(enterprise.name)) + "\n" + _(WHY),
        {"enterprise_id": enterprise.id},
    )


async def redate(update: Update, context: Context, case: Case, args: tuple[str, ...]) -> None:
    """Offer the new deadline (rdl:DAYS) or a typed one (rdl:other), then ask why."""
    _ = context.gettext
    check_step(case, Action.CHANGE_DEADLINE)
    if not args:
        rows = [
            [
                (
                    deadline_label(context, choice),
                    case_data("rdl", case.id, case.version, choice.days),
                )
            ]
            for choice in assignment.deadline_choices(context.services, case)
        ]
        other = case_data("rdl", case.id, case.version, "other")
        rows.append([(_("📅 Another date (type it)"), other)])
        question = _("The deadline is {date}. What is the new one?").format(
            date=cards(context.services).date(case.deadline)
        )
        await choose(update, question, [*rows, [back(context, case)]])
        return
    if args == ("other",):
        example = cards(context.services).date(dates.end_of_day(context.services, 7))
        prompt = _("Type the new deadline, like {example}.").format(example=example)
        await ask_for(update, context, case, "redate_date", prompt)
        return
    days = numbers(args) if len(args) == 1 else None
    if not days:
        raise NotAllowed()
    deadline = assignment.deadline_in(context.services, days[0])
    await ask_for(
        update, context, case, "redate_reason", redate_prompt(context, deadline), held(deadline)
    )


def redate_prompt(context: Context, deadline: dt.datetime) -> str:
    _ = context.gettext
    date = cards(context.services).date(deadline)
    return _("The new deadline is {date}.").format(date=date) + "\n" + _(WHY)


def held(deadline: dt.datetime) -> dict[str, object]:
    """A deadline kept in a pending input until the reason for it is typed."""
    return {"deadline": deadline.isoformat()}


async def recategorize(update: Update, context: Context, case: Case, args: tuple[str, ...]) -> None:
    """Offer the other categories (rct:CODE), then say where routing takes the case, and ask
    why."""
    _ = context.gettext
    check_step(case, Action.CHANGE_CATEGORY)
    city, show = context.city, cards(context.services)
    if not args:
        choices = [
            (show.category(context.tr, c.code), case_data("rct", case.id, case.version, c.code))
            for c in city.categories
            if c.code != case.category
        ]
        rows = [choices[i : i + 2] for i in range(0, len(choices), 2)]
        await choose(update, _("Which category is it?"), [*rows, [back(context, case)]])
        return
    if len(args) != 1 or city.category(args[0]) is None or args[0] == case.category:
        raise NotAllowed()
    category = args[0]
    department = city.route(category, case.district)
    prompt = (
        _("The category becomes {category}; the case then goes to {department}.")
        if department != case.department
        else _("The category becomes {category}.")
    ).format(
        category=html.escape(show.category(context.tr, category)),
        department=html.escape(show.department(context.tr, department)),
    )
    await ask_for(
        update, context, case, "recategorize_reason", prompt + "\n" + _(WHY), {"category": category}
    )


async def reporter(update: Update, context: Context, case: Case, args: tuple[str, ...]) -> None:
    """Tell an officer of a real-name case who reported it, in their private chat (a card may
    be pressed in the department's group); the look is logged."""
    _ = context.gettext
    contact = await identity.for_officer(context.services, context.account, case.id)
    parts = [part for part in (contact.name, contact.phone, contact.email) if part]
    text = _("Case {number} was reported by: {who}").format(
        number=case.number, who=html.escape(", ".join(parts) or "—")
    )
    text += "\n" + _(
        "Your look is in the case's log. Never tell the enterprise or anyone outside the case "
        "who reported it."
    )
    await answer(update)
    await context.bot.send_message(context.account.id, text)


async def open_file(update: Update, context: Context, case: Case, args: tuple[str, ...]) -> None:
    """Send a case chosen from a search's list, with its history (the list stays)."""
    found = await casefile.case_file(context.services, context.account, case.number)
    await answer(update)
    await send_case_file(context, found)


CaseAction = Callable[[Update, Context, Case, tuple[str, ...]], Awaitable[None]]
# Looking at a case needs only the right to see it; everything else is an officer's.
VIEW_ACTIONS = frozenset({"open", "pho", "file", "who"})
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
    "who": reporter,
    "rea": reassign,
    "rdl": redate,
    "rct": recategorize,
    "file": open_file,
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


async def still_as_asked(context: Context, case_id: int, pending: PendingInput) -> Case:
    """The case the officer was asked to type something for, as it was then (CaseMoved when
    someone acted on it since)."""
    case = await casefile.officer_case(context.services, context.account, case_id)
    if case.version != pending.version:
        raise CaseMoved(case)
    return case


@inputs.handles("reject_reason")
@inputs.handles(confirm.REJECT_CONFIRM)
async def typed_reject_reason(update: Update, context: Context, pending: PendingInput) -> None:
    """Take the officer's own reason (again, when they type instead of confirming), then ask
    once more before not accepting the case."""
    held: list[tuple[Case, str]] = []

    async def apply(case_id: int, text: str) -> None:
        held.append((await still_as_asked(context, case_id, pending), reasons.check_reason(text)))

    await run_typed(update, context, pending, apply)
    for case, reason in held:
        kept = await confirm.hold_reason(
            context.services, context.account, case.id, case.version, reason
        )
        await confirm_reject(update, context, case, kept, "other")


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
    """Take the fine of a genuine report's case, then ask once more before closing it."""
    held: list[tuple[Case, int]] = []

    async def apply(case_id: int, text: str) -> None:
        fine = rewards.parse_yuan(text)
        held.append((await still_as_asked(context, case_id, pending), fine))

    await run_typed(update, context, pending, apply)
    for case, fine in held:
        await confirm_close(update, context, case, rewards.Outcome(genuine=True, fine=fine or None))


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


async def offer_enterprises(
    update: Update,
    context: Context,
    pending: PendingInput,
    *,
    title: str,
    action: str,
    other_than_ordered: bool = False,
) -> None:
    """Find enterprises by what the officer typed (name or credit code) and offer them, each
    with its record, as buttons of ``action``; ``title`` is a msgid with {number}; with
    ``other_than_ordered``, not the enterprise the case is ordered to now."""
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
    ordered = search.case.enterprise_id if other_than_ordered else None
    found = [r for r in search.found if r.enterprise.id != ordered]
    if not found:
        await message.reply_text(
            _("No enterprise matches “{text}”. Try another part of the name, or /cancel.").format(
                text=html.escape(text.strip())
            )
        )
        return
    await inputs.done(context, context.account.id)
    case, version = search.case, pending.version or 0
    lines = [_(title).format(number=case.number)]
    rows = []
    for record in found:
        enterprise = record.enterprise
        lines.append(
            "• "
            + html.escape(enterprise.name)
            + f" ({enterprise.credit_code or '—'}) · "
            + _("open {open}, overdue {overdue}, closed {closed}").format(
                open=record.open, overdue=record.overdue, closed=record.closed
            )
        )
        rows.append([(enterprise.name[:60], case_data(action, case.id, version, enterprise.id))])
    await message.reply_text("\n".join(lines), reply_markup=keyboard(rows))


@inputs.handles("enterprise_search")
async def typed_search(update: Update, context: Context, pending: PendingInput) -> None:
    """Find enterprises by name or credit code and offer them with their record."""
    title = N_("Choose the enterprise for case {number}:")
    await offer_enterprises(update, context, pending, title=title, action="asge")


@inputs.handles("reassign_search")
async def typed_reassign_search(update: Update, context: Context, pending: PendingInput) -> None:
    """Find the enterprise a case's order goes to instead, and offer the matches with their
    record (not the one that has the order)."""
    title = N_("Choose the enterprise that must fix case {number} instead:")
    await offer_enterprises(
        update, context, pending, title=title, action="rea", other_than_ordered=True
    )


@inputs.handles("reassign_reason")
async def typed_reassign_reason(update: Update, context: Context, pending: PendingInput) -> None:
    """Pass the order to the chosen enterprise, for the typed reason."""
    message = update.effective_message
    assert message is not None
    enterprise_id = int(pending.data.get("enterprise_id") or 0)

    async def apply(case_id: int, text: str) -> Case:
        updated = await corrections.reassign(
            context.services, context.account, case_id, pending.version or 0, enterprise_id, text
        )
        enterprise = await assignment.enterprise(context.services, enterprise_id)
        await message.reply_text(
            context.gettext(
                "Done: {enterprise} has the order now; the enterprise it was withdrawn from is "
                "told."
            ).format(enterprise=html.escape(enterprise.name))
        )
        return updated

    await run_typed(update, context, pending, apply)


@inputs.handles("redate_date")
async def typed_redate_date(update: Update, context: Context, pending: PendingInput) -> None:
    """Take the typed new deadline, then ask why."""
    _ = context.gettext
    typed = await typed_text(update, context)
    if typed is None:
        return
    message, text = typed
    try:
        await still_as_asked(context, pending.case_id or 0, pending)
        deadline = dates.parse_deadline(context.services, text)
    except InputMistake as exc:
        await message.reply_text(exc.render(_) + "\n" + _("(Send /cancel to give up.)"))
        return
    except ShaoziError as exc:
        await stop(context, message, exc)
        return
    await inputs.expect(
        context,
        context.account.id,
        "redate_reason",
        case_id=pending.case_id,
        version=pending.version,
        data=held(deadline),
    )
    await message.reply_text(
        redate_prompt(context, deadline) + "\n" + _("(Send /cancel to give up.)")
    )


@inputs.handles("redate_reason")
async def typed_redate_reason(update: Update, context: Context, pending: PendingInput) -> None:
    """Set the new deadline, for the typed reason."""
    message = update.effective_message
    assert message is not None
    deadline = dt.datetime.fromisoformat(str(pending.data["deadline"]))

    async def apply(case_id: int, text: str) -> Case:
        updated = await corrections.change_deadline(
            context.services, context.account, case_id, pending.version or 0, deadline, text
        )
        told = (
            context.gettext("Done: the deadline is {date} now; the enterprise is told.")
            if updated.enterprise_id is not None
            else context.gettext("Done: the deadline is {date} now.")
        )
        await message.reply_text(told.format(date=cards(context.services).date(deadline)))
        return updated

    await run_typed(update, context, pending, apply)


@inputs.handles("recategorize_reason")
async def typed_recategorize_reason(
    update: Update, context: Context, pending: PendingInput
) -> None:
    """File the case under the chosen category, for the typed reason."""
    _ = context.gettext
    message = update.effective_message
    assert message is not None
    category = str(pending.data.get("category"))

    async def apply(case_id: int, text: str) -> Case | None:
        before = await casefile.officer_case(context.services, context.account, case_id)
        updated = await corrections.change_category(
            context.services, context.account, case_id, pending.version or 0, category, text
        )
        show = cards(context.services)
        told = (
            _(
                "Done: the category is {category} now, and the case went to {department}; the "
                "reporter is told."
            )
            if updated.department != before.department
            else _("Done: the category is {category} now; the reporter is told.")
        )
        await message.reply_text(
            told.format(
                category=html.escape(show.category(context.tr, updated.category)),
                department=html.escape(show.department(context.tr, updated.department)),
            )
        )
        # A case gone to another department is no longer this officer's to see as one.
        return updated if permissions.is_case_officer(context.account, updated) else None

    await run_typed(update, context, pending, apply)


# /queue and /case ---------------------------------------------------------------------------


def filter_tail(context: Context, chosen: QueueFilter) -> tuple[str, ...]:
    """The end of a queue button's data that keeps the filter (nothing for none)."""
    code = chosen.code(context.city)
    return (code,) if code else ()


def filter_label(context: Context, chosen: QueueFilter) -> str:
    """What a filter shows, in words."""
    _ = context.gettext
    parts = []
    if chosen.action:
        parts.append(_("needs my action"))
    if chosen.overdue:
        parts.append(_("overdue"))
    if chosen.supervised:
        parts.append(_("under supervision (挂牌督办)"))
    if chosen.colour is not None:
        parts.append(_(COLOUR_LABELS[chosen.colour]))
    if chosen.district is not None:
        parts.append(html.escape(cards(context.services).district(context.tr, chosen.district)))
    return " · ".join(parts)


async def queue_text(
    context: Context, page: int, chosen: QueueFilter | None = None
) -> tuple[str, Rows]:
    """One page of the officer's queue (through a filter), a button for each case, and the
    filter's buttons (NotAllowed: no officer)."""
    _ = context.gettext
    chosen = chosen or QueueFilter()
    listing = await queue_page(context.services, context.account, page, chosen)
    show, now = cards(context.services), listing.now
    tail = filter_tail(context, chosen)
    lines = []
    if not chosen.empty:
        lines.append("🔎 " + _("Filter: {filter}").format(filter=filter_label(context, chosen)))
    for section in listing.sections:
        lines.append(
            "<b>"
            + html.escape(show.department(context.tr, section.department))
            + "</b> · "
            + context.ngettext(
                "{count} case waiting", "{count} cases waiting", section.waiting
            ).format(count=section.waiting)
        )
        lines.extend(case_line(context, case, now) for case in section.cases)
    if listing.empty:
        lines.append(
            _("Nothing is waiting. Well done!")
            if chosen.empty
            else _("No case matches this filter.")
        )
    marks = legend(context, listing.cases, now)
    if marks:
        lines += ["", marks]
    buttons = [
        (case.number, case_data("open", case.id, case.version, FROM_QUEUE, listing.page, *tail))
        for case in listing.cases
    ]
    text, rows = paged(context, lines, buttons, Space.QUEUE, listing.page, listing.pages, *tail)
    filters_row = [(_("🔎 Filter"), encode(Space.QUEUE, "f", listing.page, *tail))]
    if not chosen.empty:
        filters_row.append((_("✖ No filter"), page_data(Space.QUEUE, 0)))
    return text, [*rows, filters_row]


def filter_menu(context: Context, page: int, chosen: QueueFilter) -> Rows:
    """The filters to choose from, each turned on or off from the current one (✓: on)."""
    _ = context.gettext

    def choice(label: str, key: str, on: bool) -> tuple[str, str]:
        toggled = chosen.toggled(key)
        return ("✓ " + label if on else label), page_data(
            Space.QUEUE, 0, *filter_tail(context, toggled)
        )

    rows: Rows = [
        [choice("✋ " + _("needs my action"), ACTION, chosen.action)],
        [
            choice("⏰ " + _("overdue"), OVERDUE, chosen.overdue),
            choice("📌 " + _("under supervision (挂牌督办)"), SUPERVISED, chosen.supervised),
        ],
    ]
    colours = [choice(_(COLOUR_LABELS[c]), c.value, chosen.colour is c) for c in Colour]
    rows += [colours[:2], colours[2:]]
    districts = [
        choice(d.name.get(context.tr.language), d.code, chosen.district == d.code)
        for d in context.city.districts
    ]
    rows += [districts[i : i + 2] for i in range(0, len(districts), 2)]
    back_to = page_data(Space.QUEUE, page, *filter_tail(context, chosen))
    last = [(_("« Back"), back_to)]
    if not chosen.empty:
        last.insert(0, (_("✖ No filter"), page_data(Space.QUEUE, 0)))
    rows.append(last)
    return rows


async def queue(update: Update, context: Context) -> None:
    """List the cases that need attention in the officer's departments, what needs action
    first; or those a filter typed after /queue lets through."""
    try:
        chosen = parse_filter(context.city, context.args or [])
        text, rows = await queue_text(context, 0, chosen)
    except ShaoziError as exc:
        await context.bot.send_message(context.account.id, exc.render(context.gettext))
        return
    await context.bot.send_message(context.account.id, text, reply_markup=keyboard(rows))


def queue_press(data: str | None, context: Context) -> tuple[bool, int, QueueFilter]:
    """A queue button: whether it opens the filters, the page, the filter (NotAllowed: forged).
    ``qu:1:PAGE[:FILTER]`` turns to a page, ``qu:1:f:PAGE[:FILTER]`` opens the filters."""
    pressed = decode(data)
    if pressed is None or pressed.space is not Space.QUEUE:
        raise NotAllowed()
    menu = pressed.action == "f"
    parts = pressed.args if menu else (pressed.action, *pressed.args)
    page = numbers(parts[:1]) if 1 <= len(parts) <= 2 else None
    chosen = from_code(context.city, parts[1]) if len(parts) == 2 else QueueFilter()
    if not page or chosen is None:
        raise NotAllowed()
    return menu, page[0], chosen


async def on_queue_page(update: Update, context: Context) -> None:
    """Show a page of the queue in place of the pressed message (a list page or a case card
    opened from it), or the filters to choose from; the officer's departments are read again:
    roles may have changed."""
    query = update.callback_query
    assert query is not None
    try:
        menu, page, chosen = queue_press(query.data, context)
        text, rows = await queue_text(context, page, chosen)
    except ShaoziError as exc:
        await answer(update, exc.render(context.gettext), alert=True)
        return
    if menu:
        await choose(update, context.gettext("Which cases?"), filter_menu(context, page, chosen))
        return
    await answer(update)
    with contextlib.suppress(BadRequest):  # unchanged, or too old to edit
        await query.edit_message_text(text, reply_markup=keyboard(rows))


async def send_case_file(context: Context, found: casefile.CaseFile) -> None:
    """A case's staff card with its full history, and the button for its photos."""
    view = found.view
    case = view.case
    card = render_card(context, view)
    reads = "" if found.identity_reads is None else identity_log(context, found.identity_reads)
    room = MAX_TEXT - len(card.text) - len(reads) - 4
    text = (
        card.text
        + "\n\n"
        + cards(context.services).timeline(context.tr, found.events, view.audience, room)
    )
    if reads:
        text += "\n\n" + reads
    buttons = list(card.buttons)
    if view.audience is not Audience.ENTERPRISE or case.status is Status.ASSIGNED:
        buttons.append([case_buttons.photos_button(context.tr, case)])
    await context.bot.send_message(context.account.id, text, reply_markup=keyboard(buttons))


async def case_command(update: Update, context: Context) -> None:
    """Show a case with its full history to staff whose scope it is in, found by its number,
    a part of it, or words from its place or description (a list to choose from when several
    match)."""
    _ = context.gettext
    if not context.args:
        await context.bot.send_message(
            context.account.id,
            _(
                "Send /case followed by a case number (or a part of it), or by words from the "
                "place or the description."
            ),
        )
        return
    typed = " ".join(context.args)
    try:
        found = await search.find(context.services, context.account, typed)
    except ShaoziError as exc:
        await context.bot.send_message(context.account.id, exc.render(_))
        return
    if isinstance(found, casefile.CaseFile):
        await send_case_file(context, found)
        return
    lines = [
        "<b>"
        + context.ngettext(
            "{count} case matches “{text}”:", "{count} cases match “{text}”:", found.total
        ).format(count=found.total, text=html.escape(" ".join(search.terms(typed))))
        + "</b>"
    ]
    lines += [case_line(context, case, found.now) for case in found.cases]
    if found.total > len(found.cases):
        lines.append(
            _(
                "These are the first {shown}, open cases first, then the newest. Add words to "
                "find fewer."
            ).format(shown=len(found.cases))
        )
    marks = legend(context, found.cases, found.now)
    if marks:
        lines += ["", marks]
    choices = [(c.number, case_data("file", c.id, c.version)) for c in found.cases]
    rows = [choices[i : i + 2] for i in range(0, len(choices), 2)]
    await context.bot.send_message(
        context.account.id, "\n".join(lines), reply_markup=keyboard(rows)
    )


def handlers() -> list[BaseHandler[Update, Context, object]]:
    private = filters.ChatType.PRIVATE
    return [
        CommandHandler("queue", queue, private),
        CommandHandler("case", case_command, private),
        CallbackQueryHandler(on_button, pattern=pattern(Space.CASE)),
        CallbackQueryHandler(on_queue_page, pattern=pattern(Space.QUEUE)),
    ]
