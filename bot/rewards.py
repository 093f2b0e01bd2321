"""Whistleblower rewards (有奖举报): a reward's way from closing to payout.

The officer records the outcome when closing (genuine? fine?); a supervisor of the case's scope
approves, changes or refuses the proposal; the reporter then gets a one-time claim code (only its
hash is stored) and claims offline, where a supervisor marks it paid with ``/paid CODE``. Nothing
of this enters the case's history: an enterprise reads that history and must not learn of it.

What the policy gives is bot/reward_policy.py's; what each party is told, bot/reward_notices.py's.
"""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from bot import identity, review
from bot.accounts import Account
from bot.cards import cards
from bot.city import RewardPolicy
from bot.dates import end_of_day
from bot.errors import InputMistake, NotAllowed, ShaoziError
from bot.i18n import N_, Translator
from bot.invites import code_hash, new_code, normalise
from bot.notify import Notifier
from bot.pending import owed
from bot.permissions import is_case_supervisor
from bot.reasons import check_reason
from bot.reward_notices import (
    STATUS_LABELS,
    approved_message,
    lapsed_message,
    ledger_rows,
    paid_message,
    proposal_card,
    reminder_message,
)
from bot.reward_policy import Facts, could_reward, propose
from bot.services import Services
from bot.verification import close
from bot.vocabulary.models import Case
from bot.vocabulary.roles import Role
from storage.db import Session
from storage.rewards import LedgerLine, Reward, RewardStatus

__all__ = ["Reward", "RewardStatus"]

REMIND_DAYS_BEFORE = 7
MAX_YUAN = 10**10


# Amounts typed by staff ------------------------------------------------------------------------


class AmountInvalid(InputMistake):
    message = N_("Please type a whole number of yuan, like {example}.")


class AmountOutOfRange(InputMistake):
    message = N_("Please give an amount from 1 to {maximum} yuan.")


_SEPARATORS = re.compile(r"[\s,，_'’]")
_CURRENCY = re.compile(r"^(?:¥|￥|rmb|cny)|(?:元|rmb|cny|yuan)$", re.IGNORECASE)
_WAN = re.compile(r"^(\d+(?:\.\d+)?)万$")


def parse_yuan(text: str, example: int = 50000) -> int:
    """A sum of yuan as an officer types it: 50000, 50,000, 50 000元, ¥50000 or 5万."""
    raw = _SEPARATORS.sub("", text.strip())
    raw = _CURRENCY.sub("", raw).strip()
    wan = _WAN.match(raw)
    value: Decimal | None = None
    try:
        if wan is not None:
            value = Decimal(wan.group(1)) * 10000
        elif raw.isdigit():
            value = Decimal(raw)
    except InvalidOperation:
        value = None
    if value is None or value != value.to_integral_value() or value > MAX_YUAN:
        raise AmountInvalid(example=example)
    return int(value)


def check_amount(policy: RewardPolicy, amount: int) -> int:
    """An amount a supervisor sets: at least 1 yuan, at most the city's largest reward."""
    maximum = max(policy.major_maximum, policy.ordinary_fixed)
    if not 1 <= amount <= maximum:
        raise AmountOutOfRange(maximum=f"{maximum:,}")
    return amount


# Errors ------------------------------------------------------------------------------------


class RewardDecided(ShaoziError):
    message = N_("This reward was decided already (it is now: {status}). Nothing was changed.")
    translated = ("status",)


class ClaimCodeMissing(InputMistake):
    message = N_("Send /paid followed by the claim code.")


class ClaimCodeUnknown(ShaoziError):
    message = N_(
        "No reward in your scope has this claim code. Check it and try again; nothing was changed."
    )


class ClaimCodeUsed(ShaoziError):
    message = N_(
        "This claim code was used already: the reward for case {number} was paid on {date}. "
        "Nothing was changed."
    )


class RewardLapsed(ShaoziError):
    message = N_(
        "The reward for case {number} lapsed on {date}: it can no longer be claimed. "
        "Nothing was changed."
    )


class RewardAlreadyPaid(ShaoziError):
    message = N_("The reward for case {number} was paid already. Thank you!")


# Who may see and decide ---------------------------------------------------------------------


def supervisor_scope(account: Account) -> set[str] | None:
    """The departments whose rewards a supervisor sees (None: the whole city)."""
    scopes = [m.department for m in account.memberships if m.role is Role.SUPERVISOR]
    if not scopes:
        raise NotAllowed()
    if any(scope is None for scope in scopes):
        return None
    return {scope for scope in scopes if scope is not None}


# Closing: the officer's outcome -------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What the officer records when closing a case that could earn a reward."""

    genuine: bool
    fine: int | None = None


def month_bounds(services: Services, now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """The city's calendar month around ``now``, in UTC."""
    zone = services.settings.zone
    local = now.astimezone(zone)
    start = dt.datetime(local.year, local.month, 1, tzinfo=zone)
    following = dt.datetime(local.year + local.month // 12, local.month % 12 + 1, 1, tzinfo=zone)
    return start.astimezone(dt.UTC), following.astimezone(dt.UTC)


async def facts_of(
    session: Session, services: Services, case: Case, now: dt.datetime, outcome: Outcome
) -> Facts:
    """The facts of a case's reward: its outcome, and what is known of its reporter."""
    reporter = await session.reporters.account(case.id)
    memberships = await session.users.memberships(reporter) if reporter is not None else []
    contact = case.enterprise_id is not None and any(
        m.role is Role.ENTERPRISE and m.enterprise_id == case.enterprise_id for m in memberships
    )
    since, until = month_bounds(services, now)
    return Facts(
        level=case.level,
        genuine=outcome.genuine,
        fine=outcome.fine,
        # The reward goes to the case's reporter, who filed it first; co-reporters follow it.
        first_reporter=True,
        enterprise_contact=contact,
        self_reported=case.self_reported,
        paid_this_month=(
            await session.rewards.committed_ordinary(reporter, since, until) if reporter else 0
        ),
    )


async def should_ask(services: Services, case: Case) -> bool:
    """Whether closing this case asks the officer for the outcome (genuine? fine?)."""
    policy = services.city.reward
    if not policy.enabled or case.self_reported:
        return False
    read = services.db.read
    if await read.reporters.account(case.id) is None:
        return False  # a partner channel's reporter has no account to claim a reward with
    if await read.rewards.for_case(case.id) is not None:
        return False  # closed before, reopened by its reporter: the first outcome stands
    facts = await facts_of(read, services, case, services.clock.now(), Outcome(genuine=True))
    return could_reward(policy, facts)


async def awaits_fine(services: Services, actor: Account, case_id: int) -> bool:
    """Whether the officer was asked the fine of this case's closing and has not typed it."""
    pending = await owed(services, actor.id, "reward_fine")
    return pending is not None and pending.case_id == case_id


async def close_case(
    services: Services, actor: Account, case_id: int, version: int, outcome: Outcome | None
) -> tuple[Case, Reward | None]:
    """Close the case and, with an outcome, record the reward it earns, in one transaction."""
    recorded: list[Reward] = []

    async def record(notifier: Notifier, case: Case, event: int) -> None:
        if outcome is not None:
            reward = await record_outcome(services, notifier, actor, case, outcome)
            if reward is not None:
                recorded.append(reward)
            if not outcome.genuine:
                await review.offer_after_not_genuine(notifier, case, f"ev:{event}:rv")

    genuine = outcome is None or outcome.genuine
    case = await close(services, actor, case_id, version, genuine=genuine, also=record)
    return case, (recorded[0] if recorded else None)


async def record_outcome(
    services: Services, notifier: Notifier, actor: Account, case: Case, outcome: Outcome
) -> Reward | None:
    """Store the proposal (or that there is none) and put a proposal before the supervisors."""
    policy, tx, now = services.city.reward, notifier.tx, notifier.now
    reporter = await tx.reporters.account(case.id)
    if not policy.enabled or case.self_reported or reporter is None:
        return None
    fine = outcome.fine if outcome.fine else None
    facts = await facts_of(tx, services, case, now, Outcome(outcome.genuine, fine))
    proposal = propose(policy, facts)
    status = RewardStatus.PROPOSED if proposal.amount else RewardStatus.NONE
    added = await tx.rewards.add(
        case_id=case.id,
        reporter_id=reporter,
        level=case.level,
        genuine=outcome.genuine,
        fine=fine,
        amount=proposal.amount,
        status=status,
        basis=proposal.basis.value,
        proposed_by=actor.id,
        now=now,
    )
    if not added:
        return None
    reward = await tx.rewards.for_case(case.id)
    assert reward is not None
    if status is RewardStatus.PROPOSED:
        await notifier.supervisors(
            case.department, f"rw:new:{reward.id}", proposal_card(services, reward, case)
        )
    return reward


# A supervisor decides ------------------------------------------------------------------------


async def _decidable(session: Session, actor: Account, reward_id: int) -> tuple[Reward, Case]:
    reward = await session.rewards.get(reward_id)
    case = await session.cases.get(reward.case_id) if reward else None
    if reward is None or case is None or not is_case_supervisor(actor, case):
        raise NotAllowed()
    if reward.reporter_id == actor.id:
        raise NotAllowed()  # a supervisor who reported it as a citizen does not decide it
    if reward.status is not RewardStatus.PROPOSED:
        raise RewardDecided(status=STATUS_LABELS[reward.status])
    return reward, case


async def decision_view(services: Services, actor: Account, reward_id: int) -> tuple[Reward, Case]:
    """A proposal a supervisor may still decide (else a ShaoziError saying why not)."""
    return await _decidable(services.db.read, actor, reward_id)


async def changed_amount(services: Services, actor: Account, reward_id: int, text: str) -> int:
    """The amount a supervisor typed to approve instead of the proposal's. Refused now, not
    after they typed their reason too, when someone decided the proposal meanwhile."""
    amount = check_amount(services.city.reward, parse_yuan(text, 5000))
    await decision_view(services, actor, reward_id)
    return amount


async def approve(
    services: Services,
    actor: Account,
    reward_id: int,
    amount: int | None = None,
    reason: str | None = None,
) -> tuple[Reward, Case]:
    """Approve a proposal (with another amount and a reason); tell the reporter."""
    policy, now = services.city.reward, services.clock.now()
    note = check_reason(reason) if reason is not None else None
    if amount is not None:
        check_amount(policy, amount)
    async with services.db.transaction() as tx:
        reward, case = await _decidable(tx, actor, reward_id)
        final = amount if amount is not None else reward.amount_proposed
        assert final is not None
        expires = end_of_day(services, policy.claim_days)
        if not await tx.rewards.approve(reward.id, final, note, actor.id, now, expires):
            raise RewardDecided(status=STATUS_LABELS[RewardStatus.APPROVED])
        approved = await tx.rewards.get(reward.id)
        assert approved is not None
        await Notifier(tx, services, now).user(
            approved.reporter_id,
            f"rw:ok:{approved.id}",
            approved_message(services, approved, case),
            quiet=True,
        )
    return approved, case


async def refuse(
    services: Services, actor: Account, reward_id: int, reason: str
) -> tuple[Reward, Case]:
    """Refuse a proposal with a reason kept in the ledger."""
    note = check_reason(reason)
    now = services.clock.now()
    async with services.db.transaction() as tx:
        reward, case = await _decidable(tx, actor, reward_id)
        if not await tx.rewards.refuse(reward.id, note, actor.id, now):
            raise RewardDecided(status=STATUS_LABELS[RewardStatus.NONE])
        refused = await tx.rewards.get(reward.id)
        assert refused is not None
    return refused, case


# The claim ----------------------------------------------------------------------------------


async def issue_code(
    services: Services, actor: Account, reward_id: int
) -> tuple[Reward, Case, str]:
    """A new claim code for the reporter's approved reward: its hash is stored and any earlier
    code no longer works. Returns the reward as it was before (had it a code?) and the code."""
    now = services.clock.now()
    async with services.db.transaction() as tx:
        reward = await tx.rewards.get(reward_id)
        case = await tx.cases.get(reward.case_id) if reward else None
        if reward is None or case is None or reward.reporter_id != actor.id:
            raise NotAllowed()
        date = cards(services).date(reward.expires_at)
        if reward.status is RewardStatus.PAID:
            raise RewardAlreadyPaid(number=case.number)
        if reward.status is RewardStatus.EXPIRED or (
            reward.expires_at is not None and reward.expires_at <= now
        ):
            raise RewardLapsed(number=case.number, date=date)
        if reward.status is not RewardStatus.APPROVED:
            raise NotAllowed()
        code = new_code()
        if not await tx.rewards.set_code(reward.id, code_hash(code), now):
            raise NotAllowed()
    return reward, case, code


async def pay(services: Services, actor: Account, code: str) -> tuple[Reward, Case]:
    """Mark the reward with this claim code paid, once; tell the reporter."""
    scope = supervisor_scope(actor)
    if not code:
        raise ClaimCodeMissing()
    now = services.clock.now()
    async with services.db.transaction() as tx:
        reward = await tx.rewards.by_code_hash(code_hash(code)) if normalise(code) else None
        case = await tx.cases.get(reward.case_id) if reward else None
        if reward is None or case is None or (scope is not None and case.department not in scope):
            raise ClaimCodeUnknown()
        if reward.reporter_id == actor.id:
            raise NotAllowed()  # nobody pays out their own reward
        if reward.status is RewardStatus.PAID:
            raise ClaimCodeUsed(number=case.number, date=cards(services).date(reward.paid_at))
        lapsed = reward.expires_at is None or reward.expires_at <= now
        if reward.status is RewardStatus.EXPIRED or (
            reward.status is RewardStatus.APPROVED and lapsed
        ):
            raise RewardLapsed(number=case.number, date=cards(services).date(reward.expires_at))
        if not await tx.rewards.mark_paid(reward.id, actor.id, now):
            raise ClaimCodeUnknown()
        paid = await tx.rewards.get(reward.id)
        assert paid is not None
        await Notifier(tx, services, now).user(
            paid.reporter_id, f"rw:paid:{paid.id}", paid_message(paid, case)
        )
    return paid, case


# The sweep: "claim soon", then lapse ------------------------------------------------------------


def reminder_due(services: Services, reward: Reward) -> dt.datetime | None:
    """When the reporter is reminded: a week before the last day, at the reminders' hour."""
    if reward.expires_at is None:
        return None
    zone = services.settings.zone
    day = reward.expires_at.astimezone(zone).date() - dt.timedelta(days=REMIND_DAYS_BEFORE)
    due = dt.datetime.combine(day, services.city.reminders.remind_time, tzinfo=zone)
    return due.astimezone(dt.UTC)


async def sweep_rewards(services: Services, now: dt.datetime) -> int:
    """Remind reporters of unclaimed rewards a week ahead; let unclaimed ones lapse, once each."""
    queued = 0
    for reward in await services.db.read.rewards.approved():
        assert reward.expires_at is not None
        due = reminder_due(services, reward)
        lapsed = reward.expires_at <= now
        remind = (
            not lapsed
            and reward.reminded_at is None
            and due is not None
            and due <= now
            # A claim period under a week gets no "a week left".
            and (reward.approved_at is None or due >= reward.approved_at)
        )
        if not (lapsed or remind):
            continue
        async with services.db.transaction() as tx:
            case = await tx.cases.get(reward.case_id)
            assert case is not None
            notifier = Notifier(tx, services, now)
            if lapsed:
                if await tx.rewards.mark_expired(reward.id, now):
                    sent = await notifier.user(
                        reward.reporter_id,
                        f"rw:exp:{reward.id}",
                        lapsed_message(services, reward, case),
                        quiet=True,
                    )
                    queued += int(sent)
            elif await tx.rewards.mark_reminded(reward.id, now):
                sent = await notifier.user(
                    reward.reporter_id,
                    f"rw:rem:{reward.id}",
                    reminder_message(services, reward, case),
                    quiet=True,
                )
                queued += int(sent)
    return queued


# The ledger -----------------------------------------------------------------------------------


async def ledger(services: Services, actor: Account, limit: int | None = None) -> list[LedgerLine]:
    """The rewards in a supervisor's scope, newest first."""
    return await services.db.read.rewards.ledger(supervisor_scope(actor), limit)


def to_csv(rows: list[list[str]]) -> bytes:
    """CSV in UTF-8 with a BOM, which spreadsheet programs need to read Chinese."""
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode("utf-8-sig")


async def ledger_csv(services: Services, actor: Account, tr: Translator) -> bytes:
    """The reward ledger as a file, for the payout: it names the real-name reporters of the
    rewards approved or paid, and the audit log records that this supervisor was shown them."""
    lines = await ledger(services, actor)
    payable = (RewardStatus.APPROVED, RewardStatus.PAID)
    reporters = await identity.for_payout(
        services,
        actor,
        [
            identity.Payable(
                line.reward.case_id, line.department, line.anonymous, line.reward.status in payable
            )
            for line in lines
        ],
    )
    rows = ledger_rows(services, tr, lines, reporters)
    return await asyncio.to_thread(to_csv, rows)
