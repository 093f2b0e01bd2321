"""The Open311 channel's outgoing side (#17): media_url fetched through the photo pipeline,
signed webhooks delivered at least once through the outbox, and neither reaching private
addresses unless the deployment allows it."""

from __future__ import annotations

import datetime as dt
import io
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from aiohttp import FormData, web
from aiohttp.test_utils import TestServer
from PIL import Image

from bot import triage
from bot.invites import InviteSpec
from bot.partners import revoke_key
from bot.settings import Settings
from bot.vocabulary.grading import Colour
from bot.vocabulary.lifecycle import Level
from bot.vocabulary.roles import Role
from sandbox.core import offline_settings
from tests.support import tables
from tests.support.cases import LAOCHENG, report
from tests.support.chat import TOKEN, Bot
from tests.support.images import has_metadata, jpeg
from tests.support.open311 import Partner, api_client, new_key, receiver, send_webhooks
from tests.support.people import account, staff

DESCRIPTION = "Gas cylinders are stored in the stairwell of building 4."


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return offline_settings(tmp_path, TOKEN, hooks_allow_private=True)


def form(**extra: str) -> dict[str, str]:
    return {
        "service_code": "fire",
        "lat": str(LAOCHENG[0]),
        "long": str(LAOCHENG[1]),
        "description": DESCRIPTION,
        **extra,
    }


@asynccontextmanager
async def picture_host(picture: bytes) -> AsyncIterator[tuple[str, list[str]]]:
    """A web server on 127.0.0.1 serving ``picture``; yields its address and the paths asked."""
    asked: list[str] = []

    async def serve(request: web.Request) -> web.Response:
        asked.append(request.path)
        if request.path == "/moved.jpg":
            raise web.HTTPFound("/hazard.jpg")
        if request.path == "/missing.jpg":
            raise web.HTTPNotFound()
        return web.Response(body=picture, content_type="image/jpeg")

    app = web.Application()
    app.router.add_get("/{name}", serve)
    async with TestServer(app) as server:
        yield str(server.make_url("/")), asked


async def test_media_url_goes_through_the_photo_pipeline(bot: Bot) -> None:
    original = jpeg(seed=5, gps=True)
    assert has_metadata(original)
    async with picture_host(original) as (host, asked), api_client(bot) as client:
        partner = Partner(client, await new_key(bot, "web"))
        posted = await partner.post("requests.json?locale=en", form(media_url=host + "moved.jpg"))
        assert posted.status == 200, posted.text
        assert asked == ["/moved.jpg", "/hazard.jpg"]  # a redirect is followed
        [request] = (
            await partner.get(f"requests/{posted.json()[0]['service_request_id']}.json")
        ).json()
        stored = await partner.fetch(request["media_url"])
        assert stored.startswith(b"\xff\xd8")
        assert not has_metadata(stored)  # EXIF (GPS) stripped
        assert stored != original

        # A request refused for its own fields fetches nothing.
        asked.clear()
        short = await partner.post(
            "requests.json?locale=en", form(media_url=host + "x.jpg", description="x")
        )
        assert short.status == 400
        assert asked == []

        missing = await partner.post(
            "requests.json?locale=en", form(media_url=host + "missing.jpg")
        )
        assert missing.status == 400
        assert "HTTP 404" in missing.text

        # A photo that is not the partner's own, or not a report's, is not served.
        url = request["media_url"]
        other = url[: -len("0.jpg")] + ("1" if url[-5] != "1" else "2") + ".jpg"
        async with client.session.get(other) as answer:
            assert answer.status == 404

        # Without the tests' permission, this machine's addresses are not reached at all.
        bot.services.settings = bot.settings.model_copy(update={"hooks_allow_private": False})
        asked.clear()
        for url in (host + "hazard.jpg", "http://localhost:1/x.jpg", "http://10.0.0.1/x.jpg"):
            refused = await partner.post("requests.json?locale=en", form(media_url=url))
            assert refused.status == 400
            assert "not on a public address" in refused.text, refused.text
        assert asked == []
    assert tables.count(bot.db, "cases") == 1


async def test_a_large_photo_can_be_uploaded(bot: Bot) -> None:
    """Bigger than aiohttp's default request limit (1 MiB), as a phone's photo is."""
    noise = Image.frombytes("RGB", (1200, 900), random.Random(3).randbytes(1200 * 900 * 3))
    out = io.BytesIO()
    noise.save(out, "PNG")
    assert len(out.getvalue()) > 2 * 1024 * 1024
    async with api_client(bot) as client:
        key = await new_key(bot, "web")
        partner = Partner(client, key)
        data = multipart({"api_key": key, **form()}, out.getvalue())
        posted = await partner.post("requests.json", data)
        assert posted.status == 200, posted.text
    assert tables.count(bot.db, "case_photos") == 1


async def test_webhooks_are_retried_until_taken_and_go_to_public_addresses_only(
    bot: Bot,
) -> None:
    async with receiver() as hook, api_client(bot) as client:
        key = await new_key(bot, "bridge", hook.url)
        hook.key = key
        partner = Partner(client, key)
        number = (await partner.post("requests.json", form())).json()[0]["service_request_id"]

        # Not to this machine unless allowed: the row waits, nothing was received.
        assert await send_webhooks(bot, allow_private=False) == 1
        assert hook.received == []
        error = tables.value(bot.db, "SELECT last_error FROM outbox WHERE webhook_key IS NOT NULL")
        assert "non-public" in error

        # The partner's server fails: retried after a growing pause, then taken once; the
        # partner's next event waits behind it, so they arrive in the order they happened.
        second = (await partner.post("requests.json", form(lat="30.29"))).json()
        hook.answer_status = 500
        bot.clock.advance(dt.timedelta(seconds=2))
        assert await send_webhooks(bot) == 1
        assert len(hook.received) == 1
        assert await send_webhooks(bot) == 0  # not before its pause (4 s after 2 failures)
        bot.clock.advance(dt.timedelta(seconds=3))
        assert await send_webhooks(bot) == 0
        hook.answer_status = 200
        bot.clock.advance(dt.timedelta(seconds=1))
        assert await send_webhooks(bot) == 2
        assert await send_webhooks(bot) == 0
        events = hook.events()  # every delivery signed
        assert [e["service_request_id"] for e in events] == [
            number,
            number,  # the same event again: at least once
            second[0]["service_request_id"],
        ]
        assert events[0]["id"] == events[1]["id"] != events[2]["id"]
        assert events[0]["event"] == "created"

        # A forged signature is told apart.
        header, body = hook.received[-1]
        hook.received.append((header, body.replace(b"open", b"shut")))
        with pytest.raises(AssertionError, match="bad signature"):
            hook.events()

        # A revoked partner's waiting events are dropped, not sent.
        hook.received.clear()
        await partner.post("requests.json", form(lat="30.27"))
        await revoke_key(bot.db, "bridge", bot.clock.now())
        assert await send_webhooks(bot) == 1
        assert hook.received == []
        assert tables.value(bot.db, "SELECT status FROM outbox ORDER BY id DESC LIMIT 1") == (
            "dropped"
        )


async def test_whom_webhooks_tell_and_a_same_photo_joins_the_case(bot: Bot) -> None:
    async with (
        receiver() as own_hook,
        receiver() as all_hook,
        receiver() as other_hook,
        api_client(bot) as client,
    ):
        own = Partner(client, await new_key(bot, "own", own_hook.url))
        own_hook.key = own.key or ""
        everything = await new_key(bot, "city", all_hook.url, all_cases=True)
        all_hook.key = everything
        other = Partner(client, await new_key(bot, "other", other_hook.url))
        other_hook.key = other.key or ""

        chat_number = await report(bot.user(language="en"), photo_seed=40)
        photo = jpeg(seed=7)
        posted = await own.post("requests.json", form(lat="30.28123", long="120.19456"))
        own_number = posted.json()[0]["service_request_id"]
        assert await send_webhooks(bot) == 3  # own's to own and city; the chat's to city
        assert [e["service_request_id"] for e in own_hook.events()] == [own_number]
        assert sorted(e["service_request_id"] for e in all_hook.events()) == sorted(
            [chat_number, own_number]
        )
        assert other_hook.received == []

        # The same photo as an open case: the report joins it instead of making a second case,
        # and its partner hears of that case from then on.
        data = {"api_key": other.key or "", **form(lat="30.29")}
        first = await own.post("requests.json", multipart(data | {"api_key": own.key or ""}, photo))
        first_number = first.json()[0]["service_request_id"]
        again = await other.post("requests.json?locale=en", multipart(data, photo))
        [joined] = again.json()
        assert joined["service_request_id"] == first_number
        assert "joined that case" in joined["service_notice"]
        cases = tables.count(bot.db, "cases")
        assert cases == 3
        # The partner sent no description of its own for that case: it sees none.
        [seen] = (await other.get(f"requests/{first_number}.json")).json()
        assert seen["description"] is None
        assert seen["media_url"] is None
        # Nor the chat reporter's traces: their words, their minute, their exact point.
        [chat_case] = (await other.get(f"requests/{chat_number}.json", locale="en")).json()
        assert chat_case["description"] is None
        assert chat_case["address"] == "Laocheng District"
        assert chat_case["requested_datetime"] == "2026-11-22T00:00:00+08:00"
        [mine] = (await own.get(f"requests/{own_number}.json")).json()
        [theirs] = (await other.get(f"requests/{own_number}.json")).json()
        assert mine["requested_datetime"] == "2026-11-22T10:00:00+08:00"
        assert (mine["lat"], mine["long"]) == (30.28123, 120.19456)
        assert (theirs["lat"], theirs["long"]) == (30.281, 120.195)

        # The partner whose report joined the case hears of its changes.
        officer = await staff(bot, InviteSpec(Role.OFFICER, "fire"))
        case = await bot.db.read.cases.by_number(first_number)
        assert case is not None
        actor = await account(bot, officer)
        await triage.accept(
            bot.services, actor, case.id, case.version, Colour.YELLOW, Level.GENERAL
        )
        other_hook.received.clear()
        await send_webhooks(bot)
        [accepted] = other_hook.events()
        assert (accepted["service_request_id"], accepted["extended_status"]) == (
            first_number,
            "investigating",
        )


def multipart(fields: dict[str, str], photo: bytes) -> FormData:
    data = FormData()
    for name, value in fields.items():
        data.add_field(name, value)
    data.add_field("media", io.BytesIO(photo), filename="p.jpg", content_type="image/jpeg")
    return data


async def test_the_database_holds_no_key_and_webhooks_are_signed_with_it_all_the_same(
    bot: Bot,
) -> None:
    """Keys are hashed at rest: neither the key nor anything that signs with it is in the
    database (a stolen copy files and signs nothing); the bot derives the key from the server's
    secret, kept apart in the data folder, to sign the partner's webhooks."""
    async with receiver() as hook, api_client(bot) as client:
        key = await new_key(bot, "bridge", hook.url)
        hook.key = key
        await Partner(client, key).post("requests.json", form())
        stored = [tuple(r) for r in tables.rows(bot.db, "SELECT * FROM api_keys")]
        assert stored
        assert not any(key in str(value) for row in stored for value in row)
        secret = Path(bot.settings.data_dir) / "partner-keys.secret"
        assert secret.stat().st_mode & 0o077 == 0  # the bot's user's alone
        assert await send_webhooks(bot) == 1
        assert [e["event"] for e in hook.events()] == ["created"]  # signed with the key

        # Another secret (a database copied to another server): the signature no longer holds.
        secret.write_bytes(b"another server's secret, 32 bytes")
        hook.received.clear()
        await Partner(client, key).post("requests.json", form(lat="30.29"))
        assert await send_webhooks(bot) == 1
        with pytest.raises(AssertionError, match="bad signature"):
            hook.events()
