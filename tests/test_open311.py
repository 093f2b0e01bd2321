"""The Open311 GeoReport v2 API (#17), driven over HTTP against the running bot: a partner's
report reaches the officers, is handled in chat, and the partner sees it closed by GET and by a
signed webhook; every error answer; nothing of a reporter in any answer."""

from __future__ import annotations

from pathlib import Path

import pytest
from aiohttp import FormData

from bot.invites import InviteSpec
from bot.settings import Settings
from bot.vocabulary.roles import Role
from sandbox.core import offline_settings
from tests.support import tables
from tests.support.cases import LAOCHENG, enterprise_named
from tests.support.chat import NUMBER, TOKEN, Bot, since
from tests.support.images import has_metadata, jpeg
from tests.support.open311 import Partner, api_client, new_key, receiver, send_webhooks
from tests.support.people import staff

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
        assert "Reporter: Jing Chen, 13912345678" in card.plain  # real name: officers see it
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
        await officer.press("Genuine", message=fix_card)
        await officer.press("No fine", message=fix_card)
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
