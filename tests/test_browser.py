"""The sandbox page in headless Chromium: a whole case played by clicking and typing only.

Needs Debian's chromium (`apt-get install chromium`); Playwright drives it, never downloads one.
Screenshots of three moments go to tests/artifacts/ for review.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect, sync_playwright

from bot.city import CityConfig
from sandbox.server import SandboxServer
from tests.support.channel import KEY, REQUEST_ID, StandInAPI, arrival, no_channel
from tests.support.chat import NUMBER
from tests.support.images import jpeg
from tests.support.sandbox import new_sandbox

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).parent / "artifacts"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason=f"{CHROMIUM} is missing: apt-get install chromium"
    ),
]


@pytest.fixture
def page(tmp_path: Path, city: CityConfig) -> Iterator[Page]:
    with SandboxServer(new_sandbox(tmp_path, city), port=0) as server:
        yield from browse(server)


@pytest.fixture
def stand_in(tmp_path: Path, city: CityConfig) -> Iterator[tuple[Page, StandInAPI]]:
    """The page of a sandbox whose other channel is a stand-in for the Open311 API."""
    box = new_sandbox(tmp_path, city)
    api = StandInAPI(box)
    with SandboxServer(box, port=0, channel=api.open) as server:
        for chrome in browse(server):
            yield chrome, api


def browse(server: SandboxServer) -> Iterator[Page]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=ARGS
        )
        try:
            chrome = browser.new_page(viewport={"width": 1280, "height": 900})
            chrome.set_default_timeout(15_000)
            expect.set_options(timeout=15_000)
            chrome.goto(server.url)
            yield chrome
        finally:
            browser.close()


class Chat:
    """One persona's pane of the page, reached through its tab."""

    def __init__(self, page: Page, key: str) -> None:
        self.page, self.key = page, key
        self.pane = page.locator(f'.pane[data-user="{key}"]')

    def open(self) -> Chat:
        self.page.locator(f'nav button[data-user="{self.key}"]').click()
        expect(self.pane).to_be_visible()
        return self

    @property
    def last(self) -> Locator:
        return self.pane.locator(".msg.bot").last

    def bot_says(self, text: str) -> Locator:
        """Wait for the bot's newest message in this chat to contain `text`."""
        expect(self.last).to_contain_text(text)
        return self.last

    def message(self, text: str) -> Locator:
        return self.pane.locator(".msg.bot", has_text=text).last

    def say(self, text: str) -> None:
        box = self.pane.locator("input[name=text]")
        box.fill(text)
        box.press("Enter")

    def press(self, label: str) -> None:
        """Press the newest inline button whose label contains `label` (any case)."""
        self.pane.locator(".keyboard button", has_text=label).last.click()

    def upload(self, path: Path) -> None:
        self.pane.locator("input[name=photo]").set_input_files(path)

    def share_place(self, name: str) -> None:
        self.pane.locator("select[name=place]").select_option(label=name)


def report(citizen: Chat, place: str, description: str, photo: Path | None) -> str:
    """File a Fire safety report anonymously; returns its number."""
    citizen.say("/report")
    citizen.bot_says("Step 1 of 6")
    citizen.press("Fire safety")
    citizen.bot_says("Step 2 of 6")
    citizen.share_place(place)
    citizen.bot_says("Step 3 of 6")
    citizen.say(description)
    citizen.bot_says("Step 4 of 6")
    if photo is None:
        citizen.press("No photo")
        citizen.press("Go on without a photo")
    else:
        citizen.upload(photo)
        citizen.bot_says("Photo 1 of 5 received")
        citizen.press("Done")
    citizen.bot_says("Step 5 of 6")
    citizen.press("Anonymous")
    citizen.bot_says("Step 6 of 6")
    expect(citizen.last).to_contain_text(description)
    citizen.press("Submit")
    filed = citizen.bot_says("Your report is filed as")
    match = NUMBER.search(filed.inner_text())
    assert match, filed.inner_text()
    return match.group(0)


def accept_and_order(officer: Chat, number: str) -> None:
    """Accept as orange, general hazard; order Golden Dragon with the default deadline."""
    expect(officer.message(f"New report {number}")).to_be_visible()
    officer.press("Accept")
    officer.press("orange")
    officer.press("general hazard")
    officer.bot_says("Status: accepted")
    officer.press("Order an enterprise to fix it")
    officer.bot_says("Which enterprise must fix it?")
    officer.say("golden dragon")
    officer.bot_says("Choose the enterprise")
    officer.press("Golden Dragon Restaurant")
    officer.press("⭐")  # the default deadline of the grade
    expect(officer.message(number)).to_contain_text("Status: being rectified")


def test_a_whole_case_in_the_browser(page: Page, tmp_path: Path) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    hazard, fixed = tmp_path / "hazard.jpg", tmp_path / "fixed.jpg"
    hazard.write_bytes(jpeg(seed=3))
    fixed.write_bytes(jpeg(seed=99))
    citizen, officer = Chat(page, "citizen"), Chat(page, "officer")
    enterprise, supervisor = Chat(page, "enterprise"), Chat(page, "supervisor")

    # The citizen reports a locked exit with a photo.
    citizen.open()
    number = report(citizen, "Laocheng District", "The emergency exit is locked.", hazard)
    expect(citizen.pane.locator(".msg.user img")).to_have_count(1)
    page.screenshot(path=ARTIFACTS / "1-report-filed.png")

    # The officer sees the card with the photo, accepts and orders the enterprise.
    officer.open()
    expect(officer.pane.locator(".msg.bot img")).to_have_count(1)
    accept_and_order(officer, number)

    # The order reaches the enterprise, with the photo; the contact submits the fix.
    enterprise.open()
    order = enterprise.bot_says(f"Rectification order (整改通知) for case {number}")
    expect(order).to_contain_text("Deadline: 2026-12-07")
    expect(enterprise.pane.locator(".msg.bot img")).to_have_count(1)
    page.screenshot(path=ARTIFACTS / "2-order-at-enterprise.png")
    enterprise.press("Submit the fix")
    enterprise.bot_says("send photos of the place now it is fixed")
    enterprise.upload(fixed)
    enterprise.bot_says("Photo 1 received")
    enterprise.say("Replaced the lock with a panic bar.")
    enterprise.bot_says(f"The fix of case {number} was sent to the department for checking")

    # The officer verifies and closes it, answering the reward questions if asked.
    officer.open()
    expect(officer.message(f"Fix submitted for case {number}")).to_contain_text(
        "Replaced the lock with a panic bar."
    )
    officer.press("Verified: close the case")
    genuine = officer.pane.locator(".keyboard button", has_text="Genuine: the hazard was real")
    sure = officer.pane.locator(".keyboard button", has_text="Yes, close it")
    closed = officer.pane.locator(".msg.bot", has_text="Status: closed")
    expect(genuine.or_(sure).first).to_be_visible()
    if genuine.count():
        genuine.last.click()
        officer.press("No fine")
    officer.press("Yes, close it")  # asked once more: closing ends the case
    expect(closed.last).to_contain_text(number)

    # The supervisor's /stats counts it as rectified.
    supervisor.open()
    supervisor.say("/stats")
    expect(supervisor.message("rectification rate")).to_contain_text("Found: 1 · rectified: 1")

    # A second case is ordered; the clock moves past its deadline; the contact is reminded.
    citizen.open()
    second = report(citizen, "Dongpo District", "Boxes block the stairs to the roof.", None)
    officer.open()
    accept_and_order(officer, second)
    enterprise.open()
    enterprise.bot_says(f"Rectification order (整改通知) for case {second}")
    reminder = enterprise.pane.locator(".msg.bot", has_text=f"Case {second} is overdue")
    page.locator("[data-advance=deadline]").click()
    expect(page.locator("#toast")).to_contain_text("Clock: 2026-12-08 00:00")
    hour = 0
    while not reminder.count():  # held back by the night's quiet hours, then sent
        hour += 1
        assert hour <= 12, "no reminder by noon after the deadline"
        page.locator("[data-advance=hour]").click()
        expect(page.locator("#toast")).to_contain_text(f"Clock: 2026-12-08 {hour:02d}:00")
    expect(reminder).to_contain_text("its deadline was 2026-12-07")
    # The jump went past the deadline: "today is the deadline" would be stale, so only the
    # overdue notice comes.
    expect(enterprise.pane).not_to_contain_text(f"Today is the deadline of case {second}")
    page.screenshot(path=ARTIFACTS / "3-reminder-at-enterprise.png")
    assert re.search(r"2026-12-08 \d\d:00", page.locator("#now").inner_text())


def test_reply_keyboard_sticker_and_reply_in_the_browser(page: Page) -> None:
    """What the bot asks for with "press the button below" can be given by a button; a sticker
    and a Telegram reply can be sent too."""
    ARTIFACTS.mkdir(exist_ok=True)
    citizen = Chat(page, "citizen").open()
    citizen.say("/report")
    citizen.bot_says("Step 1 of 6")
    citizen.press("Fire safety")
    citizen.bot_says("Press the button below")
    share = citizen.pane.locator(".replykb button", has_text="Send my current location")
    expect(share).to_be_visible()
    page.screenshot(path=ARTIFACTS / "4-reply-keyboard.png")
    share.click()
    citizen.bot_says("Step 3 of 6")
    expect(citizen.pane.locator(".replykb")).to_be_hidden()  # answered: it goes away

    citizen.pane.locator("button[name=sticker]").click()
    expect(citizen.pane.locator(".msg.user", has_text="sticker")).to_be_visible()
    # Telegram's Reply on the bot's question; the answer shows what it replies to.
    question = citizen.message("Describe the hazard")
    question.locator("button.reply").click()
    expect(citizen.pane.locator(".replying")).to_contain_text("Replying to:")
    expect(citizen.pane.locator(".replying")).to_contain_text("Describe the hazard")
    citizen.say("The emergency exit is locked.")
    citizen.bot_says("Step 4 of 6")
    expect(citizen.pane.locator(".replying")).to_be_hidden()
    answer = citizen.pane.locator(".msg.user", has_text="The emergency exit is locked.")
    expect(answer.locator(".quote")).to_contain_text("Describe the hazard")


@pytest.fixture
def page_without_api(tmp_path: Path, city: CityConfig) -> Iterator[Page]:
    box = new_sandbox(tmp_path, city)
    with SandboxServer(box, port=0, channel=no_channel) as server:
        yield from browse(server)


def test_without_an_api_the_panel_says_it_is_not_there(page_without_api: Page) -> None:
    page = page_without_api
    page.locator("#channelTab").click()
    expect(page.locator("#channel")).to_contain_text("The Open311 API is not available")
    expect(page.locator("#channelForm")).to_be_hidden()


def test_a_report_from_another_channel(stand_in: tuple[Page, StandInAPI], tmp_path: Path) -> None:
    """The panel posts as a partner would, with the sandbox's key; the officer is told, and
    the API's answer, or its error list, shows in the panel."""
    page, api = stand_in
    photo = tmp_path / "stairs.jpg"
    photo.write_bytes(jpeg(seed=7))
    Chat(page, "citizen").open()
    page.locator("#channelTab").click()
    panel = page.locator("#channel")
    expect(panel.locator("input[name=api_key]")).to_have_value(KEY)
    panel.locator("select[name=service_code]").select_option(label="Fire safety")
    panel.locator("textarea[name=description]").fill("Gas bottles stored in the stairwell.")
    panel.locator("select[name=place]").select_option(label="Laocheng District")
    panel.locator("input[name=media]").set_input_files(photo)
    panel.get_by_label("Name and phone").check()
    panel.locator("input[name=first_name]").fill("Mei")
    panel.locator("input[name=last_name]").fill("Lin")
    panel.locator("input[name=phone]").fill("13700000000")
    panel.get_by_role("button", name="Post the report").click()
    expect(panel.locator("#channelAnswer")).to_contain_text(REQUEST_ID)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "5-another-channel.png")
    # The partner asks after it as GeoReport's GET does.
    panel.get_by_role("button", name=f"Its status now (GET {REQUEST_ID})").click()
    expect(panel.locator("#channelAnswer")).to_contain_text(
        f"GET /open311/v2/requests/{REQUEST_ID}.json"
    )
    expect(panel.locator("#channelAnswer")).to_contain_text('"status": "open"')

    [posted] = api.posts
    [place] = [p for p in api.sandbox.places() if p["name"] == "Laocheng District"]
    assert posted == {
        "api_key": KEY,
        "service_code": "fire",
        "description": "Gas bottles stored in the stairwell.",
        "lat": str(place["lat"]),
        "long": str(place["lon"]),
        "attribute[identity]": "real_name",  # the API's way to say "Name and phone"
        "first_name": "Mei",
        "last_name": "Lin",
        "phone": "13700000000",
        "media": "<file image/jpeg>",
        "content-type": "multipart/form-data",
    }
    assert api.photos == [jpeg(seed=7)]
    officer = Chat(page, "officer").open()
    officer.bot_says(arrival("Gas bottles stored in the stairwell."))

    # Without a photo the form goes url-encoded; a refused key shows the API's error list.
    page.locator("input[name=api_key]").evaluate("box => { box.value = 'not-a-key'; }")
    panel.locator("textarea[name=description]").fill("Again.")
    panel.locator("input[name=address_string]").fill("8 Market Lane")
    panel.get_by_label("Anonymous").check()
    panel.get_by_role("button", name="Post the report").click()
    expect(panel.locator("#channelAnswer.errors")).to_contain_text(
        "403: api_key is missing or not a partner's key"
    )
    assert api.posts[-1]["content-type"] == "application/x-www-form-urlencoded"
    assert api.posts[-1]["address_string"] == "8 Market Lane"
    assert "first_name" not in api.posts[-1]
