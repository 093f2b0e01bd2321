"""The whole closed loop through the core alone, with Telegram unimportable.

Another channel (the HTTP API, a test, a script) files and follows cases by calling the same core
functions the chat handlers call: report → accept → assign → fix → verify → the reporter told →
stats → the ledger. Here no module of python-telegram-bot can even be imported.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import tables

# Everything of the project that may have been imported by other tests, and Telegram itself.
_FRESH = ("bot", "storage", "handlers", "sandbox", "fakebotapi", "telegram")


@pytest.fixture
def no_telegram() -> Iterator[None]:
    """Import the core afresh in a process where ``import telegram`` fails; put back after."""
    saved = dict(sys.modules)
    for name in list(sys.modules):
        if name.split(".")[0] in _FRESH:
            del sys.modules[name]
    sys.modules["telegram"] = None  # type: ignore[assignment]  # makes "import telegram" fail
    try:
        yield
    finally:
        sys.modules.clear()
        sys.modules.update(saved)


async def test_the_closed_loop_runs_through_the_core_alone(
    tmp_path: Path, no_telegram: None
) -> None:
    with pytest.raises(ImportError):
        import telegram  # noqa: F401

    from bot import (
        accounts,
        dates,
        enterprises,
        invites,
        ledger,
        rectification,
        report_flow,
        reports,
        stats,
        triage,
        verification,
    )
    from bot.city import load_city
    from bot.clock import ManualClock
    from bot.i18n import Catalogs
    from bot.services import Services
    from bot.settings import Settings
    from bot.vocabulary.grading import Colour
    from bot.vocabulary.lifecycle import Level, Status
    from bot.vocabulary.roles import Role
    from storage.db import Database

    assert not any(name.split(".")[0] == "telegram" and sys.modules[name] for name in sys.modules)

    settings = Settings(
        _env_file=None,
        token="123456:CORE",
        database=tmp_path / "shaozi.db",
        data_dir=tmp_path / "data",
    )
    clock = ManualClock(dt.datetime(2026, 12, 7, 2, 0, tzinfo=dt.UTC))  # 10:00 in the city
    db = Database(settings.database)
    services = Services(settings, load_city(settings.city), db, clock, Catalogs())
    await db.connect()
    await db.migrate()
    try:
        # People: an admin from the command line's invite, then staff invited by the admin.
        admin_code = await invites.create_invite(db, invites.InviteSpec(Role.ADMIN), clock.now())
        admin = await accounts.visit(services, 1, "en")
        admin = (await invites.join(services, admin, admin_code)).account
        company = await enterprises.add_enterprise(
            services,
            admin,
            enterprises.check_details(services.city, "Golden Dragon Restaurant", code()),
        )

        async def staff(user_id: int, spec: invites.InviteSpec) -> accounts.Account:
            issued = await invites.issue(services, admin, spec)
            account = await accounts.visit(services, user_id, "en")
            return (await invites.join(services, account, issued.code)).account

        officer = await staff(2, invites.InviteSpec(Role.OFFICER, "fire"))
        contact = await staff(3, invites.InviteSpec(Role.ENTERPRISE, enterprise_id=company.id))
        supervisor = await staff(4, invites.InviteSpec(Role.SUPERVISOR))
        citizen = await accounts.visit(services, 100, "en")

        # The citizen's report, step by step, as plain values.
        draft = await report_flow.new_draft(services, citizen)
        await report_flow.choose_category(services, draft, "fire")
        place = report_flow.Sent(message_id=1, kind="location", point=(30.2805, 120.1905))
        await report_flow.take(services, draft, place)
        words = "The fire exit of the kitchen is blocked with crates."
        await report_flow.take(
            services, draft, report_flow.Sent(message_id=2, kind="text", text=words)
        )
        assert report_flow.confirm_no_photo(draft)
        await report_flow.no_photo(services, draft)
        await report_flow.anonymous(services, draft)
        assert draft.step is reports.Step.SUMMARY
        filed = await reports.submit(services, citizen.id, draft.key)
        case = filed.case
        assert filed.created
        assert case.status is Status.SUBMITTED
        assert case.department == "fire"
        assert case.district == "laocheng"

        # The department: accept, order the enterprise to fix it within 7 days.
        case = await triage.accept(
            services, officer, case.id, case.version, Colour.YELLOW, Level.GENERAL
        )
        deadline = dates.end_of_day(services, 7)
        case = await triage.assign(services, officer, case.id, case.version, company.id, deadline)
        assert case.status is Status.ASSIGNED
        assert case.enterprise_id == company.id

        # The enterprise says it is fixed; the officer verifies and closes it (销号).
        clock.advance(days=2)
        case = await rectification.submit_fix(services, contact, case.id, [], "Crates removed.")
        assert case.status is Status.FIX_SUBMITTED
        case = await verification.close(services, officer, case.id, case.version)
        assert case.status is Status.CLOSED

        # The reporter is told, in their language, through the channel-neutral outbox.
        told = [
            json.loads(payload)["text"]
            for (payload,) in tables.rows(
                db.location,
                "SELECT payload FROM outbox WHERE chat_id = ? ORDER BY id",
                (citizen.id,),
            )
        ]
        assert any("accepted" in text and case.number in text for text in told)
        assert any("closed" in text.lower() and case.number in text for text in told), told
        enterprise_told = tables.rows(
            db.location, "SELECT payload FROM outbox WHERE chat_id = ?", (contact.id,)
        )
        assert any(case.number in json.loads(p)["text"] for (p,) in enterprise_told)

        # The supervisor's statistics and ledger of this month.
        asked = stats.request(services, supervisor, "this-month")
        figures = await stats.compute(services, asked.scope, asked.period)
        assert (figures.total.found, figures.total.rectified) == (1, 1)
        tr = services.translator_for("en")
        export = await ledger.export(services, tr, stats.request(services, supervisor, None))
        try:
            with export.csv.open(encoding="utf-8-sig", newline="") as f:
                rows = list(csv.reader(f))
            assert export.count == 1
            (line,) = (r for r in rows[1:] if r and r[0] == case.number)
            assert "Golden Dragon Restaurant" in line
            assert "closed" in line
        finally:
            await ledger.discard(export)
    finally:
        await db.close()

    assert not any(name.split(".")[0] == "telegram" and sys.modules[name] for name in sys.modules)


def code() -> str:
    from bot.enterprises import check_character

    first17 = "91330100MA2000001"
    return first17 + check_character(first17)
