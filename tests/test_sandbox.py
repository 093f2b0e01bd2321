"""The sandbox through its HTTP JSON API: a citizen reports, the officer receives the case."""

from __future__ import annotations

import base64
import io
import json
import random
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from aiohttp import FormData, test_utils, web
from PIL import Image

from bot.city import CityConfig
from sandbox.channel import open_channel
from sandbox.core import Sandbox
from sandbox.server import SandboxServer, sandbox_app
from tests.support.channel import KEY, REQUEST_ID, StandInAPI, arrival
from tests.support.chat import NUMBER
from tests.support.images import jpeg
from tests.support.sandbox import new_sandbox


class Client:
    def __init__(self, base: str) -> None:
        self.base = base.rstrip("/")

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(self.base + path, timeout=30) as response:
            body = response.read()
            if response.headers.get_content_type() == "application/json":
                return json.loads(body)
            return body

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        request = urllib.request.Request(
            self.base + path,
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                result: dict[str, Any] = json.loads(response.read())
        except urllib.error.HTTPError as exc:
            with exc:
                raise AssertionError(f"{path}: {exc.code} {exc.read().decode()}") from exc
        assert result.get("ok"), result
        return result

    def transcript(self, user: str) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = self.get(f"/api/transcript?user={user}")["messages"]
        return messages

    def last_bot(self, user: str) -> dict[str, Any]:
        return next(m for m in reversed(self.transcript(user)) if m["from"] == "bot")

    def press(self, user: str, label: str) -> dict[str, Any]:
        """Press the newest button whose label contains `label`."""
        for message in reversed(self.transcript(user)):
            for row in message.get("buttons", []):
                for button in row:
                    if label in button["text"] and button["data"]:
                        return self.post(
                            "/api/press",
                            {"user": user, "message_id": message["id"], "data": button["data"]},
                        )
        raise AssertionError(f"no button {label!r} for {user}")


@pytest.fixture
def sandbox(tmp_path: Path, city: CityConfig) -> Iterator[Client]:
    box = new_sandbox(tmp_path, city)
    with SandboxServer(box, port=0) as server:
        assert server.host == "127.0.0.1"
        yield Client(server.url)


def test_the_page_and_the_users(sandbox: Client) -> None:
    page = sandbox.get("/")
    assert b"Shaozi sandbox" in page
    data = sandbox.get("/api/users")
    roles = {u["key"]: u["role"] for u in data["users"]}
    assert roles == {
        "citizen": "citizen",
        "officer": "officer",
        "enterprise": "enterprise",
        "supervisor": "supervisor",
        "admin": "admin",
    }
    assert len(data["places"]) >= 3
    assert data["local"].startswith("2026-11-22 10:00")
    for key in ("officer", "enterprise", "supervisor", "admin"):
        assert "You are now" in sandbox.last_bot(key)["html"]


def test_a_citizen_reports_and_the_officer_gets_the_case(sandbox: Client) -> None:
    place = sandbox.get("/api/users")["places"][0]
    sandbox.post("/api/send", {"user": "citizen", "text": "/report"})
    sandbox.press("citizen", "Fire safety")
    sandbox.post("/api/location", {"user": "citizen", "lat": place["lat"], "lon": place["lon"]})
    sandbox.post("/api/send", {"user": "citizen", "text": "The emergency exit is locked."})
    photo = base64.b64encode(jpeg(seed=3)).decode()
    sent = sandbox.post(
        "/api/photo", {"user": "citizen", "data": f"data:image/jpeg;base64,{photo}"}
    )
    assert sandbox.get(f"/api/photo?user=1001&message={sent['message_id']}")[:2] == b"\xff\xd8"
    sandbox.press("citizen", "Done")
    sandbox.press("citizen", "Real name")
    sandbox.post("/api/send", {"user": "citizen", "text": "Chen Jing"})
    sandbox.post("/api/contact", {"user": "citizen"})
    rows = sandbox.last_bot("citizen").get("buttons", [])
    if any("Mine is different" in b["text"] for row in rows for b in row):
        sandbox.press("citizen", "Mine is different")
    sandbox.press("citizen", "Submit")
    match = NUMBER.search(sandbox.last_bot("citizen")["html"])
    assert match, sandbox.last_bot("citizen")
    number = match.group(0)

    officer = sandbox.transcript("officer")
    card = officer[-1]
    assert f"New report {number}" in card["html"]
    assert any("Accept" in b["text"] for row in card["buttons"] for b in row)
    # One message: the photo, the card as its caption, the place a link to the map.
    assert sandbox.get(card["photo"])[:2] == b"\xff\xd8"
    assert 'href="https://uri.amap.com/marker?position=' in card["html"]
    count = next(u for u in sandbox.get("/api/users")["users"] if u["key"] == "officer")["count"]
    assert count == len([m for m in officer if m["from"] == "bot"])

    before = len(sandbox.transcript("officer"))
    moved = sandbox.post("/api/clock", {"advance": "day"})
    assert moved["local"].startswith("2026-11-23 10:00")
    later = sandbox.transcript("officer")[before:]
    assert any(number in m["html"] for m in later), later  # not accepted in time: a reminder


def test_bad_requests_are_answered_not_fatal(sandbox: Client) -> None:
    request = urllib.request.Request(
        sandbox.base + "/api/send",
        data=json.dumps({"user": "nobody", "text": "hi"}).encode(),
        method="POST",
    )
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=30)
    with caught.value:
        assert caught.value.code == 400
    assert sandbox.get("/api/users")["users"]


def test_every_kind_of_answer_can_be_tried(sandbox: Client) -> None:
    """The page offers what a Telegram user can send: the reply keyboard's buttons (a place,
    the phone number), a sticker, a voice note, a file, and a reply to one of the bot's
    messages; each reaches the bot and shows in the chat."""
    place = sandbox.get("/api/users")["places"][0]
    sandbox.post("/api/send", {"user": "citizen", "text": "/report"})
    sandbox.press("citizen", "Fire safety")
    # "Press the button below": the keyboard with the button that shares where one is.
    keyboard = sandbox.get("/api/transcript?user=citizen")["keyboard"]
    [[button]] = keyboard["rows"]
    assert "Send my current location" in button["text"]
    assert (button["location"], button["contact"]) == (True, False)
    sandbox.post("/api/location", {"user": "citizen", "lat": place["lat"], "lon": place["lon"]})
    assert "Step 3 of 6" in sandbox.last_bot("citizen")["html"]
    assert sandbox.get("/api/transcript?user=citizen")["keyboard"] is None  # answered

    # A sticker where a description is asked: answered, and shown as a sticker.
    before = len(sandbox.transcript("citizen"))
    sandbox.post("/api/sticker", {"user": "citizen"})
    after = sandbox.transcript("citizen")[before:]
    assert after[0]["from"] == "user"
    assert after[0]["sticker"] == "👍"
    assert any(m["from"] == "bot" and m["html"] for m in after[1:]), after
    sandbox.post("/api/send", {"user": "citizen", "text": "The emergency exit is locked."})

    # A voice note and a file that is no image, where photos are asked: both answered.
    for path, body in (
        ("/api/voice", {"seconds": 3}),
        ("/api/file", {"data": _b64(b"%PDF-1.4 not a photo"), "name": "notes.pdf"}),
    ):
        before = len(sandbox.transcript("citizen"))
        sandbox.post(path, {"user": "citizen", **body})
        after = sandbox.transcript("citizen")[before:]
        assert any(m["from"] == "bot" for m in after[1:]), after
    mine = [m for m in sandbox.transcript("citizen") if m["from"] == "user"]
    assert mine[-2]["voice"] == 3
    assert mine[-1]["document"]["name"] == "notes.pdf"
    assert sandbox.get(mine[-1]["document"]["url"]) == b"%PDF-1.4 not a photo"
    # An image sent as a file is a photo of the hazard, uncompressed.
    sandbox.post(
        "/api/file",
        {"user": "citizen", "data": _b64(jpeg(seed=5)), "name": "exit.jpg", "mime": "image/jpeg"},
    )
    assert "Photo 1 of 5 received" in sandbox.last_bot("citizen")["html"]
    sandbox.press("citizen", "Done")
    sandbox.press("citizen", "Real name")
    sandbox.post("/api/send", {"user": "citizen", "text": "Chen Jing"})
    [[button]] = sandbox.get("/api/transcript?user=citizen")["keyboard"]["rows"]
    assert (button["location"], button["contact"]) == (False, True)
    sandbox.post("/api/contact", {"user": "citizen"})
    rows = sandbox.last_bot("citizen").get("buttons", [])
    if any("Mine is different" in b["text"] for row in rows for b in row):
        sandbox.press("citizen", "Mine is different")
    sandbox.press("citizen", "Submit")
    match = NUMBER.search(sandbox.last_bot("citizen")["html"])
    assert match
    number = match.group(0)

    # Telegram's Reply on the department's question answers it.
    sandbox.press("officer", "Ask the reporter")
    sandbox.post("/api/send", {"user": "officer", "text": "Which floor is the exit on?"})
    question = sandbox.last_bot("citizen")
    assert "Which floor is the exit on?" in question["html"]
    sandbox.post(
        "/api/reply",
        {"user": "citizen", "message_id": question["id"], "text": "The second floor."},
    )
    assert f"Your answer about {number} was passed on" in sandbox.last_bot("citizen")["html"]
    reply = [m for m in sandbox.transcript("citizen") if m["from"] == "user"][-1]
    assert reply["reply_to"]["id"] == question["id"]
    assert "Which floor is the exit on?" in reply["reply_to"]["text"]
    assert "The second floor." in sandbox.last_bot("officer")["html"]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


# --- the web application itself, through aiohttp's test client on the test's loop ------------


@pytest.fixture
async def box(tmp_path: Path, city: CityConfig) -> AsyncIterator[Sandbox]:
    sandbox = new_sandbox(tmp_path, city)
    await sandbox.start()
    try:
        yield sandbox
    finally:
        await sandbox.stop()


@asynccontextmanager
async def web_client(app: web.Application) -> AsyncIterator[test_utils.TestClient[Any, Any]]:
    async with test_utils.TestClient(test_utils.TestServer(app)) as client:
        yield client


async def test_the_server_serves_the_page_and_its_endpoints(box: Sandbox) -> None:
    async with web_client(sandbox_app(box)) as client:
        page = await client.get("/")
        assert page.status == 200
        assert page.content_type == "text/html"
        assert "Shaozi sandbox" in await page.text()
        assert "Another channel" in await page.text()
        assert page.headers["Cache-Control"] == "no-store"

        users = await client.get("/api/users")
        assert users.content_type == "application/json"
        assert {u["key"] for u in (await users.json())["users"]} == set(box.personas)

        sent = await client.post("/api/send", json={"user": "citizen", "text": "/report"})
        assert (await sent.json())["ok"] is True
        transcript = await (await client.get("/api/transcript", params={"user": "citizen"})).json()
        assert transcript["messages"][0]["html"] == "/report"
        assert "Step 1 of 6" in transcript["messages"][-1]["html"]

        missing = await client.get("/api/photo", params={"user": "1001", "message": "999"})
        assert (missing.status, (await missing.json())["ok"]) == (404, False)
        unknown = await client.post("/api/fly", json={"user": "citizen"})
        assert unknown.status == 404
        assert (await unknown.json())["ok"] is False
        broken = await client.post("/api/send", data=b"[1, 2]")
        assert broken.status == 400
        assert "JSON object" in (await broken.json())["error"]
        # The page's chat still answers after the failures.
        assert (await client.get("/api/users")).status == 200


async def test_without_an_api_the_panel_says_it_is_not_there(box: Sandbox) -> None:
    async with web_client(sandbox_app(box)) as client:
        state = await (await client.get("/api/channel")).json()
        assert state == {"available": False}
        posted = await client.post("/open311/v2/requests.json", data={"api_key": "x"})
        assert posted.status == 404


async def test_a_report_posted_as_the_page_does_reaches_the_mounted_api(box: Sandbox) -> None:
    stand_in = StandInAPI(box)
    async with web_client(sandbox_app(box, stand_in.channel())) as client:
        state = await (await client.get("/api/channel")).json()
        assert state["available"] is True
        assert state["key"] == KEY
        assert state["endpoint"] == "/open311/v2/requests.json"
        assert state["base"] == "/open311/v2/"
        codes = {s["service_code"]: s["service_name"] for s in state["services"]}
        assert codes == {c.code: c.name.en for c in box.city.categories}

        place = box.places()[0]
        fields = {
            "api_key": state["key"],
            "service_code": state["services"][0]["service_code"],
            "description": "Gas bottles stored in the stairwell.",
            "lat": str(place["lat"]),
            "long": str(place["lon"]),
        }
        before = len(box.transcript("officer"))
        answer = await client.post(state["endpoint"], data=fields)
        assert answer.status == 200
        assert await answer.json() == [{"service_request_id": REQUEST_ID, "service_notice": ""}]
        [got] = stand_in.posts
        assert got == {**fields, "content-type": "application/x-www-form-urlencoded"}
        # Posted, then sent at once as after a chat message: the officer has it.
        arrived = box.transcript("officer")[before:]
        assert [m["html"] for m in arrived] == [arrival("Gas bottles stored in the stairwell.")]

        # A photo goes multipart; a wrong key is the API's error list, passed on untouched.
        form = FormData({**fields, "api_key": "wrong"})
        form.add_field("media", jpeg(seed=4), filename="p.jpg", content_type="image/jpeg")
        refused = await client.post(state["endpoint"], data=form)
        assert refused.status == 403
        assert (await refused.json())[0]["code"] == 403
        assert stand_in.posts[-1]["content-type"] == "multipart/form-data"
        assert stand_in.photos == [jpeg(seed=4)]


def _big_photo() -> bytes:
    """A phone's photo: bigger than aiohttp's default request limit (1 MiB)."""
    noise = Image.frombytes("RGB", (1200, 900), random.Random(3).randbytes(1200 * 900 * 3))
    out = io.BytesIO()
    noise.save(out, "PNG")
    assert len(out.getvalue()) > 2 * 1024 * 1024
    return out.getvalue()


async def test_another_channel_posts_through_the_real_api(box: Sandbox) -> None:
    async with web_client(sandbox_app(box, await open_channel(box))) as client:
        state = await (await client.get("/api/channel")).json()
        assert state["partner"] == "sandbox"
        # The panel's categories are the API's services.
        services = await (await client.get("/open311/v2/services.json")).json()
        assert [s["service_code"] for s in state["services"]] == [
            s["service_code"] for s in services
        ]

        # Posted as the page does it: a real-name reporter, a photo (multipart, "media").
        place = box.places()[0]
        form = FormData(
            {
                "api_key": state["key"],
                "service_code": state["services"][0]["service_code"],
                "description": "Gas bottles stored in the stairwell.",
                "lat": str(place["lat"]),
                "long": str(place["lon"]),
                "attribute[identity]": "real_name",
                "first_name": "Jing",
                "last_name": "Chen",
                "phone": "13912345678",
            }
        )
        form.add_field(
            "media", io.BytesIO(_big_photo()), filename="exit.png", content_type="image/png"
        )
        before = len(box.transcript("officer"))
        answer = await client.post(state["endpoint"], data=form)
        assert answer.status == 200, await answer.text()
        [item] = await answer.json()
        number = item["service_request_id"]

        # Sent at once, as after a chat message: the officer has the case's card, with its photo
        # and no name on it.
        [card] = box.transcript("officer")[before:]
        assert f"New report {number}" in card["html"]
        assert "Received through sandbox, not in chat" in card["html"]
        assert "Chen" not in card["html"]
        assert card["photo"]
        assert any("Accept" in b["text"] for row in card["buttons"] for b in row)
        # Its status, asked as the panel does.
        status = await client.get(f"{state['base']}requests/{number}.json?api_key={state['key']}")
        assert (await status.json())[0]["status"] == "open"

    # A sandbox started again on its kept database: a new key, the old one refused.
    async with web_client(sandbox_app(box, await open_channel(box))) as client:
        again = await (await client.get("/api/channel")).json()
        assert again["key"] != state["key"]
        for key, code in ((state["key"], 403), (again["key"], 200)):
            asked = await client.get(f"{again['base']}requests/{number}.json?api_key={key}")
            assert asked.status == code
