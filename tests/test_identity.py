"""The reporter's identity sits apart from the case (#16 item 4): only the officers of a
real-name case and the reward payout are shown it, and each look is in the audit log that the
case's supervisors read in its case file."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

import storage.db
from bot import identity, questions
from bot.buttons import case_data
from bot.errors import NotAllowed, ReporterUnreachable
from bot.invites import InviteSpec, create_invite
from bot.vocabulary.grading import Colour
from bot.vocabulary.models import NewReporter
from bot.vocabulary.roles import Role
from fakebotapi import FakeUser
from storage.db import Database, to_db
from tests.support import tables
from tests.support.cases import DESCRIPTION, accepted_and_ordered, enterprise_named, report
from tests.support.chat import Bot
from tests.support.people import account, make_admin, member, staff

NAME, PHONE = "Chen Jing", "13912345678"
ROOT = Path(__file__).resolve().parent.parent
LOOK = {
    "en": ("Who reported it", "Case {number} was reported by: Chen Jing, 13912345678"),
    "zh-hans": ("查看举报人", "案件 {number} 的举报人：Chen Jing, 13912345678"),
    "zh-hant": ("查看檢舉人", "案件 {number} 的檢舉人：Chen Jing, 13912345678"),
}
LOG = {
    "en": "Shown who reported it:\n2026-11-22 10:00 · Officer Wang · an officer of the case",
    "zh-hans": "查看过举报人身份的记录：\n2026-11-22 10:00 · Officer Wang · 办案人员",
    "zh-hant": "查看過檢舉人身分的紀錄：\n2026-11-22 10:00 · Officer Wang · 承辦人員",
}
NOBODY = {
    "en": "Nobody has been shown who reported it.",
    "zh-hans": "尚无人查看过举报人身份。",
    "zh-hant": "尚無人查看過檢舉人身分。",
}


async def case_id_of(bot: Bot, number: str) -> int:
    case = await bot.db.read.cases.by_number(number)
    assert case is not None
    return case.id


async def officer_named(bot: Bot, language: str) -> FakeUser:
    """A fire officer who goes by "Officer Wang" in Telegram."""
    officer = bot.user(language=language, first_name="Officer Wang")
    code = await create_invite(bot.db, InviteSpec(Role.OFFICER, "fire"), bot.clock.now())
    await officer.send(f"/join {code}")
    assert await bot.db.read.users.memberships(officer.user_id)
    return officer


@pytest.mark.parametrize("language", ["zh-hans", "zh-hant", "en"])
async def test_an_officer_of_a_real_name_case_is_shown_who_and_it_is_logged(
    bot: Bot, language: str
) -> None:
    officer = await officer_named(bot, language)
    supervisor = await member(bot, Role.SUPERVISOR, "fire", language=language)
    number = await report(bot.user(language="en"))
    case_id = await case_id_of(bot, number)
    await bot.drain()
    card = officer.last
    assert NAME not in card.plain
    assert PHONE not in card.plain
    await supervisor.send(f"/case {number}")
    assert NOBODY[language] in supervisor.last.plain

    label, shown = LOOK[language]
    await officer.press(label, message=card)
    assert officer.last.plain.startswith(shown.format(number=number))
    assert officer.last.message_id != card.message_id  # a message of its own, in private
    assert tables.identity_reads(bot.db, case_id) == [(officer.user_id, "case")]

    # The supervisor reads who looked, when and why; never the identity itself.
    await supervisor.send(f"/case {number}")
    file = supervisor.last.plain
    assert LOG[language] in file
    assert NAME not in file
    assert PHONE not in file
    # Each look is a line: a second one too.
    await officer.press(label, message=card)
    assert len(tables.identity_reads(bot.db, case_id)) == 2


async def test_supervisors_and_admins_read_the_log_with_identitylog(bot: Bot) -> None:
    officer = await officer_named(bot, "en")
    admin = await make_admin(bot)
    fire_head = await staff(bot, InviteSpec(Role.SUPERVISOR, "fire"))
    housing_head = await staff(bot, InviteSpec(Role.SUPERVISOR, "housing"))
    number = await report(bot.user(language="en"))
    hidden = await report(bot.user(language="en"), anonymous=True, photo_seed=5)
    await bot.drain()
    card = next(m for m in officer.transcript if f"New report {number}" in m.plain)
    await officer.press("Who reported it", message=card)
    for reader in (admin, fire_head):
        await reader.send(f"/identitylog {number.lower()}")
        assert reader.last.plain == f"Case {number}: who was shown its reporter\n" + LOG["en"]
        await reader.send(f"/identitylog {hidden}")
        assert reader.last.plain.endswith("nobody can be shown who it is.")
    # Outside the scope, and to anyone else, the case does not exist.
    for other in (housing_head, officer):
        await other.send(f"/identitylog {number}")
        assert other.last.plain == f"There is no case {number} that you can see."
    await admin.send("/identitylog")
    assert admin.last.plain == "Send /identitylog followed by a case number."
    await admin.send("/help")
    assert "/identitylog" in admin.last.plain


async def test_nobody_else_is_shown_the_reporter(bot: Bot) -> None:
    enterprise_id = await enterprise_named(bot, "Golden Dragon Restaurant", "91330100MA27XL0T4C")
    officer = await staff(bot, InviteSpec(Role.OFFICER, "fire"))
    elsewhere = await staff(bot, InviteSpec(Role.OFFICER, "housing"))
    contact = await staff(bot, InviteSpec(Role.ENTERPRISE, enterprise_id=enterprise_id))
    supervisor = await staff(bot, InviteSpec(Role.SUPERVISOR))
    named = await report(bot.user(language="en"))
    hidden = await report(bot.user(language="en"), anonymous=True, photo_seed=7)
    follower = bot.user(language="en")
    await follower.send("/start")
    named_id, hidden_id = await case_id_of(bot, named), await case_id_of(bot, hidden)
    async with bot.db.transaction() as tx:
        await tx.cases.add_follower(named_id, follower.user_id, bot.clock.now())
    case = await accepted_and_ordered(
        bot, officer, named, enterprise_id, colour=Colour.BLUE, days=15
    )
    await bot.drain()

    # An anonymous report's card has no button, and a forged one shows nothing.
    await officer.send(f"/case {hidden}")
    assert "Reporter: anonymous" in officer.last.plain
    assert not officer.last.has_button("Who reported it")
    hidden_case = await bot.db.read.cases.get(hidden_id)
    assert hidden_case is not None
    await officer.press_data(case_data("who", hidden_id, hidden_case.version), officer.last)
    assert officer.callback_answers[-1]["text"] == "You are not allowed to do that."

    # Nobody but the case's officers, whatever they press: another department's officer, the
    # enterprise, a follower, a supervisor outside the payout.
    for intruder in (elsewhere, contact, follower, supervisor):
        await intruder.press_data(case_data("who", named_id, case.version), intruder.last)
        assert intruder.callback_answers[-1]["text"] == "You are not allowed to do that."
    await supervisor.send(f"/case {named}")
    assert not supervisor.last.has_button("Who reported it")
    assert "Reporter:" not in supervisor.last.plain
    for who in (elsewhere, contact, supervisor):
        with pytest.raises(NotAllowed):
            await identity.for_officer(bot.services, await account(bot, who), named_id)
    for intruder in (elsewhere, contact, follower, supervisor):
        everything = "\n".join(m.plain for m in intruder.transcript)
        assert NAME not in everything
        assert PHONE not in everything
    assert tables.identity_reads(bot.db, named_id) == []
    assert tables.identity_reads(bot.db, hidden_id) == []


async def test_a_reporter_without_a_telegram_account_is_recorded_and_shown_to_officers(
    bot: Bot,
) -> None:
    """A partner channel (Open311) files a case with a contact and no Telegram user."""
    officer = await staff(bot, InviteSpec(Role.OFFICER, "fire"))
    now = bot.clock.now()
    async with bot.db.transaction() as tx:
        case_id = await tx.cases.insert(
            {
                "number": "YH-20261122-0901",
                "category": "fire",
                "description": DESCRIPTION,
                "anonymous": 0,
                "department": "fire",
                "status": "submitted",
                "created_at": to_db(now),
                "updated_at": to_db(now),
                "routed_at": to_db(now),
            }
        )
        contact = NewReporter(
            channel="open311", name="Li Lei", phone="13700137000", email="li@example.cn"
        )
        await identity.record(tx, case_id, contact, now)
    actor = await account(bot, officer)
    shown = await identity.for_officer(bot.services, actor, case_id)
    assert (shown.channel, shown.name, shown.phone, shown.email) == (
        "open311",
        "Li Lei",
        "13700137000",
        "li@example.cn",
    )
    assert tables.identity_reads(bot.db, case_id) == [(officer.user_id, "case")]
    # Their daily limit counts by the email or phone they gave.
    read = bot.db.read.reporters
    assert await read.count_by_contact_since("li@example.cn", None, now) == 1
    assert await read.count_by_contact_since(None, "13700137000", now) == 1
    assert await read.count_by_contact_since("other@example.cn", "13600136000", now) == 0
    assert await read.count_by_contact_since(None, None, now) == 0
    # Nobody to notify or to ask in Telegram.
    assert await bot.db.read.cases.participants(case_id) == []
    with pytest.raises(ReporterUnreachable):
        await questions.ask_reporter(bot.services, actor, case_id, "Which floor is it on?")


async def test_migration_0020_moves_the_reporters_off_the_cases(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    every = storage.db._migrations()
    monkeypatch.setattr(storage.db, "_migrations", lambda: [m for m in every if m[0] < "0020"])
    now = dt.datetime(2026, 11, 22, 2, tzinfo=dt.UTC)
    cases = {
        "YH-20261122-0001": (1, 0, NAME, PHONE),
        "YH-20261122-0002": (2, 1, None, None),
    }
    async with Database(tmp_path / "old.db") as database:
        await database.migrate()
        async with database.transaction() as tx:
            for user in (1, 2, 3):
                await tx.users.touch(user, "en", now)
            for number, (reporter, anonymous, name, phone) in cases.items():
                await tx.cases.insert(
                    {
                        "number": number,
                        "reporter_id": reporter,
                        "category": "fire",
                        "description": DESCRIPTION,
                        "anonymous": anonymous,
                        "reporter_name": name,
                        "reporter_phone": phone,
                        "department": "fire",
                        "status": "submitted",
                        "created_at": to_db(now),
                        "updated_at": to_db(now),
                    }
                )
            await tx.cases.add_follower(2, 3, now)
        monkeypatch.setattr(storage.db, "_migrations", lambda: every)
        assert "0020_reporter_identity" in await database.migrate()

        columns = {r["name"] for r in tables.rows(database, "PRAGMA table_info(cases)")}
        assert not columns & {"reporter_id", "reporter_name", "reporter_phone"}
        moved = tables.rows(
            database,
            "SELECT c.number, r.channel, r.user_id, r.name, r.phone, r.email"
            " FROM case_reporters r JOIN cases c ON c.id = r.case_id ORDER BY c.number",
        )
        assert [tuple(r) for r in moved] == [
            ("YH-20261122-0001", "telegram", 1, NAME, PHONE, None),
            ("YH-20261122-0002", "telegram", 2, None, None, None),
        ]
        # /my, the daily limit and the reporter's notices read the moved link, by index.
        read = database.read
        assert [c.number for c in await read.cases.for_user(1, 10, 0)] == ["YH-20261122-0001"]
        assert await read.cases.count_for_user(3) == 1
        assert await read.cases.count_reported_since(2, now) == 1
        assert await read.cases.participants(2) == [2, 3]
        plans = tables.rows(
            database,
            "EXPLAIN QUERY PLAN SELECT COUNT(*) FROM case_reporters"
            " WHERE user_id = 1 AND created_at >= '2026'",
        )
        assert "case_reporters_created" in " ".join(str(r["detail"]) for r in plans)
        assert await database.integrity_check() == "ok"


def test_only_the_identity_module_shows_a_reporter() -> None:
    """The name and phone are read in one place, which logs the read (storage/reporters.py's
    ``reveal``, called by bot/identity.py alone); the identity's tables in storage/ alone."""
    reveal = re.compile(r"\.reporters\.reveal\(")
    tables_named = re.compile(r"\b(case_reporters|identity_reads)\b")
    for folder in ("bot", "handlers", "storage"):
        for path in (ROOT / folder).rglob("*.py"):
            text = path.read_text("utf-8")
            where = path.relative_to(ROOT).as_posix()
            if reveal.search(text):
                assert where == "bot/identity.py", where
            if tables_named.search(text) and folder != "storage":
                # A mention in a docstring or comment is fine; SQL is not.
                assert "SELECT" not in text, where
                assert "INSERT" not in text, where


async def test_a_card_in_the_department_group_shows_who_only_to_an_officer_in_private(
    bot: Bot,
) -> None:
    admin = await staff(bot, InviteSpec(Role.ADMIN))
    officer = await officer_named(bot, "en")
    bystander = bot.user(language="en")
    group = -100500
    for member_of_group in (admin, officer, bystander):
        member_of_group.join_group(group, title="Fire department")
    await admin.send("/setgroup fire", chat_id=group)
    number = await report(bot.user(language="en"))
    case_id = await case_id_of(bot, number)
    await bot.drain()
    card = bot.api.messages_to(group)[-1]
    assert f"新举报 {number}" in card.plain  # the city's default language
    assert "举报人：实名（点 👤 查看；每次查看均记录在案）" in card.plain
    await bystander.press("查看举报人", message=card)
    assert bystander.callback_answers[-1]["text"] == "You are not allowed to do that."
    assert tables.identity_reads(bot.db, case_id) == []
    await officer.press("查看举报人", message=card)
    assert officer.last.chat_id == officer.user_id
    assert officer.last.plain.startswith(f"Case {number} was reported by: {NAME}, {PHONE}")
    assert tables.identity_reads(bot.db, case_id) == [(officer.user_id, "case")]
    in_group = "\n".join(m.plain for m in bot.api.messages_to(group))
    assert NAME not in in_group
    assert PHONE not in in_group
