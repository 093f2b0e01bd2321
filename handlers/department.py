"""Officers: triage (accept, reject, transfer, duplicate, ask), assignment, verification.

Every button names the case and the version it was made for; the server re-checks that the
presser is an officer of the case's department and that the case has not moved on since.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import html
import math
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from bot import (
    case_buttons,
    dates,
    permissions,
    questions,
    reasons,
    rectification,
    rewards,
    triage,
    verification,
)
from bot.buttons import case_data
from bot.cards import COLOUR_LABELS, MAX_TEXT, REJECT_REASONS, Audience, Cards, Outgoing
from bot.enterprises import CODE_LENGTH, credit_code_error, normalise_credit_code
from bot.errors import (
    CaseMovedOn,
    CaseNotFound,
    InputMistake,
    NotAllowed,
    NotThisStep,
    ShaoziError,
)
from bot.i18n import N_
from bot.labels import LEVEL_LABELS, STATUS_LABELS
from bot.tg import delivery
from bot.tg.context import Context
from bot.vocabulary.grading import Colour
from bot.vocabulary.lifecycle import Level, Status
from bot.vocabulary.models import Case, PendingInput
from bot.vocabulary.roles import Role
from handlers import inputs
from handlers import supervisor as overdue_list
from handlers.common import answer

PREFIX = "cs:1"
QUEUE_PREFIX = "qu:1"  # qu:1:PAGE turns the /queue list to a page
QUEUE_PAGE = 10
MAX_RESULTS = 8
# A card opened from a list ("open" with args KEY, PAGE) gets a button back to that page of it;
# the list's own callback re-checks who may read it.
RETURNS = {
    "q": (QUEUE_PREFIX, N_("« Back to the queue")),
    "ov": (overdue_list.PREFIX, N_("« Back to the overdue list")),
}
DIGITS = re.compile(r"[0-9]{1,18}")  # not str.isdigit(): it accepts "²", which int() refuses


@dataclass(frozen=True)
class Pressed:
    action: str
    case_id: int
    version: int
    args: tuple[str, ...]


def parse(data: str | None) -> Pressed | None:
    parts = (data or "").split(":")
    if len(parts) < 5 or parts[0] != "cs" or parts[1] != "1":
        return None
    if not (DIGITS.fullmatch(parts[3]) and DIGITS.fullmatch(parts[4])):
        return None
    return Pressed(parts[2], int(parts[3]), int(parts[4]), tuple(parts[5:]))


def cards(context: Context) -> Cards:
    return Cards(context.city, context.services.settings.zone)


def keyboard(rows: list[list[tuple[str, str]]]) -> InlineKeyboardMarkup | None:
    if not rows:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=data) for label, data in row] for row in rows]
    )


async def enterprise_name(context: Context, case: Case) -> str | None:
    if case.enterprise_id is None:
        return None
    enterprise = await context.db.read.enterprises.get(case.enterprise_id)
    return enterprise.name if enterprise else None


async def staff_card(context: Context, case: Case, audience: Audience) -> Outgoing:
    """The card a staff member sees, with the buttons their role has at this state."""
    text = cards(context).card(
        context.tr,
        case,
        audience,
        context.clock.now(),
        enterprise_name=await enterprise_name(context, case),
        photo_count=len(await context.db.read.cases.photo_hashes(case.id)),
    )
    if audience in (Audience.OFFICER, Audience.SUPERVISOR):
        reward = await context.db.read.rewards.for_case(case.id)
        if reward is not None:
            text += "\n" + rewards.status_line(context.tr, reward)
    buttons: list[list[tuple[str, str]]] = []
    if audience is Audience.OFFICER:
        buttons = case_buttons.officer_buttons(context.tr, case)
    elif audience is Audience.ENTERPRISE and case.status is Status.ASSIGNED:
        buttons = case_buttons.enterprise_buttons(context.tr, case)
    return Outgoing(text, buttons)


async def show_card(
    update: Update,
    context: Context,
    case: Case,
    *,
    edit: bool,
    extra: list[list[tuple[str, str]]] | None = None,
) -> None:
    """Show the case's current card: in place of the pressed message, or as a new one."""
    card = await staff_card(context, case, permissions.audience_of(context.account, case))
    buttons = keyboard([*card.buttons, *(extra or [])])
    query = update.callback_query
    if edit and query is not None and query.message is not None:
        with contextlib.suppress(BadRequest):  # unchanged, or too old to edit
            await query.edit_message_text(card.text, reply_markup=buttons)
            return
    await context.bot.send_message(context.account.id, card.text, reply_markup=buttons)


async def choose(update: Update, text: str, rows: list[list[tuple[str, str]]]) -> None:
    """Replace the pressed message's buttons with a choice (the card text stays above)."""
    query = update.callback_query
    assert query is not None
    await answer(update, text)
    with contextlib.suppress(BadRequest):
        await query.edit_message_reply_markup(keyboard(rows))


def back(context: Context, case: Case) -> tuple[str, str]:
    return (context.gettext("« Back"), case_data("open", case.id, case.version))


# The officer's buttons ----------------------------------------------------------------------


async def on_button(update: Update, context: Context) -> None:
    """Check an officer's case button, then show the next choice or apply the action."""
    _ = context.gettext
    pressed = parse(update.callback_query.data if update.callback_query else None)
    if pressed is None or pressed.action not in OFFICER_ACTIONS:
        await answer(update, _("This button is no longer valid."), alert=True)
        return
    case = await context.db.read.cases.get(pressed.case_id)
    viewing = pressed.action in VIEW_ACTIONS
    allowed = permissions.can_view if viewing else permissions.is_case_officer
    if case is None or not allowed(context.account, case):
        await answer(update, NotAllowed().render(_), alert=True)
        return
    if case.version != pressed.version and not viewing:
        moved = CaseMovedOn(status=STATUS_LABELS[case.status])
        await answer(update, moved.render(_), alert=True)
        await show_card(update, context, case, edit=True)
        return
    try:
        await OFFICER_ACTIONS[pressed.action](update, context, case, pressed.args)
    except ShaoziError as exc:
        await answer(update, exc.render(_), alert=True)


async def open_case(update: Update, context: Context, case: Case, args: tuple[str, ...]) -> None:
    extra = []
    if args:
        if len(args) != 2 or args[0] not in RETURNS or not DIGITS.fullmatch(args[1]):
            raise NotAllowed()
        prefix, label = RETURNS[args[0]]
        extra.append([(context.gettext(label), f"{prefix}:{int(args[1])}")])
    await answer(update)
    await forget_fine(context, case)  # "« Back" from the closing questions
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
            department=html.escape(cards(context).department(context.tr, args[0]))
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
    if not args or not args[0].isdigit():
        raise NotAllowed()
    if await context.db.read.enterprises.get(int(args[0])) is None:
        raise NotAllowed()
    await offer_deadlines(update, context, case, "a", int(args[0]))


async def handle(update: Update, context: Context, case: Case, args: tuple[str, ...]) -> None:
    await offer_deadlines(update, context, case, "h", 0)


def default_days(context: Context, case: Case) -> int:
    """The city's deadline for the case's colour; an ungraded major hazard counts as red."""
    colour = case.colour or (Colour.RED if case.level is Level.MAJOR else Colour.YELLOW)
    return context.city.deadlines.days(colour)


async def offer_deadlines(
    update: Update, context: Context, case: Case, kind: str, enterprise_id: int
) -> None:
    """Offer the colour's default deadline, two others, or a typed date."""
    _ = context.gettext
    default = default_days(context, case)
    options = sorted({default, max(1, default // 2), default * 2})
    rows = []
    for days in options:
        date = cards(context).date(dates.end_of_day(context.services, days))
        label = context.ngettext("{n} day, by {date}", "{n} days, by {date}", days).format(
            n=days, date=date
        )
        if days == default:
            label = "⭐ " + label
        rows.append([(label, case_data("dl", case.id, case.version, kind, enterprise_id, days))])
    rows.append(
        [
            (
                _("📅 Another date (type it)"),
                case_data("dlo", case.id, case.version, kind, enterprise_id),
            )
        ]
    )
    await choose(update, _("By when must it be fixed?"), [*rows, [back(context, case)]])


async def deadline_chosen(
    update: Update, context: Context, case: Case, args: tuple[str, ...]
) -> None:
    if len(args) != 3 or not args[1].isdigit() or not args[2].isdigit():
        raise NotAllowed()
    kind, enterprise_id, days = args[0], int(args[1]), int(args[2])
    if not 1 <= days <= 366:
        raise NotAllowed()
    deadline = dates.end_of_day(context.services, days)
    if kind == "r":
        pending = await context.db.lookup.inputs.get(context.account.id)
        if pending is None or pending.kind != "return_deadline" or pending.case_id != case.id:
            raise NotAllowed()
        await inputs.done(context, context.account.id)
        updated = await verification.return_fix(
            context.services,
            context.account,
            case.id,
            case.version,
            pending.data["reason"],
            deadline,
        )
    else:
        updated = await apply_deadline(context, case, kind, enterprise_id, deadline)
    await answer(update, context.gettext("Done."))
    await show_card(update, context, updated, edit=True)


async def apply_deadline(
    context: Context, case: Case, kind: str, enterprise_id: int, deadline: dt.datetime
) -> Case:
    services, actor = context.services, context.account
    if kind == "a":
        return await triage.assign(services, actor, case.id, case.version, enterprise_id, deadline)
    if kind == "h":
        return await triage.assign(services, actor, case.id, case.version, None, deadline)
    if kind == "k":
        return await triage.acknowledge(services, actor, case.id, case.version, deadline)
    raise NotAllowed()


async def other_deadline(
    update: Update, context: Context, case: Case, args: tuple[str, ...]
) -> None:
    _ = context.gettext
    if len(args) != 2 or args[0] not in {"a", "h", "k", "r"} or not args[1].isdigit():
        raise NotAllowed()
    data: dict[str, object] = {"kind": args[0], "enterprise_id": int(args[1])}
    if args[0] == "r":
        pending = await context.db.lookup.inputs.get(context.account.id)
        if pending is None or pending.kind != "return_deadline" or pending.case_id != case.id:
            raise NotAllowed()
        data["reason"] = pending.data["reason"]
    await ask_for(
        update,
        context,
        case,
        "deadline",
        _("Type the date, like {example}.").format(
            example=cards(context).date(dates.end_of_day(context.services, 7))
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
    await offer_deadlines(update, context, case, "k", 0)


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
        rows = [
            [(_("No fine"), case_data("cls", case.id, case.version, "g1", "nf"))],
            [back(context, case)],
        ]
        await choose(update, prompt, rows)
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
    pending = await context.db.lookup.inputs.get(context.account.id)
    if pending is not None and pending.kind == "reward_fine" and pending.case_id == case.id:
        await inputs.done(context, context.account.id)


async def close_with(
    update: Update, context: Context, case: Case, outcome: rewards.Outcome | None
) -> None:
    updated, reward = await rewards.close_case(
        context.services, context.account, case.id, case.version, outcome
    )
    await forget_fine(context, case)
    told = context.gettext("Closed (销号). The reporter is told.")
    about_reward = rewards.outcome_text(context.services, context.tr, reward)
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


async def extension(update: Update, context: Context, case: Case, args: tuple[str, ...]) -> None:
    grant = bool(args) and args[0] == "y"
    updated = await rectification.decide_extension(
        context.services, context.account, case.id, case.version, grant
    )
    await answer(update, context.gettext("Done."))
    await show_card(update, context, updated, edit=True)


async def extension_yes(
    update: Update, context: Context, case: Case, args: tuple[str, ...]
) -> None:
    await extension(update, context, case, ("y",))


async def extension_no(update: Update, context: Context, case: Case, args: tuple[str, ...]) -> None:
    await extension(update, context, case, ("n",))


async def photos(update: Update, context: Context, case: Case, args: tuple[str, ...]) -> None:
    """Send the case's photos on request (the stripped copies)."""
    await send_photos(update, context, case)


async def send_photos(update: Update, context: Context, case: Case) -> None:
    _ = context.gettext
    hashes = [
        sha
        for kind in ("report", "fix", "reopen")
        for sha in await context.db.read.cases.photo_hashes(case.id, kind)
    ]
    root = context.services.settings.photos_dir
    await delivery.send_photos(context.bot, context.db, root, context.account.id, hashes)
    await answer(update, None if hashes else _("No photos."))


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
}


# What officers type ---------------------------------------------------------------------------


async def typed_case(
    update: Update, context: Context, pending: PendingInput
) -> tuple[Case, str] | None:
    """The case and the text of a typed answer, or None after telling the user what is wrong."""
    _ = context.gettext
    message = update.effective_message
    assert message is not None
    if message.text is None:
        await message.reply_text(_("Please type it as text, or send /cancel."))
        return None
    case = await context.db.read.cases.get(pending.case_id or 0)
    if case is None:
        await inputs.done(context, context.account.id)
        await message.reply_text(NotAllowed().render(_))
        return None
    return case, message.text


Apply = Callable[[Case, str], Awaitable[Case | None]]


async def run_typed(update: Update, context: Context, pending: PendingInput, apply: Apply) -> None:
    """Apply a typed input; keep waiting after a fixable mistake, stop after any other."""
    _ = context.gettext
    message = update.effective_message
    assert message is not None
    typed = await typed_case(update, context, pending)
    if typed is None:
        return
    case, text = typed
    updated = await inputs.settle(context, message, lambda: apply(case, text))
    if updated is not None:
        await show_card(update, context, updated, edit=False)


@inputs.handles("reject_reason")
async def typed_reject_reason(update: Update, context: Context, pending: PendingInput) -> None:
    """Reject with the officer's own reason."""

    async def apply(case: Case, text: str) -> Case:
        return await triage.reject(
            context.services, context.account, case.id, pending.version or 0, text
        )

    await run_typed(update, context, pending, apply)


@inputs.handles("transfer_reason")
async def typed_transfer_reason(update: Update, context: Context, pending: PendingInput) -> None:
    """Transfer with the typed reason."""

    async def apply(case: Case, text: str) -> Case:
        return await triage.transfer(
            context.services,
            context.account,
            case.id,
            pending.version or 0,
            str(pending.data.get("department")),
            text,
        )

    await run_typed(update, context, pending, apply)


@inputs.handles("merge_target")
async def typed_merge_target(update: Update, context: Context, pending: PendingInput) -> None:
    """Merge into the typed case number."""

    async def apply(case: Case, text: str) -> Case:
        return await triage.merge(
            context.services, context.account, case.id, pending.version or 0, text
        )

    await run_typed(update, context, pending, apply)


@inputs.handles("question")
async def typed_question(update: Update, context: Context, pending: PendingInput) -> None:
    """Relay the officer's question to the reporter."""
    _ = context.gettext

    async def apply(case: Case, text: str) -> Case | None:
        await questions.ask_reporter(context.services, context.account, case.id, text)
        message = update.effective_message
        assert message is not None
        await message.reply_text(_("Your question was passed on. The answer will come here."))
        return None

    await run_typed(update, context, pending, apply)


@inputs.handles("return_reason")
async def typed_return_reason(update: Update, context: Context, pending: PendingInput) -> None:
    """Take the reason a fix is returned, then offer the new deadline."""
    _ = context.gettext
    typed = await typed_case(update, context, pending)
    if typed is None:
        return
    case, text = typed
    message = update.effective_message
    assert message is not None
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
    default = default_days(context, case)
    date = cards(context).date(dates.end_of_day(context.services, default))
    rows = [
        [
            (
                context.ngettext("{n} day, by {date}", "{n} days, by {date}", default).format(
                    n=default, date=date
                ),
                case_data("dl", case.id, case.version, "r", 0, default),
            )
        ],
        [(_("📅 Another date (type it)"), case_data("dlo", case.id, case.version, "r", 0))],
    ]
    await message.reply_text(
        _("By when must it be fixed again? Choose, or type a date."), reply_markup=keyboard(rows)
    )


@inputs.handles("return_deadline")
async def typed_return_deadline(update: Update, context: Context, pending: PendingInput) -> None:
    """Return the fix with the typed new deadline."""

    async def apply(case: Case, text: str) -> Case:
        deadline = dates.parse_deadline(context.services, text)
        return await verification.return_fix(
            context.services,
            context.account,
            case.id,
            pending.version or 0,
            str(pending.data["reason"]),
            deadline,
        )

    await run_typed(update, context, pending, apply)


@inputs.handles("deadline")
async def typed_deadline(update: Update, context: Context, pending: PendingInput) -> None:
    """Apply the typed deadline to an assignment, a handling, an acknowledgement or a return."""

    async def apply(case: Case, text: str) -> Case:
        deadline = dates.parse_deadline(context.services, text)
        kind = str(pending.data.get("kind"))
        version = pending.version or 0
        if kind == "r":
            return await verification.return_fix(
                context.services,
                context.account,
                case.id,
                version,
                str(pending.data["reason"]),
                deadline,
            )
        fresh = case.model_copy(update={"version": version})
        return await apply_deadline(
            context, fresh, kind, int(pending.data.get("enterprise_id") or 0), deadline
        )

    await run_typed(update, context, pending, apply)


@inputs.handles("reward_fine")
async def typed_fine(update: Update, context: Context, pending: PendingInput) -> None:
    """Close a genuine report's case with the fine the officer typed."""
    message = update.effective_message
    assert message is not None

    async def apply(case: Case, text: str) -> Case:
        fine = rewards.parse_yuan(text)
        updated, reward = await rewards.close_case(
            context.services,
            context.account,
            case.id,
            pending.version or 0,
            rewards.Outcome(genuine=True, fine=fine or None),
        )
        told = context.gettext("Closed (销号). The reporter is told.")
        about_reward = rewards.outcome_text(context.services, context.tr, reward)
        await message.reply_text(f"{told} {about_reward}".strip())
        return updated

    await run_typed(update, context, pending, apply)


@inputs.handles("enterprise_search")
async def typed_search(update: Update, context: Context, pending: PendingInput) -> None:
    """Find enterprises by name or credit code and offer them with their record."""
    _ = context.gettext
    typed = await typed_case(update, context, pending)
    if typed is None:
        return
    case, text = typed
    message = update.effective_message
    assert message is not None
    found = await context.db.read.enterprises.search(text, MAX_RESULTS)
    code = normalise_credit_code(text)
    if not found and code != text.strip():
        # A code typed with a Chinese input method comes in full-width characters.
        found = await context.db.read.enterprises.search(code, MAX_RESULTS)
    if not found and looks_like_credit_code(code):
        problem = credit_code_error(code)
        if problem is not None:
            await message.reply_text(
                html.escape(problem.render(_)) + "\n" + _("(Send /cancel to give up.)")
            )
            return
    if not found:
        await message.reply_text(
            _("No enterprise matches “{text}”. Try another part of the name, or /cancel.").format(
                text=html.escape(text.strip())
            )
        )
        return
    await inputs.done(context, context.account.id)
    now = context.clock.now()
    lines = [_("Choose the enterprise for case {number}:").format(number=case.number)]
    rows = []
    fresh = case.model_copy(update={"version": pending.version or 0})
    for enterprise in found:
        open_, overdue, closed = await context.db.read.cases.enterprise_counts(enterprise.id, now)
        lines.append(
            "• "
            + html.escape(enterprise.name)
            + f" ({enterprise.credit_code or '—'}) · "
            + _("open {open}, overdue {overdue}, closed {closed}").format(
                open=open_, overdue=overdue, closed=closed
            )
        )
        rows.append(
            [(enterprise.name[:60], case_data("asge", fresh.id, fresh.version, enterprise.id))]
        )
    await message.reply_text("\n".join(lines), reply_markup=keyboard(rows))


def looks_like_credit_code(code: str) -> bool:
    """Whether a normalised search text is meant as a whole credit code rather than a name: a
    code has a six-digit district code and mostly digits; a name rarely has eight."""
    return (
        len(code) >= CODE_LENGTH
        and code.isascii()
        and code.isalnum()
        and sum(ch.isdigit() for ch in code) >= 8
    )


# /queue and /case ---------------------------------------------------------------------------


def needs_action_first(now: dt.datetime) -> Callable[[Case], tuple[bool, bool]]:
    """Sort key: cases the reporter says are not fixed, then overdue ones (each oldest first,
    as the storage returns them and sorting is stable)."""
    return lambda case: (not case.reopened, not case.overdue(now))


Rows = list[list[tuple[str, str]]]


async def queue_page(context: Context, departments: list[str], page: int) -> tuple[str, Rows]:
    """One page of the cases waiting on the officer's departments, a button for each case.

    The departments' lists follow one another; a page shows the heading of each department it
    has cases of (the first page also of those with none), so every case is on some page.
    """
    _ = context.gettext
    now = context.clock.now()
    show = cards(context)
    waiting: dict[str, list[Case]] = {}
    for code in departments:
        cases = await context.db.read.cases.department_queue(code)
        waiting[code] = sorted(cases, key=needs_action_first(now))
    listed = [(code, case) for code in departments for case in waiting[code]]
    pages = max(1, math.ceil(len(listed) / QUEUE_PAGE))
    page = min(max(page, 0), pages - 1)
    shown = listed[page * QUEUE_PAGE : (page + 1) * QUEUE_PAGE]
    lines = []
    for code in departments:
        on_page = [case for department, case in shown if department == code]
        if not on_page and (waiting[code] or page > 0):
            continue
        count = len(waiting[code])
        lines.append(
            "<b>"
            + html.escape(show.department(context.tr, code))
            + "</b> · "
            + context.ngettext("{count} case waiting", "{count} cases waiting", count).format(
                count=count
            )
        )
        for case in on_page:
            flags = ""
            if case.reopened:
                flags += " ⚠️"
            if case.overdue(now):
                flags += " ⏰"
            category = html.escape(show.category(context.tr, case.category))
            status = show.status(context.tr, case, now)
            lines.append(f"• {case.number} · {category} · {status}{flags}")
    if not listed:
        lines.append(_("Nothing is waiting. Well done!"))
    buttons = [
        (case.number, case_data("open", case.id, case.version, "q", page)) for _, case in shown
    ]
    return paged(context, lines, buttons, QUEUE_PREFIX, page, pages)


def paged(
    context: Context,
    lines: list[str],
    buttons: list[tuple[str, str]],
    prefix: str,
    page: int,
    pages: int,
) -> tuple[str, Rows]:
    """A list page: its lines, its buttons two a row, and when there are several pages the page
    number and « Previous / Next » (``prefix:PAGE``)."""
    _ = context.gettext
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    if pages > 1:
        lines = [*lines, "(" + _("page {page} of {pages}").format(page=page + 1, pages=pages) + ")"]
        turn = []
        if page > 0:
            turn.append((_("« Previous"), f"{prefix}:{page - 1}"))
        if page < pages - 1:
            turn.append((_("Next »"), f"{prefix}:{page + 1}"))
        rows.append(turn)
    return "\n".join(lines), rows


async def queue(update: Update, context: Context) -> None:
    """List the cases waiting on the officer's departments, what needs action first."""
    _ = context.gettext
    departments = sorted(context.account.departments(Role.OFFICER))
    if not departments:
        await context.bot.send_message(context.account.id, NotAllowed().render(_))
        return
    text, rows = await queue_page(context, departments, 0)
    await context.bot.send_message(context.account.id, text, reply_markup=keyboard(rows))


async def on_queue_page(update: Update, context: Context) -> None:
    """Show a page of the queue in place of the pressed message (a list page or a case card
    opened from it); the officer's departments are read again: roles may have changed."""
    _ = context.gettext
    query = update.callback_query
    assert query is not None
    departments = sorted(context.account.departments(Role.OFFICER))
    parts = (query.data or "").split(":")
    if not departments or len(parts) != 3 or not DIGITS.fullmatch(parts[2]):
        await answer(update, NotAllowed().render(_), alert=True)
        return
    text, rows = await queue_page(context, departments, int(parts[2]))
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
    number = context.args[0].strip().upper()
    case = await context.db.read.cases.by_number(number)
    if case is None or not permissions.can_view(context.account, case):
        await context.bot.send_message(
            context.account.id,
            CaseNotFound(number=html.escape(number)).render(_),
        )
        return
    audience = permissions.audience_of(context.account, case)
    card = await staff_card(context, case, audience)
    events = await context.db.read.cases.events(case.id)
    room = MAX_TEXT - len(card.text) - 2
    text = card.text + "\n\n" + cards(context).timeline(context.tr, events, audience, room)
    buttons = list(card.buttons)
    if audience is not Audience.ENTERPRISE or case.status is Status.ASSIGNED:
        buttons.append([(_("📷 Photos"), case_data("pho", case.id, case.version))])
    await context.bot.send_message(context.account.id, text, reply_markup=keyboard(buttons))


def handlers() -> list[BaseHandler[Update, Context, object]]:
    private = filters.ChatType.PRIVATE
    return [
        CommandHandler("queue", queue, private),
        CommandHandler("case", case_command, private),
        CallbackQueryHandler(on_button, pattern=f"^{PREFIX}:"),
        CallbackQueryHandler(on_queue_page, pattern=f"^{QUEUE_PREFIX}:"),
    ]
