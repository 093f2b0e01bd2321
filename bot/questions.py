"""Questions relayed between an officer and the reporter of a case, each answered once."""

from __future__ import annotations

from bot import notices
from bot.accounts import Account
from bot.case_buttons import can_ask_reporter
from bot.errors import NotAllowed, NotThisStep, QuestionAnswered, check_point
from bot.labels import STATUS_LABELS
from bot.notify import Notifier
from bot.permissions import is_case_officer
from bot.reasons import check_reason
from bot.services import Services
from bot.vocabulary.lifecycle import Status
from bot.vocabulary.models import Case

MAX_QUESTION = 1000


async def ask_reporter(services: Services, actor: Account, case_id: int, question: str) -> int:
    """Relay an officer's question to the reporter; return the question's id."""
    text = check_reason(question, MAX_QUESTION)
    now = services.clock.now()
    async with services.db.transaction() as tx:
        case = await tx.cases.get(case_id)
        if case is None or not is_case_officer(actor, case) or not can_ask_reporter(case):
            raise NotAllowed()
        # A closed, rejected or merged case asks its reporter nothing more.
        if case.self_reported or case.status in (Status.CLOSED, Status.REJECTED, Status.MERGED):
            raise NotThisStep(status=STATUS_LABELS[case.status])
        question_id = await tx.questions.add(case.id, actor.id, case.reporter_id, text, now)
        await tx.cases.add_event(case.id, now, actor.id, "question", note=text)
        render = notices.question(case, question_id, text)
        await Notifier(tx, services, now).user(case.reporter_id, f"q:{question_id}", render)
    return question_id


async def answer_question(
    services: Services,
    actor: Account,
    question_id: int,
    text: str | None,
    photo: str | None,
    location: tuple[float, float] | None,
) -> Case:
    """Relay the reporter's answer to the officer who asked; once per question."""
    body = check_reason(text, MAX_QUESTION) if text else None
    if location is not None:
        location = check_point(*location)
    now = services.clock.now()
    async with services.db.transaction() as tx:
        question = await tx.questions.get(question_id)
        if question is None or question.asked_to != actor.id:
            raise NotAllowed()
        case = await tx.cases.get(question.case_id)
        assert case is not None
        if not await tx.questions.answer(question_id, now, body, photo, location):
            raise QuestionAnswered()
        await tx.cases.add_event(case.id, now, actor.id, "answer", note=body)
        render = notices.answered(case, question.question, body, photo, location)
        await Notifier(tx, services, now).user(question.asked_by, f"a:{question_id}", render)
    return case
