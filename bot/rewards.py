"""Whistleblower rewards (有奖举报): the policy, and a reward's way from closing to payout.

The policy follows the 2018 national rules (安全生产领域举报奖励办法), adjustable per city in
``[reward]``: a verified, genuine report of a major hazard (or illegal operation) earns a share of
the fine, between a minimum and a maximum; a city may add a fixed amount for ordinary hazards,
capped per reporter and month. Only the case's first reporter is rewarded, never an enterprise
for its own self-report, and the enterprise's own contacts only where the city allows it.

The officer records the outcome when closing (genuine? fine?); a supervisor of the case's scope
approves, changes or refuses the proposal; the reporter then gets a one-time claim code (only its
hash is stored) and claims offline, where a supervisor marks it paid with ``/paid CODE``. Nothing
of this enters the case's history: an enterprise reads that history and must not learn of it.
"""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import html
import io
import re
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from enum import StrEnum

from bot.accounts import Account
from bot.buttons import Space, encode
from bot.cards import Outgoing, cards
from bot.city import RewardPolicy
from bot.dates import end_of_day
from bot.errors import InputMistake, NotAllowed, ShaoziError
from bot.i18n import N_, Translator
from bot.invites import code_hash, new_code, normalise
from bot.labels import LEVEL_LABELS
from bot.notify import Notifier, Render
from bot.pending import owed
from bot.permissions import is_case_supervisor
from bot.reasons import check_reason
from bot.services import Services
from bot.spreadsheet import safe_text
from bot.verification import close
from bot.vocabulary.lifecycle import Level
from bot.vocabulary.models import Case
from bot.vocabulary.roles import Role
from storage.db import Session
from storage.rewards import LedgerLine, Reward, RewardStatus

__all__ = ["Reward", "RewardStatus"]

REMIND_DAYS_BEFORE = 7
# Stands for "some fine" when asking whether any outcome could earn a reward.
_ANY_FINE = 10**12
MAX_YUAN = 10**10


# The policy ----------------------------------------------------------------------------------


class Basis(StrEnum):
    """Why the policy proposed what it did (stored with the reward, shown to staff)."""

    PERCENT = "percent"
    MINIMUM = "minimum"
    MAXIMUM = "maximum"
    NO_FINE = "no_fine"
    ORDINARY = "ordinary"
    MONTHLY_CAP = "monthly_cap"
    CAP_REACHED = "cap_reached"
    NO_ORDINARY = "no_ordinary"
    NOT_GENUINE = "not_genuine"
    NOT_FIRST = "not_first"
    ENTERPRISE_CONTACT = "enterprise_contact"
    SELF_REPORTED = "self_reported"
    DISABLED = "disabled"


BASIS_LABELS: dict[Basis, str] = {
    # "% of" would read as a printf "%o" to gettext tools: the percent sign ends the phrase.
    Basis.PERCENT: N_("share of the fine: {percent}%"),
    Basis.MINIMUM: N_("share of the fine: {percent}%, raised to the minimum"),
    Basis.MAXIMUM: N_("share of the fine: {percent}%, cut to the maximum"),
    Basis.NO_FINE: N_("the minimum for a major hazard without a fine"),
    Basis.ORDINARY: N_("the city's fixed amount for an ordinary hazard"),
    Basis.MONTHLY_CAP: N_("what is left under the reporter's monthly cap"),
    Basis.CAP_REACHED: N_("the reporter's monthly cap for ordinary hazards is reached"),
    Basis.NO_ORDINARY: N_("the city gives no reward for ordinary hazards"),
    Basis.NOT_GENUINE: N_("the report was not genuine"),
    Basis.NOT_FIRST: N_("only the first reporter of a case is rewarded"),
    Basis.ENTERPRISE_CONTACT: N_("the reporter is a contact of the enterprise"),
    Basis.SELF_REPORTED: N_("the enterprise reported its own hazard"),
    Basis.DISABLED: N_("rewards are turned off"),
}

STATUS_LABELS: dict[RewardStatus, str] = {
    RewardStatus.PROPOSED: N_("proposed, awaiting approval"),
    RewardStatus.APPROVED: N_("approved, not yet claimed"),
    RewardStatus.PAID: N_("paid"),
    RewardStatus.EXPIRED: N_("lapsed, not claimed in time"),
    RewardStatus.NONE: N_("no reward"),
}


@dataclass(frozen=True)
class Facts:
    """What decides a reward: the case's outcome and who the reporter is."""

    level: Level | None
    genuine: bool
    fine: int | None  # yuan; None: no fine imposed
    first_reporter: bool = True  # the case's reporter; co-reporters who followed are not
    enterprise_contact: bool = False  # a contact of the case's own enterprise
    self_reported: bool = False  # 隐患自查自报
    paid_this_month: int = 0  # yuan for ordinary hazards already promised or paid this month


@dataclass(frozen=True)
class Proposal:
    amount: int | None  # whole yuan, or None: no reward
    basis: Basis


def propose(policy: RewardPolicy, facts: Facts) -> Proposal:
    """The reward the city's policy gives for these facts, and why."""
    if not policy.enabled:
        return Proposal(None, Basis.DISABLED)
    if facts.self_reported:
        return Proposal(None, Basis.SELF_REPORTED)
    if not facts.genuine:
        return Proposal(None, Basis.NOT_GENUINE)
    if not facts.first_reporter:
        return Proposal(None, Basis.NOT_FIRST)
    if facts.enterprise_contact and not policy.enterprise_contacts_eligible:
        return Proposal(None, Basis.ENTERPRISE_CONTACT)
    if facts.level is Level.MAJOR:
        return _major(policy, facts.fine)
    return _ordinary(policy, facts.paid_this_month)


def _major(policy: RewardPolicy, fine: int | None) -> Proposal:
    if not fine or fine <= 0:
        return _some(policy.major_minimum, Basis.NO_FINE)
    share = (Decimal(fine) * policy.major_percent_of_fine / 100).quantize(
        Decimal(1), rounding=ROUND_HALF_UP
    )
    amount = int(share)
    if amount < policy.major_minimum:
        return _some(policy.major_minimum, Basis.MINIMUM)
    if amount > policy.major_maximum:
        return _some(policy.major_maximum, Basis.MAXIMUM)
    return _some(amount, Basis.PERCENT)


def _ordinary(policy: RewardPolicy, paid_this_month: int) -> Proposal:
    if policy.ordinary_fixed <= 0:
        return Proposal(None, Basis.NO_ORDINARY)
    if policy.ordinary_monthly_cap <= 0:
        return Proposal(policy.ordinary_fixed, Basis.ORDINARY)
    left = policy.ordinary_monthly_cap - paid_this_month
    if left <= 0:
        return Proposal(None, Basis.CAP_REACHED)
    if left < policy.ordinary_fixed:
        return Proposal(left, Basis.MONTHLY_CAP)
    return Proposal(policy.ordinary_fixed, Basis.ORDINARY)


def _some(amount: int, basis: Basis) -> Proposal:
    return Proposal(amount if amount > 0 else None, basis)


def could_reward(policy: RewardPolicy, facts: Facts) -> bool:
    """Whether some outcome (a genuine report, some fine) would earn a reward: only then is
    the officer asked about it when closing."""
    return propose(policy, replace(facts, genuine=True, fine=_ANY_FINE)).amount is not None


def percent_text(policy: RewardPolicy) -> str:
    return format(policy.major_percent_of_fine.normalize(), "f")


def basis_text(tr: Translator, policy: RewardPolicy, basis: str) -> str:
    try:
        label = BASIS_LABELS[Basis(basis)]
    except ValueError:
        return basis
    return tr.gettext(label).format(percent=percent_text(policy))


def yuan(amount: int | None) -> str:
    return "—" if amount is None else f"{amount:,}"


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
    memberships = await session.users.memberships(case.reporter_id)
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
        paid_this_month=await session.rewards.committed_ordinary(case.reporter_id, since, until),
    )


async def should_ask(services: Services, case: Case) -> bool:
    """Whether closing this case asks the officer for the outcome (genuine? fine?)."""
    policy = services.city.reward
    if not policy.enabled or case.self_reported:
        return False
    read = services.db.read
    if await read.rewards.for_case(case.id) is not None:
        return False  # closed before, reopened by its reporter: the first outcome stands
    facts = await facts_of(read, services, case, services.clock.now(), Outcome(genuine=True))
    return could_reward(policy, facts)


async def awaits_fine(services: Services, actor: Account, case_id: int) -> bool:
    """Whether the officer was asked the fine of this case's closing and has not typed it."""
    pending = await owed(services, actor.id)
    return pending is not None and pending.kind == "reward_fine" and pending.case_id == case_id


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

    case = await close(services, actor, case_id, version, also=record)
    return case, (recorded[0] if recorded else None)


async def record_outcome(
    services: Services, notifier: Notifier, actor: Account, case: Case, outcome: Outcome
) -> Reward | None:
    """Store the proposal (or that there is none) and put a proposal before the supervisors."""
    policy, tx, now = services.city.reward, notifier.tx, notifier.now
    if not policy.enabled or case.self_reported:
        return None
    fine = outcome.fine if outcome.fine else None
    facts = await facts_of(tx, services, case, now, Outcome(outcome.genuine, fine))
    proposal = propose(policy, facts)
    status = RewardStatus.PROPOSED if proposal.amount else RewardStatus.NONE
    added = await tx.rewards.add(
        case_id=case.id,
        reporter_id=case.reporter_id,
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


# Messages ---------------------------------------------------------------------------------------


def reward_data(action: str, reward: Reward) -> str:
    return encode(Space.REWARD, action, reward.id)


def decision_buttons(tr: Translator, reward: Reward) -> list[list[tuple[str, str]]]:
    _ = tr.gettext
    return [
        [(_("✅ Approve"), reward_data("ok", reward))],
        [
            (_("✏️ Change amount"), reward_data("chg", reward)),
            (_("✖ Refuse"), reward_data("no", reward)),
        ],
    ]


def proposal_text(services: Services, tr: Translator, reward: Reward, case: Case) -> str:
    """A proposal as a supervisor reads it: the case and the money, never the reporter."""
    _ = tr.gettext
    policy = services.city.reward
    level = _(LEVEL_LABELS[reward.level]) if reward.level else "—"
    fine = _("{amount} yuan").format(amount=yuan(reward.fine)) if reward.fine else _("no fine")
    lines = [
        "<b>" + _("Reward proposal for case {number}").format(number=case.number) + "</b>",
        _("Department: {value}").format(
            value=html.escape(cards(services).department(tr, case.department))
        ),
        _("Category: {value}").format(
            value=html.escape(cards(services).category(tr, case.category))
        ),
        _("Hazard level: {value}").format(value=level),
        _("Fine: {value}").format(value=fine),
        _("Proposed reward: {amount} yuan ({basis})").format(
            amount=yuan(reward.amount_proposed),
            basis=html.escape(basis_text(tr, policy, reward.basis)),
        ),
        "",
        _("Who reported it is in the reward ledger (/rewardledger), for the payout only."),
    ]
    return "\n".join(lines)


def proposal_card(services: Services, reward: Reward, case: Case) -> Render:
    def render(tr: Translator) -> Outgoing:
        return Outgoing(proposal_text(services, tr, reward, case), decision_buttons(tr, reward))

    return render


def claim_where(services: Services, tr: Translator) -> str:
    where = services.city.reward.claim_where
    if where is not None:
        return html.escape(where.get(tr.language))
    return tr.gettext("Ask the city's reporting hotline (12350) where to claim it.")


def code_button(tr: Translator, reward: Reward) -> list[list[tuple[str, str]]]:
    return [[(tr.gettext("🔑 Show my claim code"), reward_data("code", reward))]]


def approved_text(
    services: Services,
    tr: Translator,
    reward: Reward,
    case: Case,
    code: str | None = None,
    *,
    replaces: bool = False,
) -> str:
    """The reporter's reward notice; with ``code``, the one time its claim code is shown."""
    _ = tr.gettext
    lines = [
        "<b>" + _("A reward for your report {number}").format(number=case.number) + "</b>",
        _("A reward of {amount} yuan was approved for your report. Thank you!").format(
            amount=yuan(reward.amount)
        ),
        _("Where to claim it: {where}").format(where=claim_where(services, tr)),
        _("Claim it by {date}; after that it lapses.").format(
            date=cards(services).date(reward.expires_at)
        ),
        "",
    ]
    if code is None:
        lines.append(
            _(
                "Press the button to see your claim code. It is all you need to claim the "
                "reward, so keep it to yourself."
            )
        )
    else:
        lines.append(_("Your claim code: <code>{code}</code>").format(code=code))
        lines.append(
            _(
                "It is shown only this once and is not kept by the bot: write it down. Anyone "
                "with this code can claim the reward."
            )
        )
        if replaces:
            lines.append(_("It replaces the code shown before, which no longer works."))
    return "\n".join(lines)


def approved_message(services: Services, reward: Reward, case: Case) -> Render:
    def render(tr: Translator) -> Outgoing:
        return Outgoing(approved_text(services, tr, reward, case), code_button(tr, reward))

    return render


def reminder_message(services: Services, reward: Reward, case: Case) -> Render:
    def render(tr: Translator) -> Outgoing:
        text = tr.gettext(
            "Reminder: the reward of {amount} yuan for your report {number} must be claimed "
            "by {date}, with your claim code, at: {where}"
        ).format(
            amount=yuan(reward.amount),
            number=case.number,
            date=cards(services).date(reward.expires_at),
            where=claim_where(services, tr),
        )
        buttons = code_button(tr, reward) if reward.claim_code_hash is None else []
        return Outgoing(text, buttons)

    return render


def lapsed_message(services: Services, reward: Reward, case: Case) -> Render:
    def render(tr: Translator) -> Outgoing:
        return Outgoing(
            tr.gettext(
                "The reward of {amount} yuan for your report {number} was not claimed by "
                "{date} and has lapsed."
            ).format(
                amount=yuan(reward.amount),
                number=case.number,
                date=cards(services).date(reward.expires_at),
            )
        )

    return render


def paid_message(reward: Reward, case: Case) -> Render:
    def render(tr: Translator) -> Outgoing:
        return Outgoing(
            tr.gettext(
                "The reward of {amount} yuan for your report {number} was paid. Thank you for "
                "helping to keep the city safe!"
            ).format(amount=yuan(reward.amount), number=case.number)
        )

    return render


def status_line(tr: Translator, reward: Reward) -> str:
    """The reward on a staff member's case card."""
    status = tr.gettext(STATUS_LABELS[reward.status])
    if reward.amount is None:
        return tr.gettext("Reward: {status}").format(status=status)
    return tr.gettext("Reward: {status}, {amount} yuan").format(
        status=status, amount=yuan(reward.amount)
    )


def outcome_text(services: Services, tr: Translator, reward: Reward | None) -> str:
    """What the closing officer is told about the reward."""
    if reward is None:
        return ""
    if reward.status is RewardStatus.PROPOSED:
        return tr.gettext("A reward of {amount} yuan was proposed; a supervisor decides.").format(
            amount=yuan(reward.amount_proposed)
        )
    return tr.gettext("No reward: {reason}.").format(
        reason=basis_text(tr, services.city.reward, reward.basis)
    )


# The ledger -----------------------------------------------------------------------------------


async def ledger(services: Services, actor: Account, limit: int | None = None) -> list[LedgerLine]:
    """The rewards in a supervisor's scope, newest first."""
    return await services.db.read.rewards.ledger(supervisor_scope(actor), limit)


def ledger_rows(services: Services, tr: Translator, lines: list[LedgerLine]) -> list[list[str]]:
    """The ledger as rows of text: the header, then one row per reward."""
    _ = tr.gettext
    show = cards(services)
    policy = services.city.reward
    rows = [
        [
            _("Case"),
            _("Department"),
            _("Category"),
            _("Hazard level"),
            _("Genuine"),
            _("Fine (yuan)"),
            _("Proposed (yuan)"),
            _("Approved (yuan)"),
            _("Status"),
            _("Why"),
            _("Supervisor's note"),
            _("Proposed on"),
            _("Approved on"),
            _("Claim by"),
            _("Paid on"),
            _("Reporter"),
            _("Phone"),
        ]
    ]
    for line in lines:
        reward = line.reward
        anonymous = line.anonymous or not line.reporter_name
        rows.append(
            [
                line.number,
                show.department(tr, line.department),
                show.category(tr, line.category),
                _(LEVEL_LABELS[reward.level]) if reward.level else "",
                _("yes") if reward.genuine else _("no"),
                "" if reward.fine is None else str(reward.fine),
                "" if reward.amount_proposed is None else str(reward.amount_proposed),
                "" if reward.amount_approved is None else str(reward.amount_approved),
                _(STATUS_LABELS[reward.status]),
                basis_text(tr, policy, reward.basis),
                safe_text(reward.decision_note),
                show.time(reward.proposed_at),
                show.time(reward.approved_at) if reward.approved_at else "",
                show.date(reward.expires_at) if reward.expires_at else "",
                show.time(reward.paid_at) if reward.paid_at else "",
                _("anonymous") if anonymous else safe_text(line.reporter_name),
                "" if anonymous else safe_text(line.reporter_phone),
            ]
        )
    return rows


def to_csv(rows: list[list[str]]) -> bytes:
    """CSV in UTF-8 with a BOM, which spreadsheet programs need to read Chinese."""
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode("utf-8-sig")


async def ledger_csv(services: Services, actor: Account, tr: Translator) -> bytes:
    lines = await ledger(services, actor)
    rows = ledger_rows(services, tr, lines)
    return await asyncio.to_thread(to_csv, rows)
