"""Nothing an enterprise contact or a follower of a case receives may carry a reporter's traces
(DESIGN.md, "Confidentiality"; #20): their identity, their words, their answers, the minute they
reported, that they were asked or answered, that others reported too, their photos (to an
enterprise: those left out of its order), or a photo's metadata.

The rules are restated here from the law and the issue, not read from bot/visibility.py: a rule
broken there is caught here. A reader's own reports, words and photos are theirs to see.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
import sqlite3
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from bot.i18n import Language
from tests.support import tables
from tests.support.chat import NUMBER, Bot
from tests.support.images import has_metadata

# What a case's card and history call the events that are the reporter's traces, and the line
# with the minute of the report; in every language, as the catalogues say them.
FORBIDDEN_EVENTS = (
    "The department asked the reporter a question",
    "The reporter answered",
    "Another person reported the same hazard",
    "Reporter says it is not fixed",
    "⚠️ The reporter says the hazard is not fixed.",
)
REPORTED_LINE = "Reported: {value}"
# Events that are the reporter's own acts: their minute is the reporter's. Any other event is
# the department's or the enterprise's, and its time may be shown.
REPORTERS_ACTS = frozenset({"submit", "follow", "question", "answer", "reopen"})
MINUTE = "%Y-%m-%d %H:%M"
# A case with its reporter (case_reporters r), under the names the checks use.
CASES = (
    "SELECT c.*, r.user_id AS reporter_id, r.name AS reporter_name, r.phone AS reporter_phone,"
    " r.email AS reporter_email FROM cases c JOIN case_reporters r ON r.case_id = c.id"
)
SHORTEST_SECRET = 10  # words shorter than this could be anyone's


@dataclass
class Version:
    """One version of a message as its reader saw it: its text and button labels."""

    text: str
    labels: list[str]


@dataclass
class Received:
    """Everything one user was sent: texts and captions (each edit too), button labels, alerts
    and toasts of their button presses, photos, and documents' contents."""

    versions: list[Version] = field(default_factory=list)
    photos: list[bytes] = field(default_factory=list)
    documents: list[str] = field(default_factory=list)
    answers: list[str] = field(default_factory=list)

    def texts(self) -> Iterator[str]:
        for version in self.versions:
            yield version.text
            yield from version.labels
        yield from self.answers
        yield from self.documents

    def everything(self) -> str:
        return "\n".join(self.texts())


def document_text(data: bytes) -> str:
    """What a document says: a spreadsheet's XML parts, or the file as text."""
    if data.startswith(b"PK"):
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return "\n".join(
                archive.read(name).decode("utf-8", "replace")
                for name in archive.namelist()
                if name.endswith(".xml")
            )
    return data.decode("utf-8-sig", "replace")


def received(bot: Bot, user_id: int) -> Received:
    seen = Received()
    for sent in bot.api.sent:
        if sent.chat_id != user_id:
            continue
        for version in [*sent.edits, sent]:
            labels = [label for row in version.buttons for label, _ in row]
            seen.versions.append(Version(version.plain, labels))
        if sent.photo is not None:
            seen.photos.append(sent.photo)
        if sent.document is not None:
            seen.documents.append(document_text(sent.document))
    seen.answers = [
        str(a["text"]) for a in bot.api.callback_answers if a["user_id"] == user_id and a["text"]
    ]
    return seen


def _minute(bot: Bot, stored: str) -> str:
    return dt.datetime.fromisoformat(stored).astimezone(bot.settings.zone).strftime(MINUTE)


@dataclass
class Secrets:
    """What one reader must never be sent."""

    words: set[str] = field(default_factory=set)  # identity, words, answers, minutes, places
    ids: set[str] = field(default_factory=set)  # reporters' Telegram ids, as whole words
    photos: set[str] = field(default_factory=set)  # sha256 of photos
    own_numbers: set[str] = field(default_factory=set)  # cases the reader reported


def _own(db: sqlite3.Connection, reader: int) -> tuple[set[str], set[str], set[str]]:
    """A reader's own: the words they wrote, the photos they sent, the numbers of their cases."""
    words: set[str] = set()
    photos: set[str] = set()
    numbers: set[str] = set()
    for case in db.execute(f"{CASES} WHERE r.user_id = ?", (reader,)):
        numbers.add(case["number"])
        words.update(
            str(case[k]) for k in ("description", "reporter_name", "reporter_phone") if case[k]
        )
        if case["latitude"] is not None:
            words.add(f"{case['latitude']:.5f}, {case['longitude']:.5f}")
    for row in db.execute("SELECT answer_text FROM questions WHERE asked_to = ?", (reader,)):
        if row[0]:
            words.add(row[0])
    for row in db.execute(
        "SELECT note FROM case_events WHERE actor_id = ? AND note IS NOT NULL", (reader,)
    ):
        words.add(row[0])
    for row in db.execute("SELECT sha256 FROM case_photos WHERE added_by = ?", (reader,)):
        photos.add(row[0])
    for row in db.execute(
        "SELECT p.sha256 FROM case_photos p JOIN case_reporters r ON r.case_id = p.case_id"
        " WHERE r.user_id = ?",
        (reader,),
    ):
        photos.add(row[0])
    return words, photos, numbers


def _by_case(db: sqlite3.Connection, sql: str) -> dict[int, list[Any]]:
    """The rows of ``sql`` (its first column a case id) by case."""
    grouped: dict[int, list[Any]] = {}
    for row in db.execute(sql):
        grouped.setdefault(row[0], []).append(tuple(row))
    return grouped


def secrets_for(bot: Bot, db: sqlite3.Connection, reader: int, enterprise: bool) -> Secrets:
    """The traces of every reporter but the reader; to an enterprise contact, also the photos
    no order of any enterprise carried."""
    own_words, own_photos, own_numbers = _own(db, reader)
    shown_times = {
        _minute(bot, row[0])
        for row in db.execute(
            "SELECT at FROM case_events WHERE kind NOT IN ({})".format(
                ",".join("?" * len(REPORTERS_ACTS))
            ),
            sorted(REPORTERS_ACTS),
        )
    }
    for row in db.execute(
        "SELECT e.at FROM case_events e JOIN case_reporters r ON r.case_id = e.case_id"
        " WHERE r.user_id = ? OR e.actor_id = ?",
        (reader, reader),
    ):
        shown_times.add(_minute(bot, row[0]))
    found = Secrets(own_numbers=own_numbers)
    cases = db.execute(
        f"{CASES} WHERE c.self_reported = 0 AND r.user_id IS DISTINCT FROM ?", (reader,)
    ).fetchall()
    # What each case has, read once for all cases (a query per case is slow on a server).
    followers = _by_case(db, "SELECT case_id, user_id FROM case_followers")
    asked = _by_case(db, "SELECT case_id, question, answer_text, answer_photo FROM questions")
    reopened = _by_case(db, "SELECT case_id, note FROM case_events WHERE kind = 'reopen'")
    reported_photos = _by_case(
        db, "SELECT case_id, sha256 FROM case_photos WHERE kind IN ('report', 'reopen')"
    )
    for case in cases:
        people = [case["reporter_id"]] + [r[1] for r in followers.get(case["id"], [])]
        for person in people:
            if person is None or person == reader:
                continue
            found.ids.add(str(person))
            chat = bot.api.chat(person) or {}
            found.words.update(
                str(chat[k]) for k in ("username", "first_name", "last_name") if chat.get(k)
            )
        found.words.update(
            str(case[k]) for k in ("reporter_name", "reporter_phone", "reporter_email") if case[k]
        )
        if len(case["description"]) >= SHORTEST_SECRET:
            found.words.add(case["description"])
        if case["latitude"] is not None and not enterprise:
            found.words.add(f"{case['latitude']:.5f}, {case['longitude']:.5f}")
        reported = _minute(bot, case["created_at"])
        if reported not in shown_times:
            found.words.add(reported)
        for _case, question, answer, answer_photo in asked.get(case["id"], []):
            found.words.update(t for t in (question, answer) if t and len(t) >= SHORTEST_SECRET)
            if answer_photo is not None:
                found.photos.add(answer_photo)
        for _case, note in reopened.get(case["id"], []):
            if note and len(note) >= SHORTEST_SECRET:
                found.words.add(note)
        found.photos.update(r[1] for r in reported_photos.get(case["id"], []))
    if enterprise:
        ordered = db.execute("SELECT sha256 FROM case_photos WHERE kind IN ('order', 'fix')")
        found.photos -= {r[0] for r in ordered}
    found.words -= own_words
    found.words.discard("Test")  # the fake users' default first name
    found.photos -= own_photos
    return found


def forbidden_labels(bot: Bot) -> list[str]:
    """The reporter's traces as a card or history names them, in every language."""
    catalogs = bot.services.catalogs
    labels: list[str] = []
    for language in Language:
        tr = catalogs.translator(language)
        labels.extend(tr.gettext(msgid) for msgid in FORBIDDEN_EVENTS)
        labels.append(tr.gettext(REPORTED_LINE).split("{value}")[0])
    return labels


def readers(bot: Bot) -> dict[int, bool]:
    """Who must not learn a reporter's traces: enterprise contacts (True), and citizens who
    follow a case someone else reported (False)."""
    found: dict[int, bool] = {}
    for row in tables.rows(
        bot.db,
        "SELECT f.user_id FROM case_followers f JOIN case_reporters r ON r.case_id = f.case_id"
        " WHERE r.user_id IS DISTINCT FROM f.user_id",
    ):
        found[row[0]] = False
    for row in tables.rows(bot.db, "SELECT user_id FROM memberships WHERE role = 'enterprise'"):
        found[row[0]] = True
    return found


def check_reader(bot: Bot, reader: int, enterprise: bool) -> tuple[int, int]:
    """Fail on any reporter's trace sent to ``reader``; return the (messages, photos) read."""
    with tables.reading(bot.db) as db:
        secrets = secrets_for(bot, db, reader, enterprise)
    seen = received(bot, reader)
    labels = forbidden_labels(bot)
    for text in seen.texts():
        words = set(re.findall(r"\w+", text))
        for secret in sorted(secrets.words, key=len, reverse=True):
            assert secret not in text, f"{secret!r} reached {reader}: {text}"
        for secret in secrets.ids:
            assert secret not in words, f"reporter id {secret} reached {reader}: {text}"
        if set(NUMBER.findall(text)) & secrets.own_numbers:
            continue  # about their own report: its history is theirs
        for label in labels:
            assert label not in text, f"{label!r} reached {reader}: {text}"
    for photo in seen.photos:
        assert not has_metadata(photo), f"a photo with metadata reached {reader}"
        digest = hashlib.sha256(photo).hexdigest()
        assert digest not in secrets.photos, f"a reporter's photo reached {reader}"
    return len(seen.versions), len(seen.photos)


def check_identity_reads(bot: Bot) -> int:
    """Fail if a reporter's name or phone reached any chat (a person, a group) but the
    reporter's own, unless the audit log says that person was shown that reporter (#16 item 4:
    every read of the identity is logged). Returns how many such sightings were logged."""
    logged: dict[int, set[str]] = {}  # who was shown, what
    secrets: set[str] = set()
    owners: dict[str, set[int]] = {}  # a name or phone, and the reporters it is theirs
    with tables.reading(bot.db) as db:
        readers: dict[int, list[int]] = {}  # case, who was shown its reporter
        for read in db.execute("SELECT case_id, reader_id FROM identity_reads"):
            readers.setdefault(read[0], []).append(read[1])
        for case in db.execute("SELECT * FROM case_reporters"):
            words = {str(case[k]) for k in ("name", "phone", "email") if case[k]}
            words = {w for w in words if len(w) >= 4}  # a shorter one could be anyone's text
            secrets |= words
            for word in words:
                owners.setdefault(word, set()).add(case["user_id"])
            for reader in readers.get(case["case_id"], ()):
                logged.setdefault(reader, set()).update(words)
    sightings = 0
    for chat in {sent.chat_id for sent in bot.api.sent}:
        seen = received(bot, chat).everything()
        typed = "\n".join(bot.api.typed_in(chat))  # echoed back (a search): the reader's own
        for secret in sorted(secrets):
            if secret not in seen or chat in owners[secret] or secret in typed:
                continue
            assert secret in logged.get(chat, set()), f"{secret!r} reached {chat} unlogged"
            sightings += 1
    return sightings


async def check_confidentiality(bot: Bot) -> tuple[int, int]:
    """Fail if anything sent to an enterprise contact or a follower carries a reporter's trace,
    or if a reporter's identity reached anyone without its read in the audit log.

    Returns how many (message versions, photos) sent to them were examined. Runs after every
    chat-level test, so the whole scenario suite is checked.
    """
    assert bot.app is not None
    check_identity_reads(bot)
    messages = photos = 0
    for reader, enterprise in readers(bot).items():
        read, seen = check_reader(bot, reader, enterprise)
        messages += read
        photos += seen
    return messages, photos
