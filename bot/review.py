"""Review (复核): a reporter whose case was not accepted, or found not genuine (不属实) when it
was closed, may ask once for a supervisor to look at it again, with a reason (应急〔2023〕106号).

The request goes to the supervisors of the case's department, else to the city-wide ones. One of
them upholds the department's decision, or reopens the case: back in the department's queue as
submitted, flagged (its earlier handling and a "not genuine" outcome are undone, so the next
closing asks again). The reporter is told the outcome.

Once per case: a request is a row keyed by its case (the insert is the check), a decision a
compare-and-set on that row, each in one transaction with the case's event and notifications.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from bot import notices
from bot.accounts import Account
from bot.errors import NotAllowed, NotThisStep, ShaoziError
from bot.i18n import N_
from bot.notify import Notifier
from bot.pending import expect_once
from bot.permissions import is_case_supervisor
from bot.reasons import check_reason
from bot.services import Services
from bot.transition import Change, transition
from bot.vocabulary.lifecycle import Action, Status
from bot.vocabulary.models import Case, Review, ReviewDecision, ReviewGround
from bot.vocabulary.roles import Role
from storage.db import Session

# The pending input (bot/pending.py) of the reporter's reason.
REASON = "review_reason"


class ReviewNotOpen(ShaoziError):
    message = N_(
        "Case {number} cannot be reviewed: a review is for a report that was not accepted, or "
        "found not genuine when its case was closed."
    )


class ReviewAsked(ShaoziError):
    message = N_("A review (复核) of case {number} was asked for already; a case is reviewed once.")


class ReviewReasonOwed(ShaoziError):
    """The button pressed again while the bot waits for the reason."""

    message = N_("Please type your reason for the review of case {number}, or send /cancel.")


class NoReviewer(ShaoziError):
    message = N_("No supervisor can review case {number} yet. Please try again later.")


class ReviewDecided(ShaoziError):
    """The loser of two decisions, or a decision pressed again; ``review`` as it is now."""

    message = N_("This review was decided already: {decision}. Nothing was changed.")
    translated = ("decision",)

    def __init__(self, review: Review) -> None:
        assert review.decision is not None
        super().__init__(decision=notices.REVIEW_DECISIONS[review.decision])
        self.review = review


async def ground_of(session: Session, case: Case) -> ReviewGround | None:
    """What there is to review in the case, if anything: its rejection, or its closing as not
    genuine. An enterprise's self-report is not a whistleblower's report."""
    if case.self_reported:
        return None
    if case.status is Status.REJECTED:
        return ReviewGround.REJECTED
    if case.status is Status.CLOSED:
        reward = await session.rewards.for_case(case.id)
        if reward is not None and not reward.genuine:
            return ReviewGround.NOT_GENUINE
    return None


async def may_ask(session: Session, user_id: int, case: Case) -> bool:
    """Whether the user is the case's reporter and may still ask for its review."""
    return (
        await session.reporters.is_reporter(case.id, user_id)
        and await ground_of(session, case) is not None
        and await session.reviews.for_case(case.id) is None
    )


async def _requestable(session: Session, actor: Account, case_id: int) -> tuple[Case, ReviewGround]:
    case = await session.cases.get(case_id)
    if case is None or not await session.reporters.is_reporter(case.id, actor.id):
        raise NotAllowed()
    if await session.reviews.for_case(case.id) is not None:
        raise ReviewAsked(number=case.number)
    ground = await ground_of(session, case)
    if ground is None:
        raise ReviewNotOpen(number=case.number)
    return case, ground


async def start(services: Services, actor: Account, case_id: int) -> Case:
    """The reporter pressed "Ask for a review": they now owe their reason. Raises what a
    request would, and ReviewReasonOwed when the reason is owed already (pressed twice)."""
    case, _ground = await _requestable(services.db.read, actor, case_id)
    if not await expect_once(services, actor.id, REASON, case_id=case.id):
        raise ReviewReasonOwed(number=case.number)
    return case


async def reviewers(session: Session, case: Case) -> list[int]:
    """The supervisors of the case's department, else the city-wide ones; never its reporter."""
    department = await session.users.members(Role.SUPERVISOR.value, department=case.department)
    chosen = department or await session.users.supervisors_for(case.department)
    reporter = await session.reporters.account(case.id)
    return [user_id for user_id in chosen if user_id != reporter]


async def rejection_note(session: Session, case: Case) -> str | None:
    """The department's reason for not accepting the case (a reason code or its words)."""
    notes = [e.note for e in await session.cases.events(case.id) if e.kind == Action.REJECT]
    return notes[-1] if notes else None


async def request(services: Services, actor: Account, case_id: int, reason: str) -> Case:
    """Ask for the review, with the reporter's reason; its supervisors get it to decide."""
    text = check_reason(reason)
    now = services.clock.now()
    await _requestable(services.db.read, actor, case_id)

    def reporter(account: Account, case: Case) -> bool:
        return account.id == actor.id  # checked to be the case's reporter just above, and in tx

    async def change(tx: Session, case: Case) -> Change:
        _case, ground = await _requestable(tx, actor, case.id)
        chosen = await reviewers(tx, case)
        if not chosen:
            raise NoReviewer(number=case.number)
        review_id = await tx.reviews.add(case.id, actor.id, ground, text, now)
        if review_id is None:
            raise ReviewAsked(number=case.number)

        async def announce(n: Notifier, updated: Case, event: int) -> None:
            review = await n.tx.reviews.get(review_id)
            assert review is not None
            rejection = await rejection_note(n.tx, updated)
            asked = notices.review_requested(services, updated, review, rejection)
            for user_id in chosen:
                await n.user(user_id, f"rv:{review_id}", asked, quiet=True)

        return Change({}, note=text, announce=announce)

    try:
        return await transition(
            services, actor, case_id, None, Action.REQUEST_REVIEW, reporter, change
        )
    except NotThisStep:  # reopened by its reporter's "not fixed" since the check above
        await _requestable(services.db.read, actor, case_id)
        raise


def reopening(now: dt.datetime) -> dict[str, Any]:
    """A case reopened on review starts again as a new report of its department: flagged, and
    with nothing left of how it was handled before (its deadline, enterprise, closing)."""
    return {
        "reopened": True,
        "reviewed": True,
        "routed_at": now,
        "accepted_at": None,
        "assigned_at": None,
        "enterprise_id": None,
        "handled_by_department": False,
        "deadline": None,
        "deadline_set_at": None,
        "fix_submitted_at": None,
        "fix_flag": None,
        "fix_note": None,
        "closed_at": None,
        "escalated_at": None,
    }


async def decide(
    services: Services, actor: Account, review_id: int, decision: ReviewDecision
) -> tuple[Review, Case]:
    """A supervisor upholds the department's decision or reopens the case; once. Raises
    ReviewDecided for the second decision (however close behind the first)."""
    now = services.clock.now()
    review = await services.db.read.reviews.get(review_id)
    if review is None:
        raise NotAllowed()
    if review.decision is not None:
        raise ReviewDecided(review)
    upheld = decision is ReviewDecision.UPHELD
    reporter = await services.db.read.reporters.account(review.case_id)  # never changes

    def supervisor(account: Account, case: Case) -> bool:
        return is_case_supervisor(account, case) and account.id != reporter

    async def change(tx: Session, case: Case) -> Change:
        if not await tx.reviews.decide(review.id, decision, actor.id, now):
            raise ReviewDecided(await _decided(tx, review.id))
        if not upheld and review.ground is ReviewGround.NOT_GENUINE:
            await tx.rewards.withdraw_not_genuine(case.id)

        async def announce(n: Notifier, updated: Case, event: int) -> None:
            key = f"ev:{event}"
            if upheld:
                if reporter is not None:
                    await n.user(reporter, key, notices.review_upheld(updated), quiet=True)
                return
            photos = await n.tx.cases.photo_hashes(updated.id)
            back = notices.reopened_on_review(services, updated, photos, review.reason)
            await n.officers(updated, key, back)
            await n.participants(updated, key, notices.review_reopened(updated))

        return Change({} if upheld else reopening(now), announce=announce)

    action = Action.UPHOLD if upheld else Action.REOPEN_ON_REVIEW
    try:
        case = await transition(services, actor, review.case_id, None, action, supervisor, change)
    except NotThisStep:
        # Reopened by the other decision a moment ago (or by its reporter's "not fixed").
        now_review = await _decided(services.db.read, review.id)
        if now_review.decision is not None:
            raise ReviewDecided(now_review) from None
        raise
    decided = await services.db.read.reviews.get(review.id)
    assert decided is not None
    return decided, case


async def _decided(session: Session, review_id: int) -> Review:
    review = await session.reviews.get(review_id)
    assert review is not None
    return review


async def offer_after_rejection(n: Notifier, case: Case, key: str, note: str) -> None:
    """Tell the case's reporter and followers that it was not accepted: the reporter with the
    button to ask for a review (when it may still be asked for)."""
    reporter = await n.tx.reporters.account(case.id)
    offered = reporter is not None and await may_ask(n.tx, reporter, case)
    for user_id in await n.tx.cases.participants(case.id):
        if offered and user_id == reporter:
            render = notices.rejected_with_review(case, note)
        else:
            render = notices.rejected(case, note)
        await n.user(user_id, key, render, quiet=True)


async def offer_after_not_genuine(n: Notifier, case: Case, key: str) -> None:
    """Tell the reporter of a case just closed as not genuine, with the review button while
    they may still ask for one."""
    reporter = await n.tx.reporters.account(case.id)
    if reporter is not None:
        offer = await may_ask(n.tx, reporter, case)
        await n.user(reporter, key, notices.found_not_genuine(case, offer=offer), quiet=True)
