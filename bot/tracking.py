"""A reporter follows their cases: the list, one case with its history, the answer to "is it
really fixed?" and to a department's question. Only participants see a case here."""

from __future__ import annotations

from dataclasses import dataclass

from bot.accounts import Account
from bot.errors import AlreadyVerified, QuestionAnswered, ShaoziError
from bot.i18n import N_
from bot.paging import clamp_offset
from bot.pending import expect_once, owed
from bot.reports import StaleButton
from bot.services import Services
from bot.verification import check_reopenable
from bot.visibility import Audience, photo_kinds
from bot.vocabulary.lifecycle import Status
from bot.vocabulary.models import Case, CaseEvent, CaseSummary, PendingInput, Question

PAGE_SIZE = 5
# What a user owes after saying a closed case is not fixed: a few words or a photo.
NOT_FIXED = "not_fixed"


class NotFixedNoted(ShaoziError):
    """ "Not fixed" pressed again while the bot waits for what is still wrong."""

    message = N_(
        "You have said so already. Tell me what is still wrong, or press the button to send "
        "it back as it is."
    )


@dataclass(frozen=True)
class Page:
    """A page of the user's reports and followed cases, newest first."""

    cases: list[CaseSummary]
    offset: int
    total: int


async def my_cases(services: Services, user_id: int, offset: int) -> Page:
    """The page at ``offset``, or the last page when the list has become shorter."""
    total = await services.db.read.cases.count_for_user(user_id)
    if total == 0:
        return Page([], 0, 0)
    offset = clamp_offset(offset, total, PAGE_SIZE)
    cases = await services.db.read.cases.for_user(user_id, PAGE_SIZE, offset)
    return Page(cases, offset, total)


@dataclass(frozen=True)
class CaseView:
    """One case as its reporter or a follower sees it (``audience``, bot/visibility.py): a
    follower reads nothing of the reporter's, not even their photos."""

    case: Case
    audience: Audience
    photo_count: int
    events: list[CaseEvent]


async def _view(services: Services, user_id: int, case: Case | None) -> CaseView | None:
    read = services.db.read.cases
    if case is None or not await read.is_participant(case.id, user_id):
        return None
    reporter = await services.db.read.reporters.is_reporter(case.id, user_id)
    audience = Audience.REPORTER if reporter else Audience.FOLLOWER
    photos = 0
    for kind in photo_kinds(audience):
        photos += len(await read.photo_hashes(case.id, kind))
    return CaseView(case, audience, photos, await read.events(case.id))


async def case_by_number(services: Services, user_id: int, number: str) -> CaseView | None:
    """The user's case of this number; None alike for a number that does not exist and for
    someone else's case, so nobody can learn which numbers are real."""
    return await _view(services, user_id, await services.db.read.cases.by_number(number))


async def case_by_id(services: Services, user_id: int, case_id: int) -> CaseView | None:
    return await _view(services, user_id, await services.db.read.cases.get(case_id))


async def closed_case(services: Services, actor: Account, case_id: int) -> Case:
    """The reporter's case awaiting their word on whether it is really fixed.

    Raises StaleButton for a case that is not theirs, AlreadyVerified once it is no longer
    closed (they answered, or the department moved on).
    """
    read = services.db.read
    case = await read.cases.get(case_id)
    if case is None or not await read.reporters.is_reporter(case.id, actor.id):
        raise StaleButton()
    if case.status is not Status.CLOSED:
        raise AlreadyVerified()
    return case


async def not_fixed(services: Services, actor: Account, case_id: int) -> Case:
    """The reporter says their closed case is not fixed: they now owe what is still wrong (or
    the bare send-back). Raises what closed_case raises, ReopenLapsed once the city's time for
    that has passed, and NotFixedNoted when they said so already (the button pressed twice at
    once), so they are asked once."""
    case = await closed_case(services, actor, case_id)
    check_reopenable(services, case)
    if not await expect_once(services, actor.id, NOT_FIXED, case_id=case.id):
        raise NotFixedNoted()
    return case


async def owed_reopen(services: Services, user_id: int, case_id: int) -> PendingInput:
    """The user's open "not fixed" input about this case (the button to send it back bare).

    Raises AlreadyVerified when their own case is no longer closed (sent back by a first
    press), StaleButton for any other press that names nothing they owe.
    """
    pending = await owed(services, user_id, NOT_FIXED)
    if pending is None or case_id is None or pending.case_id != case_id:
        read = services.db.read
        case = await read.cases.get(case_id)
        if (
            case is not None
            and case.status is not Status.CLOSED
            and await read.reporters.is_reporter(case.id, user_id)
        ):
            raise AlreadyVerified()
        raise StaleButton()
    return pending


async def open_question(services: Services, actor: Account, question_id: int) -> Question:
    """A department's question to this user that is still to be answered.

    Raises StaleButton for a question to someone else, QuestionAnswered once it is answered.
    """
    question = await services.db.read.questions.get(question_id)
    if question is None or question.asked_to != actor.id:
        raise StaleButton()
    if question.answered_at is not None:
        raise QuestionAnswered()
    return question
