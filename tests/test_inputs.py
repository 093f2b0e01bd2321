"""What the bot waits for a user to type: one input for each party a user acts as.

An enterprise's contact who also reports as a citizen may be asked for the date of their
request for more time and, in between, answer the department's question about their own
report; an officer who starts one action and then another is typing for the second only.
"""

from __future__ import annotations

from bot import pending
from bot.invites import InviteSpec
from bot.vocabulary.grading import Colour
from bot.vocabulary.lifecycle import Status
from bot.vocabulary.roles import Role
from fakebotapi import SentMessage
from handlers import inputs
from tests.support.cases import accepted_and_ordered, enterprise_named, report
from tests.support.chat import Bot, since, texts
from tests.support.people import staff
from tests.support.races import no_apology

QUESTION = "Which floor is the locked exit on?"
ANSWER = "The second floor, behind the kitchen."


def test_every_kind_of_input_belongs_to_a_party() -> None:
    """A kind left out would wait beside the other inputs of its party, and take a message
    meant for another action long after (importing handlers registers them all)."""
    assert inputs.kinds() <= set(pending.PARTIES), inputs.kinds() - set(pending.PARTIES)


class ContactWhoReports:
    """A case ordered to the Golden Dragon Restaurant, whose contact has also reported a
    hazard as a citizen; the officer asks them a question about that report."""

    async def setup(self, bot: Bot) -> ContactWhoReports:
        self.bot = bot
        enterprise_id = await enterprise_named(
            bot, "Golden Dragon Restaurant", "91330100MA27XL0T4C"
        )
        self.officer = await staff(bot, InviteSpec(Role.OFFICER, "fire"))
        self.contact = await staff(bot, InviteSpec(Role.ENTERPRISE, enterprise_id=enterprise_id))
        self.order_number = await report(bot.user(language="en"), photo_seed=41)
        await accepted_and_ordered(
            bot, self.officer, self.order_number, enterprise_id, colour=Colour.BLUE, days=3
        )
        self.own_number = await report(
            self.contact, photo_seed=42, description=own_words(), anonymous=True
        )
        await bot.drain()
        self.order = next(m for m in self.contact.transcript if m.has_button("Ask for more time"))
        return self

    async def ask_for_more_time(self) -> SentMessage:
        await self.contact.press("Ask for more time", message=self.order)
        prompt = self.contact.last
        assert "Until which date do you need?" in prompt.plain
        return prompt

    async def question_arrives(self) -> SentMessage:
        card = next(
            m for m in self.officer.transcript if f"New report {self.own_number}" in m.plain
        )
        await self.officer.press("Ask the reporter", message=card)
        await self.officer.send(QUESTION)
        await self.bot.drain()
        question = self.contact.last
        assert QUESTION in question.plain
        return question

    async def request_sent(self) -> None:
        """The date and the reason are taken, and the officer gets the request."""
        contact = self.contact
        await contact.send("12-20")
        assert "Why do you need more time?" in contact.last.plain
        await contact.send("Waiting for parts.")
        assert f"Your request for more time on case {self.order_number} was sent" in (
            contact.last.plain
        )
        mark = len(self.officer.transcript)
        await self.bot.drain()
        assert f"Extension requested for case {self.order_number}" in texts(
            since(self.officer, mark)
        )

    async def answer_passed_on(self, mark: int) -> None:
        await self.bot.drain()
        assert ANSWER in texts(since(self.officer, mark))
        assert f"Your answer about {self.own_number} was passed on" in texts(since(self.contact, 0))


def own_words() -> str:
    return "Bicycles block the fire door of the building next to ours."


async def test_answering_a_question_keeps_the_request_for_more_time_waiting(bot: Bot) -> None:
    flow = await ContactWhoReports().setup(bot)
    contact = flow.contact
    await flow.ask_for_more_time()
    question = await flow.question_arrives()
    mark = len(flow.officer.transcript)

    await contact.press("Answer", message=question)
    await contact.send(ANSWER)

    assert f"Your answer about {flow.own_number} was passed on" in contact.last.plain
    await flow.answer_passed_on(mark)
    # The request for more time still waits for its date.
    await flow.request_sent()
    no_apology(bot, contact)


async def test_a_reply_to_the_question_keeps_the_request_for_more_time_waiting(
    bot: Bot,
) -> None:
    flow = await ContactWhoReports().setup(bot)
    await flow.ask_for_more_time()
    question = await flow.question_arrives()
    mark = len(flow.officer.transcript)

    await flow.contact.reply_to(question, ANSWER)

    await flow.answer_passed_on(mark)
    await flow.request_sent()


async def test_a_reply_to_an_older_question_of_the_bot_goes_to_it(bot: Bot) -> None:
    flow = await ContactWhoReports().setup(bot)
    contact = flow.contact
    asked_date = await flow.ask_for_more_time()
    question = await flow.question_arrives()
    await contact.press("Answer", message=question)  # the newest input now
    mark = len(flow.officer.transcript)

    # Telegram's Reply on "Until which date?": the date, though the answer was asked since.
    await contact.reply_to(asked_date, "12-20")
    assert "Why do you need more time?" in contact.last.plain
    await contact.send("Waiting for parts.")
    assert "Your request for more time on case" in contact.last.plain
    # Then the answer, still owed.
    await contact.send(ANSWER)
    await flow.answer_passed_on(mark)


async def test_cancel_gives_up_what_it_is_addressed_to(bot: Bot) -> None:
    flow = await ContactWhoReports().setup(bot)
    contact = flow.contact
    asked_date = await flow.ask_for_more_time()
    question = await flow.question_arrives()
    await contact.press("Answer", message=question)

    await contact.send("/cancel")  # the answer: asked last

    assert "Cancelled. Nothing was changed." in contact.last.plain
    owed = await bot.db.read.inputs.newest(contact.user_id)
    assert owed is not None
    assert owed.kind == "extension_date"

    # /cancel as a reply to the bot's question gives that one up, not the newest.
    await contact.press("Answer", message=question)
    await contact.reply_to(asked_date, "/cancel")

    assert "Cancelled. Nothing was changed." in contact.last.plain
    mark = len(flow.officer.transcript)
    await contact.send(ANSWER)
    await flow.answer_passed_on(mark)
    assert await bot.db.read.inputs.newest(contact.user_id) is None


async def test_an_officer_types_for_the_action_begun_last(bot: Bot) -> None:
    officer = await staff(bot, InviteSpec(Role.OFFICER, "fire"))
    first = await report(bot.user(language="en"), photo_seed=51)
    second = await report(bot.user(language="en"), photo_seed=52)
    await bot.drain()
    cards = {
        n: next(m for m in officer.transcript if f"New report {n}" in m.plain)
        for n in (first, second)
    }
    await officer.press("Duplicate", message=cards[first])  # then changes their mind …
    await officer.press("Transfer", message=cards[second])
    await officer.press("Housing", message=cards[second])
    await officer.send("The crack is in the building structure.")
    moved = await bot.db.read.cases.by_number(second)
    assert moved is not None
    assert moved.department == "housing"

    # … so the next message is not taken as the case the first one duplicates.
    await officer.send(second)

    assert "I was not expecting that." in officer.last.plain
    case = await bot.db.read.cases.by_number(first)
    assert case is not None
    assert case.status is Status.SUBMITTED
