"""The Open311 GeoReport v2 API (#17), driven over HTTP against the running bot: a partner's
report reaches the officers, is handled in chat, and the partner sees it closed by GET and by a
signed webhook; every error answer; nothing of a reporter in any answer."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import pytest
from aiohttp import FormData

from bot import triage
from bot.invites import InviteSpec
from bot.partners import revoke_key
from bot.settings import Settings
from bot.vocabulary.grading import Colour
from bot.vocabulary.lifecycle import Level
from bot.vocabulary.roles import Role
from sandbox.core import offline_settings
from tests.support import tables
from tests.support.cases import LAOCHENG, enterprise_named, report
from tests.support.chat import NUMBER, TOKEN, Bot, since
from tests.support.exports import by_number, csv_rows, export
from tests.support.figures import ask_stats
from tests.support.generated import (
    REPORTER,
    REPORTER_NAME,
    REPORTER_PHONE,
    insert_cases,
    make_cases,
)
from tests.support.images import has_metadata, jpeg
from tests.support.open311 import Answer, Partner, api_client, new_key, receiver, send_webhooks
from tests.support.people import account, staff

# What the person behind the partner's report gave: never in an API answer.
CONTACT = {
    "first_name": "Jing",
    "last_name": "Chen",
    "email": "chen.jing@example.com",
    "phone": "13912345678",
}
DESCRIPTION = "The fire exit of the night market hall is chained shut."


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """The bot's settings, with webhooks and media fetches allowed to reach this machine."""
    return offline_settings(tmp_path, TOKEN, hooks_allow_private=True)


def report_form(**extra: str) -> dict[str, str]:
    return {
        "service_code": "fire",
        "lat": str(LAOCHENG[0]),
        "long": str(LAOCHENG[1]),
        "description": DESCRIPTION,
        **extra,
    }


def with_photo(key: str, fields: dict[str, str], photo: bytes) -> FormData:
    form = FormData()
    form.add_field("api_key", key)
    for name, value in fields.items():
        form.add_field(name, value)
    form.add_field("media", photo, filename="hazard.jpg", content_type="image/jpeg")
    return form


async def test_a_partners_report_is_handled_in_chat_and_the_partner_sees_it_closed(
    bot: Bot,
) -> None:
    enterprise_id = await enterprise_named(bot, "Golden Dragon Restaurant", "91330100MA27XL0T4C")
    officer = await staff(bot, InviteSpec(Role.OFFICER, "fire"))
    contact = await staff(bot, InviteSpec(Role.ENTERPRISE, enterprise_id=enterprise_id))
    async with receiver() as hook, api_client(bot) as client:
        key = await new_key(bot, "wechat", hook.url)
        hook.key = key
        partner = Partner(client, key)

        # 1. The partner posts a report with a photo (with GPS in its EXIF) in the reporter's name.
        fields = report_form(**CONTACT, **{"attribute[identity]": "real_name"})
        posted = await partner.post("requests.json", with_photo(key, fields, jpeg(gps=True)))
        assert posted.status == 200, posted.text
        [item] = posted.json()
        number = item["service_request_id"]
        assert NUMBER.fullmatch(number)

        # 2. The fire officers get the same card as for a chat report, the photo stripped.
        mark = len(officer.transcript)
        await bot.drain()
        [card] = since(officer, mark)
        assert card.method == "sendPhoto"
        assert not has_metadata(card.photo or b"")
        assert f"New report {number}" in card.plain
        # Real name: an officer is shown who on request, as for a chat report, and it is logged.
        assert "Reporter: real name" in card.plain
        assert "Jing Chen" not in card.plain
        assert "Received through wechat, not in chat" in card.plain
        await officer.press("Who reported it", message=card)
        assert officer.last.plain.startswith(
            f"Case {number} was reported by: Jing Chen, 13912345678, chen.jing@example.com"
        )
        case_id = tables.value(bot.db, "SELECT id FROM cases WHERE number = ?", (number,))
        assert tables.identity_reads(bot.db, case_id) == [(officer.user_id, "case")]
        assert not card.has_button("Ask the reporter")  # no chat to relay a question to
        assert tables.value(bot.db, "SELECT channel FROM cases WHERE number = ?", (number,)) == (
            "wechat"
        )

        # 3. The partner sees it open, with its own photo's stripped copy served by the API.
        got = await partner.get(f"requests/{number}.json")
        [request] = got.json()
        assert request["status"] == "open"
        assert request["agency_responsible"] == "消防救援支队"  # the city's language by default
        assert request["description"] == DESCRIPTION
        photo = await partner.fetch(request["media_url"])
        assert photo == card.photo
        assert not has_metadata(photo)

        # 4. Triage, order, fix and closing, in chat.
        await officer.press("Accept", message=card)
        await officer.press("orange", message=card)
        await officer.press("general hazard", message=card)
        await officer.press("Order an enterprise to fix it", message=card)
        await officer.send("golden dragon")
        choice = officer.last
        await officer.press("Golden Dragon Restaurant", message=choice)
        await officer.press("15 days", message=choice)
        await bot.drain()
        got = await partner.get(f"requests/{number}.json", locale="en")
        [request] = got.json()
        assert request["status"] == "open"
        assert request["agency_responsible"] == "Fire and Rescue Detachment"
        assert request["expected_datetime"].startswith("2026-12-07T23:59:59+08:00")
        assert "Golden Dragon" not in got.text  # no enterprise for a case not closed
        await contact.send("/tasks")
        await contact.press("Submit the fix", message=contact.last)
        await contact.send_photo(jpeg(seed=99))
        await contact.send("Replaced the chain with a panic bar.")
        await bot.drain()
        fix_card = officer.last
        await officer.press("Verified: close the case", message=fix_card)
        # No reward's outcome asked: a partner's reporter has no account to claim one with.
        assert not fix_card.has_button("Genuine")
        await officer.press("Yes, close it", message=fix_card)
        assert "Status: closed" in fix_card.plain
        await bot.drain()

        # 5. The partner sees it closed by GET, in JSON and XML …
        [request] = (await partner.get(f"requests/{number}.json")).json()
        assert request["status"] == "closed"
        xml = (await partner.get(f"requests/{number}.xml")).xml()
        assert xml.tag == "service_requests"
        assert xml.findtext("request/status") == "closed"
        assert xml.findtext("request/service_request_id") == number
        listed = (await partner.get("requests.json", status="closed")).json()
        assert [r["service_request_id"] for r in listed] == [number]

        # … and by webhooks, each signed with its key: created, then each status change.
        assert await send_webhooks(bot) == 5
        events = hook.events()
        assert [(e["status"], e["extended_status"]) for e in events] == [
            ("open", "open"),
            ("open", "investigating"),
            ("open", "action_scheduled"),
            ("open", "in_progress"),
            ("closed", "fixed"),
        ]
        assert {e["service_request_id"] for e in events} == {number}
        assert len({e["id"] for e in events}) == 5
        assert events[0]["event"] == "created"
        assert await send_webhooks(bot) == 0  # each went once

        # mySociety's updates list the same changes.
        updates = (await partner.get("servicerequestupdates.json")).json()
        assert [u["status"] for u in updates] == [
            "investigating",
            "action_scheduled",
            "in_progress",
            "fixed",
        ]
        assert [u["update_id"] for u in updates] == [e["id"] for e in events[1:]]

    # Nothing of the reporter in any answer: their contact, their account.
    scan_answers(bot, partner)


def scan_answers(bot: Bot, partner: Partner) -> None:
    everything = partner.everything()
    assert partner.answers
    accounts = tables.rows(bot.db, "SELECT user_id FROM api_keys")
    secrets = [*CONTACT.values(), "Jing Chen", *(str(r["user_id"]) for r in accounts)]
    for secret in secrets:
        assert secret not in everything, secret


async def test_discovery_and_services_in_each_language_and_format(bot: Bot) -> None:
    async with api_client(bot) as client:
        public = Partner(client, None)  # discovery and services need no key
        discovery = (await public.get("discovery.json")).json()
        [endpoint] = discovery["endpoints"]
        assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
        assert endpoint["url"].endswith("/open311/v2")
        assert (await public.get("discovery.xml")).xml().findtext(
            "endpoints/endpoint/formats/format"
        ) == "text/xml"

        english = {
            s["service_code"]: s for s in (await public.get("services.json", locale="en")).json()
        }
        assert english["fire"]["service_name"] == "Fire safety"
        assert english["fire"]["group"] == "Fire and Rescue Detachment"
        assert "Blocked or locked exits" in english["fire"]["keywords"]
        assert english["gas"]["group"] == "Housing and Urban-Rural Development Bureau"
        assert set(english) == {c.code for c in bot.city.categories}
        traditional = (await public.get("services.xml", locale="zh_Hant")).xml()
        names = {s.findtext("service_code"): s.findtext("service_name") for s in traditional}
        assert names["gas"] == "燃氣安全"
        default = (await public.get("services.json")).json()
        assert next(s for s in default if s["service_code"] == "fire")["service_name"] == "消防安全"

        definition = (await public.get("services/fire.json", locale="en")).json()
        attributes = {a["code"]: a for a in definition["attributes"]}
        districts = {v["key"]: v["name"] for v in attributes["district"]["values"]}
        assert districts["laocheng"] == "Laocheng District"
        assert [v["key"] for v in attributes["identity"]["values"]] == ["anonymous", "real_name"]
        xml = (await public.get("services/fire.xml")).xml()
        assert xml.tag == "service_definition"
        assert xml.findtext("attributes/attribute/code") == "district"


async def test_every_error_is_a_list_of_code_and_description(bot: Bot) -> None:
    async with api_client(bot) as client:
        key = await new_key(bot, "wechat")
        partner = Partner(client, key)
        stranger = Partner(client, "not-a-key")
        nobody = Partner(client, None)

        async def refused(answer_: Answer, status: int, words: str) -> None:
            assert answer_.status == status, answer_.text
            if answer_.text.startswith("<?xml"):
                error = answer_.xml().find("error")
                assert error is not None
                assert error.findtext("code") == str(status)
                assert words in (error.findtext("description") or "")
            else:
                [error] = answer_.json()
                assert error["code"] == status
                assert words in error["description"], error

        # 403: no key, a wrong key, a revoked key; for POST and GET alike.
        await refused(await nobody.post("requests.json?locale=en", report_form()), 403, "api_key")
        await refused(await stranger.post("requests.xml?locale=en", report_form()), 403, "api_key")
        await refused(await nobody.get("requests.json", locale="en"), 403, "api_key")
        await refused(
            await stranger.get("requests/YH-20261122-0001.json", locale="en"), 403, "api_key"
        )
        await refused(await nobody.get("servicerequestupdates.json", locale="en"), 403, "api_key")
        # 404: an unknown service, request, or path.
        await refused(await partner.get("services/nosuch.json", locale="en"), 404, "nosuch")
        await refused(
            await partner.post("requests.json?locale=en", report_form(service_code="nosuch")),
            404,
            "nosuch",
        )
        await refused(
            await partner.get("requests/YH-20260101-0001.xml", locale="en"), 404, "no request"
        )
        await refused(
            await partner.get("nothing.json", locale="en"), 404, "nothing at this address"
        )
        # 400: what the request lacks or gets wrong, said in the language asked.
        form = report_form()
        del form["description"]
        await refused(
            await partner.post("requests.json?locale=en", form), 400, "description is required"
        )
        form = report_form()
        del form["service_code"]
        await refused(
            await partner.post("requests.json?locale=en", form), 400, "service_code is required"
        )
        await refused(
            await partner.post("requests.json", report_form(description="Too short")),
            400,
            "请至少用 10 个字",
        )
        assert (
            "缺少 description"
            in (await partner.post("requests.json", {"service_code": "fire"})).text
        )
        await refused(
            await partner.post("requests.json?locale=en", report_form(description="x" * 4001)),
            400,
            "the limit is 4000",
        )
        await refused(
            await partner.post("requests.json?locale=en", report_form(lat="north")),
            400,
            "lat must be a number",
        )
        await refused(
            await partner.post("requests.json?locale=en", report_form(lat="91")), 400, "place"
        )
        form = report_form()
        del form["long"]
        await refused(
            await partner.post("requests.json?locale=en", form), 400, "lat and long go together"
        )
        form = report_form()
        del form["lat"], form["long"]
        await refused(
            await partner.post("requests.json?locale=en", form), 400, "lat and long, or an address"
        )
        await refused(
            await partner.post(
                "requests.json?locale=en", {**form, "address_string": "12 Nowhere Road"}
            ),
            400,
            "attribute[district]",
        )
        await refused(
            await partner.post(
                "requests.json?locale=en", report_form(**{"attribute[identity]": "famous"})
            ),
            400,
            "anonymous or real_name",
        )
        await refused(
            await partner.post("requests.json?locale=en", report_form(email="not-an-address")),
            400,
            "email address",
        )
        await refused(
            await partner.post("requests.json?locale=en", report_form(phone="12")),
            400,
            "phone number",
        )
        await refused(
            await partner.post(
                "requests.json?locale=en", with_photo(key, report_form(), b"GIF89a not really")
            ),
            400,
            "not a picture",
        )
        await refused(
            await partner.post(
                "requests.json?locale=en", report_form(media_url="ftp://example.com/a.jpg")
            ),
            400,
            "http:// or https://",
        )
        await refused(
            await partner.get("requests.json", locale="en", status="pending"), 400, "status"
        )
        await refused(
            await partner.get("requests.json", locale="en", start_date="yesterday"), 400, "W3C"
        )
        await refused(
            await partner.get(
                "requests.json",
                locale="en",
                start_date="2026-11-30T00:00:00Z",
                end_date="2026-11-01",
            ),
            400,
            "start_date is after end_date",
        )
        await refused(await partner.get("requests.json", locale="en", page="0"), 400, "page")
        # Nothing was filed by any of it.
        assert tables.count(bot.db, "cases") == 0

        # A revoked key is refused from then on.
        assert (await partner.post("requests.json?locale=en", report_form())).status == 200
        await revoke_key(bot.db, "wechat", bot.clock.now())
        await refused(await partner.get("requests.json", locale="en"), 403, "api_key")


async def test_a_key_is_rate_limited_and_a_person_by_the_days_limit(bot: Bot) -> None:
    async with api_client(bot) as client:
        partner = Partner(client, await new_key(bot, "wechat"))
        other = Partner(client, await new_key(bot, "web"))
        statuses = [(await partner.get("requests.json")).status for _ in range(61)]
        assert statuses[:60] == [200] * 60
        assert statuses[60] == 429
        assert (await other.get("requests.json")).status == 200  # per key
        bot.clock.advance(dt.timedelta(seconds=1))
        assert (await partner.get("requests.json")).status == 200  # refilled with time

        # One person (by phone or email) files as many a day as a chat reporter may.
        limit = bot.city.limits.reports_per_day
        for n in range(limit):
            place = {"lat": str(30.26 + n * 0.004), "long": "120.16"}
            answer_ = await other.post("requests.json", report_form(phone="13912345678", **place))
            assert answer_.status == 200, answer_.text
        refused = await other.post(
            "requests.json?locale=en", report_form(email="x@example.com", phone="13912345678")
        )
        assert refused.status == 429
        assert f"You have sent {limit} reports today" in refused.text
        assert (await other.post("requests.json", report_form(phone="13800138000"))).status == 200
        assert tables.count(bot.db, "cases") == limit + 1


async def test_get_requests_filters_window_and_pages(bot: Bot) -> None:
    enterprise_id = await enterprise_named(bot, "Golden Dragon Restaurant", "91330100MA27XL0T4C")
    made = make_cases(bot, 7000, [enterprise_id])
    await insert_cases(bot, made)
    now = bot.clock.now()
    window = [c for c in made if now - dt.timedelta(days=90) <= c.created_at <= now]
    assert len(window) > 1000
    async with api_client(bot) as client:
        partner = Partner(client, await new_key(bot, "wechat"))

        # By default: the last 90 days, 1,000 at a time, the newest first; page 2 the rest.
        first = (await partner.get("requests.json")).json()
        second = (await partner.get("requests.json", page="2")).json()
        assert len(first) == 1000
        ids = [r["service_request_id"] for r in first + second]
        assert sorted(ids) == sorted(c.number for c in window)
        assert first[0]["requested_datetime"] >= first[-1]["requested_datetime"]
        assert (await partner.get("requests.json", page="99")).json() == []

        # Filters: a service, open or closed, a window of dates.
        start, end = "2026-09-01T00:00:00+08:00", "2026-09-30T23:59:59+08:00"
        got = (
            await partner.get(
                "requests.xml",
                service_code="fire,gas",
                status="closed",
                start_date=start,
                end_date=end,
            )
        ).xml()
        expected = {
            c.number
            for c in made
            if c.category in ("fire", "gas")
            and c.status in ("closed", "rejected", "merged")
            and dt.datetime.fromisoformat(start) <= c.created_at <= dt.datetime.fromisoformat(end)
        }
        assert expected
        assert {r.findtext("service_request_id") for r in got} == expected
        assert {r.findtext("status") for r in got} == {"closed"}

        # A list of ids, whatever their date.
        old = [c.number for c in made[:3]]
        listed = (await partner.get("requests.json", service_request_id=",".join(old))).json()
        assert sorted(r["service_request_id"] for r in listed) == sorted(old)
        statuses = {c.number: c.status for c in made[:3]}
        for r in listed:
            closed = statuses[r["service_request_id"]] in ("closed", "rejected", "merged")
            assert r["status"] == ("closed" if closed else "open")
    # The chat reporters' real names and phones never reach a partner.
    everything = partner.everything()
    assert REPORTER_NAME not in everything
    assert REPORTER_PHONE not in everything
    assert str(REPORTER) not in everything


async def test_a_report_by_address_and_district(bot: Bot) -> None:
    officer = await staff(bot, InviteSpec(Role.OFFICER, "fire"))
    async with api_client(bot) as client:
        partner = Partner(client, await new_key(bot, "hotline"))
        fields = {
            "service_code": "fire",
            "address_string": "18 Jiefang Road, by the east gate",
            "attribute[district]": "Laocheng District",
            "description": DESCRIPTION,
            **CONTACT,  # anonymous (no real_name asked): officers see no name
        }
        posted = await partner.post("requests.xml", fields)
        assert posted.status == 200, posted.text
        number = posted.xml().findtext("request/service_request_id")
        mark = len(officer.transcript)
        await bot.drain()
        [card] = since(officer, mark)
        assert f"New report {number}" in card.plain
        assert "18 Jiefang Road, by the east gate" in card.plain
        assert "Reporter: anonymous" in card.plain
        for secret in CONTACT.values():
            assert secret not in card.plain
        [request] = (await partner.get(f"requests/{number}.json")).json()
        assert request["address"] == "18 Jiefang Road, by the east gate"
        assert request["lat"] is None
        assert request["media_url"] is None
        # The contact is kept, as a chat reporter's would be, for the city's own follow-up.
        # (in the identity store, with no account: nobody is told or asked in chat).
        kept = tables.row(
            bot.db,
            "SELECT r.* FROM case_reporters r JOIN cases c ON c.id = r.case_id WHERE c.number = ?",
            (number,),
        )
        assert kept is not None
        assert (kept["email"], kept["phone"], kept["channel"], kept["user_id"]) == (
            CONTACT["email"],
            CONTACT["phone"],
            "hotline",
            None,
        )
    scan_answers(bot, partner)


async def test_stats_and_the_ledger_split_by_channel(bot: Bot) -> None:
    officer = await staff(bot, InviteSpec(Role.OFFICER, "fire"))
    supervisor = await staff(bot, InviteSpec(Role.SUPERVISOR))
    chat_number = await report(bot.user(language="en"))
    async with api_client(bot) as client:
        partner = Partner(client, await new_key(bot, "wechat"))
        numbers = [
            (await partner.post("requests.json", report_form(lat=str(30.26 + n * 0.01)))).json()[0][
                "service_request_id"
            ]
            for n in range(2)
        ]
    actor = await account(bot, officer)
    for number in [chat_number, *numbers]:
        case = await bot.db.read.cases.by_number(number)
        assert case is not None
        await triage.accept(bot.services, actor, case.id, case.version, Colour.BLUE, Level.GENERAL)

    text, _chart = await ask_stats(supervisor, "/stats month")
    assert "By channel · found / rectified · rate · overdue" in text
    assert "• wechat: 2 / 0 · 0.0% · 0" in text
    assert "• Telegram chat: 1 / 0 · 0.0% · 0" in text

    _xlsx, table = await export(supervisor, "/export month")
    lines = by_number(csv_rows(table), "")
    assert {number: line["Channel"] for number, line in lines.items()} == {
        chat_number: "Telegram chat",
        numbers[0]: "wechat",
        numbers[1]: "wechat",
    }
    # The ledger keeps the reporter's identity out, whatever the channel.
    assert "chen.jing" not in table.plain


async def test_two_reports_of_one_person_at_once_keep_the_days_limit(bot: Bot) -> None:
    limit = bot.city.limits.reports_per_day
    async with api_client(bot) as client:
        partner = Partner(client, await new_key(bot, "wechat"))
        for n in range(limit - 1):
            place = {"lat": str(30.26 + n * 0.004), "long": "120.16"}
            assert (
                await partner.post("requests.json", report_form(email="a@b.cn", **place))
            ).status == 200
        answers: list[Answer] = []

        async def post(latitude: str) -> None:
            answers.append(
                await partner.post("requests.json", report_form(email="a@b.cn", lat=latitude))
            )

        await asyncio.gather(post("30.300"), post("30.305"))
    assert sorted(a.status for a in answers) == [200, 429]
    assert tables.count(bot.db, "cases") == limit
