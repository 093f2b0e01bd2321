"""The reward policy (有奖举报): what a city's rules give for a case's outcome, and why.

The policy follows the 2018 national rules (安全生产领域举报奖励办法), adjustable per city in
``[reward]``: a verified, genuine report of a major hazard (or illegal operation) earns a share of
the fine, between a minimum and a maximum; a city may add a fixed amount for ordinary hazards,
capped per reporter and month. Only the case's first reporter is rewarded, never an enterprise
for its own self-report, and the enterprise's own contacts only where the city allows it.

A pure function of the facts: bot/rewards.py gathers them and records what it gives;
bot/reward_notices.py says it in words.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from bot.city import RewardPolicy
from bot.vocabulary.lifecycle import Level

# Stands for "some fine" when asking whether any outcome could earn a reward.
_ANY_FINE = 10**12


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
