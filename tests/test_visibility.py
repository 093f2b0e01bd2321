"""Every card, history and notice the bot can send each audience of a case, rendered in the
three languages: what the audience must not read is absent (bot/visibility.py, #20 item 4).

One case carries every trace a reporter leaves: their words, their real name, the minute they
reported, a question and its answer, someone else following, a photo left out of the order,
their "not fixed" with words and a photo.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pytest

import storage.db
from bot import (
    casefile,
    notices,
    questions,
    rectification,
    reward_notices,
    rewards,
    tracking,
    verification,
)
from bot.cards import Cards, cards
from bot.i18n import Language, Translator
from bot.invites import InviteSpec
from bot.orders import Order, order_photos
from bot.reports import save_photo
from bot.triage import accept, assign
from bot.visibility import ORDER, REPORT, Audience
from bot.vocabulary.grading import Colour
from bot.vocabulary.lifecycle import Level
from bot.vocabulary.models import Case, CaseEvent, Photo
from bot.vocabulary.roles import Role
from storage.db import Database, to_db
from tests.support import tables
from tests.support.cases import LAOCHENG, enterprise_named, report
from tests.support.chat import Bot
from tests.support.images import jpeg
from tests.support.moments import at
from tests.support.people import account, staff

WORDS = "I work the night shift in workshop 3; the exit by our line is chained every night."
QUESTION = "Which door is chained, and on which floor?"
ANSWER = "Door B on the second floor, right next to my workbench."
NOT_FIXED = "Still chained tonight, I checked it at the end of my shift."
REPORTED_AT = "2026-12-06 22:10"
REOPENED_AT = "2026-12-09 23:41"
NAME, PHONE = "Chen Jing", "13912345678"
PLACE = f"{LAOCHENG[0]:.5f}, {LAOCHENG[1]:.5f}"
# The lines of a card or a history that are the reporter's traces.
TRACE_LABELS = (
    "Reported: {value}",
    "Description: {value}",
    "The department asked the reporter a question",
    "The reporter answered",
    "Another person reported the same hazard",
    "Reporter says it is not fixed",
    "⚠️ The reporter says the hazard is not fixed.",
    "Reporter: real name (👤 shows who; every look is logged)",
    "Reward: {status}",
)
EVERY_TRACE = (WORDS, QUESTION, ANSWER, NOT_FIXED, NAME, PHONE, REPORTED_AT, "23:41")


@dataclass
class Story:
    case: Case
    events: list[CaseEvent]
    follower: int
    enterprise: str


async def whole_story(bot: Bot) -> Story:
    """A night report with every trace a reporter can leave, through to their "not fixed"."""
    services = bot.services
    enterprise_id = await enterprise_named(bot, "Golden Dragon Restaurant", "91330100MA27XL0T4C")
    officer = await account(bot, await staff(bot, InviteSpec(Role.OFFICER, "fire")))
    contact = await account(
        bot, await staff(bot, InviteSpec(Role.ENTERPRISE, enterprise_id=enterprise_id))
    )
    reporter_user = bot.user(language="en")
    bot.clock.set(at(dt.date(2026, 12, 6), 22, 10))
    number = await report(reporter_user, description=WORDS, photos=2, photo_seed=501)
    reporter = await account(bot, reporter_user)
    case = await bot.db.read.cases.by_number(number)
    assert case is not None
    bot.clock.set(at(dt.date(2026, 12, 7), 9, 5))
    asked = await questions.ask_reporter(services, officer, case.id, QUESTION)
    await questions.answer_question(services, reporter, asked, ANSWER, None, None)
    follower = bot.user(language="en")
    await follower.send("/start")
    async with bot.db.transaction() as tx:  # as "I see this too" does (bot/reports.py)
        await tx.cases.add_follower(case.id, follower.user_id, bot.clock.now())
        await tx.cases.add_event(case.id, bot.clock.now(), follower.user_id, "follow")
    bot.clock.set(at(dt.date(2026, 12, 7), 9, 30))
    case = await bot.db.read.cases.by_number(number)
    assert case is not None
    case = await accept(services, officer, case.id, case.version, Colour.ORANGE, Level.GENERAL)
    order = Order(template="blocked_exit", left_out=frozenset({1}))
    deadline = at(dt.date(2026, 12, 22), 23, 59)
    case = await assign(services, officer, case.id, case.version, enterprise_id, deadline, order)
    bot.clock.set(at(dt.date(2026, 12, 8), 10, 0))
    until = at(dt.date(2026, 12, 30), 23, 59)
    case = await rectification.request_extension(
        services, contact, case.id, until, "The door is on order."
    )
    case = await rectification.decide_extension(services, officer, case.id, case.version, True)
    fix = (await save_photo(services, jpeg(seed=550))).sha256
    case = await rectification.submit_fix(services, contact, case.id, [fix], "Chain removed.")
    case = await verification.return_fix(
        services, officer, case.id, case.version, "The photo does not show the door.", until
    )
    case = await rectification.submit_fix(services, contact, case.id, [fix], "Panic bar fitted.")
    case, _reward = await rewards.close_case(
        services, officer, case.id, case.version, rewards.Outcome(genuine=True)
    )
    bot.clock.set(at(dt.date(2026, 12, 9), 23, 41))
    photo = (await save_photo(services, jpeg(seed=560))).sha256
    case = await verification.reopen(services, reporter, case.id, NOT_FIXED, photo)
    events = await bot.db.read.cases.events(case.id)
    return Story(case, events, follower.user_id, "Golden Dragon Restaurant")


def in_language(bot: Bot, language: Language) -> tuple[Translator, Cards]:
    return bot.services.catalogs.translator(language), cards(bot.services)


def labels(tr: Translator) -> list[str]:
    return [tr.gettext(msgid).split("{")[0] for msgid in TRACE_LABELS]


async def card_and_history(bot: Bot, story: Story, tr: Translator, audience: Audience) -> str:
    """The card and history as /case, /tasks, /status and the notices draw them."""
    show = cards(bot.services)
    view = await casefile.staff_view(bot.services, story.case, audience)
    card = show.card(
        tr,
        story.case,
        audience,
        bot.clock.now(),
        enterprise_name=story.enterprise,
        photo_count=view.photo_count,
    )
    if view.reward is not None:  # as handlers/staff.py adds it
        card += "\n" + reward_notices.status_line(tr, view.reward)
    history = show.timeline(tr, story.events, audience, viewer=story.follower)
    return card + "\n" + history


def assert_absent(text: str, forbidden: list[str] | tuple[str, ...]) -> None:
    for secret in forbidden:
        assert secret not in text, f"{secret!r} in:\n{text}"


LANGUAGES = list(Language)


@pytest.mark.parametrize("language", LANGUAGES)
async def test_the_enterprise_reads_its_order_and_nothing_of_the_report(
    bot: Bot, language: Language
) -> None:
    story = await whole_story(bot)
    tr, show = in_language(bot, language)
    case, services = story.case, bot.services
    photos = await casefile.photos(services, case, Audience.ENTERPRISE)
    ordered = await order_photos(bot.db.read, case)
    rendered = [
        await card_and_history(bot, story, tr, Audience.ENTERPRISE),
        notices.rectification_order(services, case, ordered)(tr).text,
        notices.returned_order(services, case, ordered, "Not yet.", "2026-12-30")(tr).text,
        notices.extension_decided(case, True, "2026-12-30")(tr).text,
        notices.closed(case)(tr).text,
        notices.supervision_notice(case)(tr).text,
        notices.deadline_reminder(services, case, "before", 3)(tr).text,
        notices.deadline_reminder(services, case, "today", 0)(tr).text,
        notices.deadline_reminder(services, case, "overdue", 1)(tr).text,
    ]
    everything = "\n".join(rendered)
    assert_absent(everything, [*EVERY_TRACE, *labels(tr)])
    # What it does read: its order in the department's words, the day it was issued, its own
    # order's events, the reporter's "not fixed" as the department's reopening, by its day.
    category = bot.city.category("fire")
    assert category is not None
    wording = category.order_templates[0].text.get(language)
    assert wording in rendered[0]
    assert tr.gettext("Ordered: {value}").format(value="2026-12-07") in rendered[0]
    assert tr.gettext("Place: {value}").split("{")[0] in rendered[0]
    for msgid in ("Rectification ordered", "Extension requested", "Fix not accepted, returned"):
        assert tr.gettext(msgid) in rendered[0]
    assert f"2026-12-09 · {tr.gettext('The department reopened the case')}" in rendered[0]
    assert tr.gettext("Accepted by the department") not in rendered[0]  # before its order
    # Its photos: the one the officer chose, and its own fix.
    report_photos = await bot.db.read.cases.photo_hashes(case.id, REPORT)
    fix = await bot.db.read.cases.photo_hashes(case.id, "fix")
    assert ordered == report_photos[:1]
    assert await bot.db.read.cases.photo_hashes(case.id, ORDER) == report_photos[:1]
    assert photos == [report_photos[0], *dict.fromkeys(fix)]
    assert show.order_text(tr, case) == wording


@pytest.mark.parametrize("language", LANGUAGES)
async def test_a_follower_reads_the_case_not_its_reporter(bot: Bot, language: Language) -> None:
    story = await whole_story(bot)
    tr, _show = in_language(bot, language)
    case = story.case
    view = await tracking.case_by_number(bot.services, story.follower, case.number)
    assert view is not None
    assert view.audience is Audience.FOLLOWER
    assert view.photo_count == 0
    assert await casefile.photos(bot.services, case, Audience.FOLLOWER) == []
    rendered = [
        await card_and_history(bot, story, tr, Audience.FOLLOWER),
        notices.accepted(bot.services, case)(tr).text,
        notices.rejected(case, "@not_hazard")(tr).text,
        notices.transferred(bot.services, case)(tr).text,
        notices.merged(case, "YH-20261207-0009")(tr).text,
        notices.ordered(case, "2026-12-22")(tr).text,
        notices.fix_in_review(case)(tr).text,
        notices.fix_returned(case, "2026-12-30")(tr).text,
        notices.deadline_extended(case, "2026-12-30")(tr).text,
        notices.closed(case)(tr).text,
    ]
    everything = "\n".join(rendered)
    finer = [PLACE, tr.gettext("Place: {value}").split("{")[0], tr.gettext("Photos: {value}")]
    assert_absent(everything, [*EVERY_TRACE, *labels(tr), *finer, story.enterprise])
    assert tr.gettext("District: {value}").format(value="") in rendered[0]
    assert tr.gettext("You reported the same hazard and follow this case") in rendered[0]
    assert f"2026-12-09 · {tr.gettext('The department reopened the case')}" in rendered[0]


@pytest.mark.parametrize("language", LANGUAGES)
async def test_a_supervisor_reads_that_the_reporter_answered_not_the_answer(
    bot: Bot, language: Language
) -> None:
    story = await whole_story(bot)
    tr, _show = in_language(bot, language)
    rendered = [
        await card_and_history(bot, story, tr, Audience.SUPERVISOR),
        notices.supervision_card(bot.services, story.case, "overdue", bot.clock.now())(tr).text,
    ]
    everything = "\n".join(rendered)
    assert_absent(everything, [ANSWER, NAME, PHONE])
    assert f"2026-12-07 09:05 · {tr.gettext('The reporter answered')}" in rendered[0]
    # What supervisors read today stays: the report, its time, the question, the history.
    for kept in (WORDS, REPORTED_AT, QUESTION, tr.gettext("Reporter says it is not fixed")):
        assert kept in rendered[0]


@pytest.mark.parametrize("language", LANGUAGES)
async def test_officers_and_the_reporter_keep_what_they_read(bot: Bot, language: Language) -> None:
    story = await whole_story(bot)
    tr, show = in_language(bot, language)
    officer = await card_and_history(bot, story, tr, Audience.OFFICER)
    wording = show.order_text(tr, story.case)
    assert wording is not None
    for kept in (WORDS, ANSWER, QUESTION, NOT_FIXED, REPORTED_AT, wording):
        assert kept in officer
    # Who reported it is on no card: the officer asks for it (bot/identity.py, logged).
    assert_absent(officer, [NAME, PHONE])
    assert tr.gettext("Reporter: real name (👤 shows who; every look is logged)") in officer
    assert tr.gettext("⚠️ The reporter says the hazard is not fixed.") in officer
    assert tr.gettext("Reward: {status}").split("{")[0] in officer
    reporter_id = tables.reporter_of(bot.db, story.case.id)["user_id"]
    view = await tracking.case_by_number(bot.services, reporter_id, story.case.number)
    assert view is not None
    assert view.audience is Audience.REPORTER
    assert view.photo_count == 2
    reporter = show.card(tr, story.case, Audience.REPORTER, bot.clock.now())
    reporter += show.timeline(tr, story.events, Audience.REPORTER)
    for kept in (WORDS, REPORTED_AT, tr.gettext("Another person reported the same hazard")):
        assert kept in reporter
    assert wording not in reporter  # the order is between the department and the enterprise


async def test_orders_issued_before_migration_0016_keep_their_photos(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Before 0016 an enterprise was sent every report photo: it keeps seeing those; a case not
    # yet ordered gets none until its officer chooses.
    every = storage.db._migrations()
    earlier = [m for m in every if m[0] < "0016"]
    monkeypatch.setattr(storage.db, "_migrations", lambda: earlier)
    now = dt.datetime(2026, 11, 22, 2, tzinfo=dt.UTC)
    async with Database(tmp_path / "old.db") as database:
        await database.migrate()
        async with database.transaction() as tx:
            await tx.users.touch(1, "en", now)
            enterprise = await tx.enterprises.add("Golden Dragon", None, None, None, now)
            for n in range(3):
                photo = Photo(
                    sha256=f"{n}" * 64, thumb_sha256="t" * 64, phash=n, width=1, height=1, size=1
                )
                await tx.photos.add(photo, now)
            for number, ordered in (("YH-20261122-0001", True), ("YH-20261122-0002", False)):
                case_id = await tx.cases.insert(
                    {
                        "number": number,
                        "reporter_id": 1,
                        "category": "fire",
                        "description": WORDS,
                        "anonymous": 1,
                        "department": "fire",
                        "status": "assigned" if ordered else "accepted",
                        "enterprise_id": enterprise if ordered else None,
                        "created_at": to_db(now),
                        "updated_at": to_db(now),
                    }
                )
                for n in range(3 if ordered else 1):
                    await tx.cases.add_photo(case_id, REPORT, n, f"{n}" * 64, 1, now)
        monkeypatch.setattr(storage.db, "_migrations", lambda: every)
        assert "0016_orders" in await database.migrate()
        ordered_case = await database.read.cases.by_number("YH-20261122-0001")
        waiting = await database.read.cases.by_number("YH-20261122-0002")
        assert ordered_case is not None
        assert waiting is not None
        assert await database.read.cases.photo_hashes(ordered_case.id, ORDER) == [
            f"{n}" * 64 for n in range(3)
        ]
        assert await database.read.cases.photo_hashes(waiting.id, ORDER) == []
        assert ordered_case.order_text is None  # its enterprise reads no hazard text, not WORDS
