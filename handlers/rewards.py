"""Rewards: supervisors decide proposals, mark payouts and read the ledger; reporters get codes.

Buttons are ``rw:1:<action>:<reward id>``; each press re-checks on the server who presses
(a supervisor of the case's scope, or the reward's reporter) and that the reward is still at the
step the button was made for.
"""

from __future__ import annotations

import contextlib
import html

from telegram import Update
from telegram.error import BadRequest
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from bot import reward_notices, rewards
from bot.buttons import Space, decode, pattern
from bot.cards import cards
from bot.errors import NotAllowed, ShaoziError
from bot.tg.context import Context
from bot.tg.keyboards import keyboard
from bot.vocabulary.models import PendingInput
from handlers import inputs
from handlers.common import answer

ACTIONS = frozenset({"ok", "chg", "no", "code", "open"})
LISTED = 30


# Buttons ----------------------------------------------------------------------------------------


def pressed_reward(data: str | None) -> tuple[str, int] | None:
    """The action and the reward of a reward button (rw:1:ACTION:REWARD)."""
    pressed = decode(data)
    if pressed is None or pressed.space is not Space.REWARD or pressed.action not in ACTIONS:
        return None
    reward_id = pressed.number(0)
    if reward_id is None or len(pressed.args) != 1:
        return None
    return pressed.action, reward_id


async def on_button(update: Update, context: Context) -> None:
    """Route a reward button: a supervisor's decision, or the reporter asking for the code."""
    _ = context.gettext
    query = update.callback_query
    assert query is not None
    pressed = pressed_reward(query.data)
    if pressed is None:
        await answer(update, _("This button is no longer valid."), alert=True)
        return
    action, reward_id = pressed
    try:
        if action == "code":
            await show_code(update, context, reward_id)
        else:
            await decide(update, context, action, reward_id)
    except ShaoziError as exc:
        await answer(update, exc.render(_), alert=True)
        if isinstance(exc, rewards.RewardDecided):
            with contextlib.suppress(BadRequest):
                await query.edit_message_reply_markup(None)


async def decide(update: Update, context: Context, action: str, reward_id: int) -> None:
    _ = context.gettext
    query = update.callback_query
    assert query is not None
    reward, case = await rewards.decision_view(context.services, context.account, reward_id)
    if action == "open":
        await answer(update)
        await context.bot.send_message(
            context.account.id,
            reward_notices.proposal_text(context.services, context.tr, reward, case),
            reply_markup=keyboard(reward_notices.decision_buttons(context.tr, reward)),
        )
    elif action == "ok":
        approved, case = await rewards.approve(context.services, context.account, reward_id)
        text = _("Approved: {amount} yuan for case {number}. The reporter is told.").format(
            amount=reward_notices.yuan(approved.amount), number=case.number
        )
        await answer(update, text)
        await settled(update, context, text)
    elif action == "chg":
        await ask_typed(
            update,
            context,
            "reward_amount",
            case.id,
            reward.id,
            _("Case {number}: type the reward in yuan (proposed: {amount}).").format(
                number=case.number, amount=reward_notices.yuan(reward.amount_proposed)
            ),
        )
    elif action == "no":
        await ask_typed(
            update,
            context,
            "reward_refusal",
            case.id,
            reward.id,
            _("Case {number}: why is the reward refused? Type the reason for the ledger.").format(
                number=case.number
            ),
        )


async def ask_typed(
    update: Update, context: Context, kind: str, case_id: int, reward_id: int, text: str
) -> None:
    """Wait for the supervisor's typed amount or reason for this reward, and ask for it."""
    await inputs.expect(
        context, context.account.id, kind, case_id=case_id, data={"reward": reward_id}
    )
    await answer(update)
    await prompt(context, text)


async def settled(update: Update, context: Context, outcome: str) -> None:
    """Put the decision under the proposal and take its buttons off."""
    query = update.callback_query
    if query is None or query.message is None:
        return
    text = getattr(query.message, "text_html", None)
    with contextlib.suppress(BadRequest):
        if text:
            await query.edit_message_text(text + "\n\n" + html.escape(outcome), reply_markup=None)
        else:
            await query.edit_message_reply_markup(None)


async def prompt(context: Context, text: str) -> None:
    await context.bot.send_message(
        context.account.id, text + "\n" + context.gettext("(Send /cancel to give up.)")
    )


async def show_code(update: Update, context: Context, reward_id: int) -> None:
    """Make the reporter's claim code and show it once, in the reward notice itself."""
    query = update.callback_query
    assert query is not None
    before, case, code = await rewards.issue_code(context.services, context.account, reward_id)
    replaces = before.claim_code_hash is not None
    text = reward_notices.approved_text(
        context.services, context.tr, before, case, code=code, replaces=replaces
    )
    await answer(update)
    try:
        await query.edit_message_text(text, reply_markup=None)
    except BadRequest:
        # Too old to edit, or deleted: the code must reach the reporter all the same.
        await context.bot.send_message(context.account.id, text)


# What supervisors type ---------------------------------------------------------------------------


def pending_reward(pending: PendingInput) -> int:
    value = pending.data.get("reward")
    if not isinstance(value, int):
        raise NotAllowed()
    return value


@inputs.handles("reward_amount")
async def typed_amount(update: Update, context: Context, pending: PendingInput) -> None:
    """Take the changed amount, then ask for the reason."""
    _ = context.gettext
    message = update.effective_message
    assert message is not None
    if message.text is None:
        await message.reply_text(_("Please type it as text, or send /cancel."))
        return
    amount = await inputs.settle(
        context,
        message,
        lambda: rewards.changed_amount(
            context.services, context.account, pending_reward(pending), message.text or ""
        ),
    )
    if amount is None:
        return
    await inputs.expect(
        context,
        context.account.id,
        "reward_change_reason",
        case_id=pending.case_id,
        data={"reward": pending_reward(pending), "amount": amount},
    )
    await prompt(
        context,
        _("Why {amount} yuan? Type the reason for the ledger.").format(
            amount=reward_notices.yuan(amount)
        ),
    )


@inputs.handles("reward_change_reason")
async def typed_change_reason(update: Update, context: Context, pending: PendingInput) -> None:
    """Approve with the changed amount and the typed reason."""
    _ = context.gettext
    message = update.effective_message
    assert message is not None
    if message.text is None:
        await message.reply_text(_("Please type it as text, or send /cancel."))
        return
    amount = pending.data.get("amount")
    if not isinstance(amount, int):
        await inputs.done(context, context.account.id)
        return

    async def apply() -> str:
        approved, case = await rewards.approve(
            context.services,
            context.account,
            pending_reward(pending),
            amount,
            message.text or "",
        )
        return _("Approved: {amount} yuan for case {number}. The reporter is told.").format(
            amount=reward_notices.yuan(approved.amount), number=case.number
        )

    done = await inputs.settle(context, message, apply)
    if done is not None:
        await message.reply_text(done)


@inputs.handles("reward_refusal")
async def typed_refusal(update: Update, context: Context, pending: PendingInput) -> None:
    """Refuse the proposal with the typed reason."""
    _ = context.gettext
    message = update.effective_message
    assert message is not None
    if message.text is None:
        await message.reply_text(_("Please type it as text, or send /cancel."))
        return

    async def apply() -> str:
        _refused, case = await rewards.refuse(
            context.services, context.account, pending_reward(pending), message.text or ""
        )
        return _("The reward for case {number} was refused; the reason is in the ledger.").format(
            number=case.number
        )

    done = await inputs.settle(context, message, apply)
    if done is not None:
        await message.reply_text(done)


# Commands ----------------------------------------------------------------------------------------


async def paid_command(update: Update, context: Context) -> None:
    """Mark the reward with the given claim code paid."""
    _ = context.gettext
    message = update.effective_message
    assert message is not None
    code = "".join(context.args or [])
    try:
        reward, case = await rewards.pay(context.services, context.account, code)
    except ShaoziError as exc:
        await message.reply_text(exc.render(_))
        return
    await message.reply_text(
        _("Paid: {amount} yuan for case {number}. The reporter is told.").format(
            amount=reward_notices.yuan(reward.amount), number=case.number
        )
    )


async def rewards_command(update: Update, context: Context) -> None:
    """List the rewards in the supervisor's scope, newest first."""
    _ = context.gettext
    message = update.effective_message
    assert message is not None
    try:
        lines = await rewards.ledger(context.services, context.account, LISTED)
    except ShaoziError as exc:
        await message.reply_text(exc.render(_))
        return
    if not lines:
        await message.reply_text(_("There are no rewards in your scope yet."))
        return
    show = cards(context.services)
    text = [_("Rewards, newest first:")]
    rows = []
    for line in lines:
        reward = line.reward
        entry = f"• {line.number} · {_(reward_notices.STATUS_LABELS[reward.status])}"
        if reward.amount is not None:
            entry += " · " + _("{amount} yuan").format(amount=reward_notices.yuan(reward.amount))
        if reward.status is rewards.RewardStatus.APPROVED:
            entry += " · " + _("claim by {date}").format(date=show.date(reward.expires_at))
        text.append(entry)
        if reward.status is rewards.RewardStatus.PROPOSED:
            rows.append(
                [
                    (
                        _("Decide {number}").format(number=line.number),
                        reward_notices.reward_data("open", reward),
                    )
                ]
            )
    text.append("")
    text.append(_("/rewardledger sends all of them as a file, with the reporters for payout."))
    await message.reply_text("\n".join(text), reply_markup=keyboard(rows))


async def ledger_command(update: Update, context: Context) -> None:
    """Send the reward ledger (CSV, UTF-8 with BOM): for the payout it names the real-name
    reporters of approved rewards, and each one shown is logged (bot/identity.py)."""
    _ = context.gettext
    message = update.effective_message
    assert message is not None
    try:
        data = await rewards.ledger_csv(context.services, context.account, context.tr)
    except ShaoziError as exc:
        await message.reply_text(exc.render(_))
        return
    day = cards(context.services).date(context.clock.now())
    await context.bot.send_document(
        context.account.id,
        data,
        filename=f"rewards-{day}.csv",
        caption=_(
            "The reward ledger. It names real-name reporters for the payout: keep it confidential."
        ),
    )


def handlers() -> list[BaseHandler[Update, Context, object]]:
    private = filters.ChatType.PRIVATE
    return [
        CommandHandler("rewards", rewards_command, private),
        CommandHandler("rewardledger", ledger_command, private),
        CommandHandler("paid", paid_command, private),
        CallbackQueryHandler(on_button, pattern=pattern(Space.REWARD)),
    ]
