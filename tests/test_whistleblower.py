"""A worker reports their own employer at night: the employer, and a neighbour who reported the
same hazard, never learn anything of the reporter (#20, #16 items 1 to 3).

The whole story runs with the enterprise's contact and the follower speaking each language;
then everything they were sent (texts, captions, edits, buttons, alerts, documents, photos) is
searched for the reporter's traces.
"""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest

from bot.i18n import Language, Translator
from bot.invites import InviteSpec
from bot.visibility import ORDER, REPORT
from bot.vocabulary.roles import Role
from fakebotapi import FakeUser, SentMessage
from tests.support import tables
from tests.support.cases import LAOCHENG, enterprise_named, report
from tests.support.chat import NUMBER, Bot, map_points, press_for, since, texts
from tests.support.confidentiality import check_confidentiality, received
from tests.support.images import jpeg
from tests.support.moments import at
from tests.support.people import staff

WORDS = (
    "I work the night shift in workshop 3 of the Golden Dragon kitchen; the fire exit by our "
    "line is chained shut every night after 22:00."
)
QUESTION = "Which door is chained, and on which floor?"
ANSWER = "Door B on the second floor, right next to my workbench."
NOT_FIXED = "Still chained tonight, I checked it at the end of my shift."
# Fragments that would name the reporter even if the whole were not copied.
FRAGMENTS = ("workshop 3", "night shift", "Door B", "my workbench", "end of my shift")
REPORTED_AT = "2026-12-06 22:10"
REOPENED_AT = "23:41"
# The traces as a card or a history names them: never to the enterprise or the follower.
TRACES = (
    "Reported: {value}",
    "The department asked the reporter a question",
    "The reporter answered",
    "Another person reported the same hazard",
    "Reporter says it is not fixed",
    "⚠️ The reporter says the hazard is not fixed.",
    "Description: {value}",
)
LANGUAGES = {"zh-hans": Language.ZH_HANS, "zh-hant": Language.ZH_HANT, "en": Language.EN}


def translator(bot: Bot, language: str) -> Translator:
    return bot.services.catalogs.translator(LANGUAGES[language])


def labels(message: SentMessage) -> list[str]:
    return [label for row in message.buttons for label, _ in row]


def every_language(bot: Bot, msgid: str) -> list[str]:
    return [bot.services.catalogs.translator(lang).gettext(msgid) for lang in Language]


async def follow_as(user: FakeUser, number: str) -> None:
    """Report the same hazard 40 m away, in the user's own language, and follow the case."""
    await user.send("/report")
    await press_for(user, "rep", "cat", "fire")
    await user.send_location(LAOCHENG[0] + 0.0003, LAOCHENG[1] + 0.0002)
    await user.send("The back exit of the restaurant is chained, I saw it from the street.")
    await user.send_photo(jpeg(seed=404))
    await press_for(user, "rep", "done")
    await press_for(user, "rep", "anon")
    assert number in user.last.plain  # offered to follow the case already open
    await user.press(number)


@pytest.mark.parametrize("language", ["zh-hans", "zh-hant", "en"])
async def test_the_employer_and_a_follower_never_learn_who_reported(
    bot: Bot, language: str
) -> None:
    tr = translator(bot, language)
    enterprise_id = await enterprise_named(bot, "Golden Dragon Restaurant", "91330100MA27XL0T4C")
    officer = await staff(bot, InviteSpec(Role.OFFICER, "fire"))
    supervisor = await staff(bot, InviteSpec(Role.SUPERVISOR))
    contact = await staff(
        bot, InviteSpec(Role.ENTERPRISE, enterprise_id=enterprise_id), language=language
    )
    follower = bot.user(language=language)
    reporter = bot.user(language="en", first_name="Jing", username="chenjing88")

    # 22:10: a worker of the night shift reports their own workplace, with two photos.
    bot.clock.set(at(dt.date(2026, 12, 6), 22, 10))
    number = await report(reporter, description=WORDS, photos=2, photo_seed=301)
    await bot.drain()
    card = officer.last
    assert f"New report {number}" in card.plain
    assert f"Reported: {REPORTED_AT}" in card.plain  # officers keep seeing it

    # Next morning: a question and its answer.
    bot.clock.set(at(dt.date(2026, 12, 7), 9, 5))
    await officer.press("Ask the reporter", message=card)
    await officer.send(QUESTION)
    await bot.drain()
    await reporter.press("Answer")
    await reporter.send(ANSWER)
    await bot.drain()
    assert ANSWER in officer.last.plain

    # 09:20: someone else reports the same hazard and follows the case.
    bot.clock.set(at(dt.date(2026, 12, 7), 9, 20))
    await follow_as(follower, number)
    followed = len(follower.transcript)  # what came before was their own report

    # 09:30: accepted and ordered in the department's words, one of the two photos left out.
    bot.clock.set(at(dt.date(2026, 12, 7), 9, 30))
    await officer.press("Accept", message=card)
    await officer.press("orange", message=card)
    await officer.press("general hazard", message=card)
    await officer.press("Order an enterprise to fix it", message=card)
    await officer.send("golden dragon")
    draft = officer.last
    await officer.press("Golden Dragon Restaurant", message=draft)
    # The officer reads the reporter's words beside the wording the enterprise will read.
    assert "The reporter's description, for you only:" in draft.plain
    assert WORDS in draft.plain
    assert "Photos with the order: 2 of 2" in draft.plain
    await officer.press("Fire equipment missing", message=draft)
    await officer.press("Blocked or locked exits", message=draft)
    await officer.press("✅ Photo 2", message=draft)
    assert "Photos with the order: 1 of 2" in draft.plain
    assert draft.has_button("⬜ Photo 2")
    await officer.press("15 days", message=draft)
    assert "Status: being rectified" in draft.plain
    assert "Order: The escape routes or emergency exits" in draft.plain
    await bot.drain()
    template = bot.city.category("fire")
    assert template is not None
    wording = template.order_templates[0].text.get(tr.language)
    order = contact.last
    assert wording in order.plain
    assert tr.gettext("Ordered: {value}").format(value="2026-12-07") in order.plain
    # Only the photo the officer chose went with the order.
    case = await bot.db.read.cases.by_number(number)
    assert case is not None
    report_photos = await bot.db.read.cases.photo_hashes(case.id, REPORT)
    assert await bot.db.read.cases.photo_hashes(case.id, ORDER) == report_photos[:1]
    sent = [hashlib.sha256(m.photo).hexdigest() for m in contact.transcript if m.photo]
    assert sent == report_photos[:1]

    # The contact opens /tasks, /case and the order's photos.
    await contact.send("/tasks")
    await contact.send(f"/case {number}")
    history = contact.last.plain
    assert tr.gettext("Rectification ordered") in history
    assert wording in history
    await press_for(contact, "cs", "pho", message=contact.last)
    photos = [hashlib.sha256(m.photo).hexdigest() for m in contact.transcript if m.photo]
    assert set(photos) == set(report_photos[:1])

    # A fix, returned; a fix again, closed.
    bot.clock.set(at(dt.date(2026, 12, 8), 10, 0))
    await press_for(contact, "cs", "fix", message=order)
    await contact.send_photo(jpeg(seed=350))
    await contact.send("The chain was removed and a panic bar fitted.")
    await bot.drain()
    await officer.press("Not fixed: return it", message=officer.last)
    await officer.send("The photo does not show the exit door.")
    await officer.press("15 days")
    await bot.drain()
    returned = contact.last
    assert "The photo does not show the exit door." in returned.plain
    bot.clock.set(at(dt.date(2026, 12, 9), 10, 0))
    await press_for(contact, "cs", "fix", message=returned)
    await contact.send_photo(jpeg(seed=351))
    await contact.send("Panic bar fitted on door B; photo of the whole exit.")
    await bot.drain()
    fixed = officer.last
    await officer.press("Verified: close the case", message=fixed)
    await officer.press("Genuine", message=fixed)
    await officer.press("No fine", message=fixed)
    await officer.press("Yes, close it", message=fixed)
    await bot.drain()

    # 23:41: the reporter says it is not fixed, with their words and a photo.
    bot.clock.set(at(dt.date(2026, 12, 9), 23, 41))
    closing = next(m for m in reversed(reporter.transcript) if m.has_button("not fixed"))
    await reporter.press("No, it is not fixed", message=closing)
    await reporter.send_photo(jpeg(seed=360))
    assert "is back with the department" in reporter.last.plain
    await bot.drain()
    bot.clock.set(at(dt.date(2026, 12, 10), 9, 0))
    await bot.drain()

    # The contact reads the reopening as the department's, dated by the day only.
    await contact.send(f"/case {number}")
    history = contact.last.plain
    assert f"2026-12-09 · {tr.gettext('The department reopened the case')}" in history
    await contact.send("/tasks")
    # The order's old button answers with an alert (scanned below like everything else).
    await press_for(contact, "cs", "fix", message=order)
    assert contact.callback_answers[-1]["show_alert"]
    assert contact.callback_answers[-1]["text"]

    # The follower reads the case, not its reporter.
    await follower.send("/my")
    await press_for(follower, "trk", "case", str(case.id), message=follower.last)
    status = follower.last.plain
    assert tr.gettext("You reported the same hazard and follow this case") in status
    assert tr.gettext("District: {value}").format(value="") in status
    assert not map_points(follower.last)
    await follower.send(f"/status {number}")
    assert follower.last.plain == status

    # The supervisor reads that the reporter answered, and when, not the answer.
    await supervisor.send(f"/case {number}")
    assert "2026-12-07 09:05 · The reporter answered" in supervisor.last.plain
    assert ANSWER not in supervisor.last.plain
    assert "Door B" not in supervisor.last.plain

    # Everything the enterprise's contact and the follower were sent.
    for user in (contact, follower):
        seen = received(bot, user.user_id)
        everything = seen.everything()
        assert len(seen.versions) > 5
        if user is follower:
            # Words like "reporter" and "reward" are in the follower's own report flow.
            after = since(follower, followed)
            words = "\n".join(
                t for m in after for v in [*m.edits, m] for t in (v.plain, *labels(v))
            )
        else:
            words = everything
        for word in ("reward", "奖励", "獎勵", "举报人", "檢舉人", "reporter"):
            assert word not in words.lower(), word
        for secret in (WORDS, QUESTION, ANSWER, NOT_FIXED, *FRAGMENTS):
            assert secret not in everything, secret
        for secret in ("Chen Jing", "13912345678", "chenjing88", "Jing", str(reporter.user_id)):
            assert secret not in everything, secret
        for minute in (REPORTED_AT, "22:10", REOPENED_AT):
            assert minute not in everything, minute
        for msgid in TRACES:
            for trace in every_language(bot, msgid):
                assert trace.split("{value}")[0] not in everything, trace
        assert f"{LAOCHENG[0]:.5f}" not in everything or user is contact
        assert not seen.documents or all(WORDS not in d for d in seen.documents)
    # The follower got no photo of the report; the contact only the order's and its own fix's.
    follower_photos = {
        hashlib.sha256(m.photo).hexdigest()
        for m in since(follower, 0)
        if m.photo and m.chat_id == follower.user_id
    }
    assert not follower_photos & set(report_photos)
    fix = set(await bot.db.read.cases.photo_hashes(case.id, "fix"))
    reopen = set(await bot.db.read.cases.photo_hashes(case.id, "reopen"))
    assert reopen
    contact_photos = {hashlib.sha256(m.photo).hexdigest() for m in contact.transcript if m.photo}
    assert contact_photos <= set(report_photos[:1]) | fix
    # And the guard that runs after every chat test agrees.
    messages, _photos = await check_confidentiality(bot)
    assert messages > 20
    assert NUMBER.search(texts(contact.transcript))


async def test_a_typed_order_and_no_photos_reach_the_enterprise_as_the_officer_chose(
    bot: Bot,
) -> None:
    enterprise_id = await enterprise_named(bot, "Golden Dragon Restaurant", "91330100MA27XL0T4C")
    officer = await staff(bot, InviteSpec(Role.OFFICER, "fire"))
    contact = await staff(bot, InviteSpec(Role.ENTERPRISE, enterprise_id=enterprise_id))
    number = await report(bot.user(language="en"), description=WORDS, photo_seed=320)
    await bot.drain()
    card = officer.last
    await officer.press("Accept", message=card)
    await officer.press("yellow", message=card)
    await officer.press("general hazard", message=card)
    await officer.press("Order an enterprise to fix it", message=card)
    await officer.send("golden dragon")
    draft = officer.last
    await officer.press("Golden Dragon Restaurant", message=draft)
    await officer.press("✅ Photo 1", message=draft)
    assert "Photos with the order: 0 of 1" in draft.plain
    await officer.press("Type the hazard text", message=draft)
    assert "Do not copy the reporter's description" in officer.last.plain
    # Pasting the reporter's words (or a piece of them) is refused; the officer types again.
    for pasted in (WORDS, "the night shift in workshop 3", f"Hazard: {WORDS} Fix it."):
        await officer.send(pasted)
        assert "That copies the reporter's own words" in officer.last.plain
    await officer.send("The rear exit is locked during opening hours.")
    typed = officer.last
    assert "The rear exit is locked during opening hours." in typed.plain
    assert typed.has_button("✅ ✍️ Type the hazard text")
    assert "Photos with the order: 0 of 1" in typed.plain
    # Typed again: the newer wording replaces it.
    await officer.send("The rear exit is locked and chained during opening hours.")
    typed = officer.last
    await officer.press("Another date", message=typed)
    await officer.send("2026-12-20")
    assert "Status: being rectified" in officer.last.plain
    await bot.drain()
    order = contact.last
    assert order.photo is None
    assert "Hazard: The rear exit is locked and chained during opening hours." in order.plain
    assert "Deadline: 2026-12-20" in order.plain
    assert WORDS not in order.plain
    case = await bot.db.read.cases.by_number(number)
    assert case is not None
    assert case.order_text == "The rear exit is locked and chained during opening hours."
    assert case.order_template is None
    assert await bot.db.read.cases.photo_hashes(case.id, ORDER) == []
    # The pending wording went with the order: what the officer types next is not taken for it.
    assert tables.value(bot.db, "SELECT COUNT(*) FROM pending_inputs") == 0


async def test_going_back_from_an_order_forgets_the_typed_wording(bot: Bot) -> None:
    await enterprise_named(bot, "Golden Dragon Restaurant", "91330100MA27XL0T4C")
    officer = await staff(bot, InviteSpec(Role.OFFICER, "fire"))
    number = await report(bot.user(language="en"))
    await bot.drain()
    card = officer.last
    await officer.press("Accept", message=card)
    await officer.press("blue", message=card)
    await officer.press("general hazard", message=card)
    await officer.press("Order an enterprise to fix it", message=card)
    await officer.send("golden dragon")
    await officer.press("Golden Dragon Restaurant", message=officer.last)
    await officer.press("Type the hazard text", message=officer.last)
    await officer.send("The rear exit is locked during opening hours.")
    typed = officer.last
    assert typed.has_button("3 days")
    await officer.press("« Back", message=typed)
    assert f"Case {number}" in typed.plain
    assert typed.has_button("Order an enterprise to fix it")
    assert tables.value(bot.db, "SELECT COUNT(*) FROM pending_inputs") == 0
    # Ordering again starts from the city's wording, not the words typed before.
    await officer.press("Order an enterprise to fix it", message=typed)
    await officer.send("golden dragon")
    await officer.press("Golden Dragon Restaurant", message=officer.last)
    assert "The rear exit is locked" not in officer.last.plain
    assert "The escape routes or emergency exits" in officer.last.plain
