"""What each party is told of a reward, and how rewards read to staff, in the reader's language.

The actions (bot/rewards.py) decide who is told and when; the wording and the buttons are here:
the proposal and its decision buttons to the supervisors, the approval, the claim code, the
reminder, the lapse and the payout to the reporter, the closing officer's line, a reward's line
on a staff card, and the reward ledger's rows. A proposal never names the reporter: who reported
it is only in the ledger, for the payout.
"""

from __future__ import annotations

import html

from bot.buttons import Space, encode
from bot.cards import Outgoing, cards
from bot.city import RewardPolicy
from bot.i18n import N_, Translator
from bot.labels import LEVEL_LABELS
from bot.notify import Render
from bot.reward_policy import Basis
from bot.services import Services
from bot.spreadsheet import safe_text
from bot.vocabulary.models import Case, ReporterContact
from storage.rewards import LedgerLine, Reward, RewardStatus

# Labels and amounts ------------------------------------------------------------------------


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


def ledger_rows(
    services: Services,
    tr: Translator,
    lines: list[LedgerLine],
    reporters: dict[int, ReporterContact],
) -> list[list[str]]:
    """The ledger as rows of text: the header, then one row per reward, naming the real-name
    reporters of the rewards paid out (``reporters``, by case: bot/identity.py)."""
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
        contact = reporters.get(reward.case_id)
        if line.anonymous:
            who, phone = _("anonymous"), ""
        elif contact is None:
            who, phone = _("real name, shown once the reward is approved"), ""
        else:
            who, phone = safe_text(contact.name), safe_text(contact.phone)
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
                who,
                phone,
            ]
        )
    return rows
