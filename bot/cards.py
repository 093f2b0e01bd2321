"""How a case reads to each audience, in the reader's language.

Who sees what is decided here and only here (DESIGN.md, "Confidentiality"): the reporter's
identity appears only on the department's card, and only when the reporter chose real name;
never to an enterprise, never to a supervisor's case view (reward payouts have their own
ledger). Telegram accounts are never shown to anyone.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from bot.city import CityConfig
from bot.i18n import N_, Translator
from bot.labels import EVENT_LABELS, LEVEL_LABELS, STATUS_LABELS
from bot.services import Services
from bot.vocabulary.grading import Colour
from bot.vocabulary.lifecycle import FINAL, Action, Status
from bot.vocabulary.models import Case, CaseEvent

# Telegram allows 4096 characters in a message; texts we build stay under this.
MAX_TEXT = 4000
# What a case card may take of a message, so a headline above and a few lines below still fit:
# a long description gives way first.
CARD_ROOM = 3300
_TAG = re.compile(r"<[^>]+>")


def telegram_len(text: str) -> int:
    """How long Telegram counts a text: in UTF-16 code units (an emoji is two)."""
    return len(text.encode("utf-16-le")) // 2


def visible_len(html_text: str) -> int:
    """The length Telegram counts for an HTML text: tags left out, an entity one character."""
    return telegram_len(html.unescape(_TAG.sub("", html_text)))


def shorten(text: str, units: int) -> str:
    """``text`` cut to at most ``units`` UTF-16 units, ending in "…" when it was cut."""
    if telegram_len(text) <= units:
        return text
    out: list[str] = []
    room = units - 1
    for char in text:
        room -= telegram_len(char)
        if room < 0:
            break
        out.append(char)
    return "".join(out).rstrip() + "…"


def map_link(latitude: float, longitude: float) -> str:
    """A map point as a link that opens a map, shown as its coordinates (HTML): in the card
    instead of a separate location message. AMap (高德), which officers in China use, told that
    the point is GPS (WGS-84) as Telegram and Open311 give it; it opens in any browser, and in
    the AMap app where installed."""
    url = (
        f"https://uri.amap.com/marker?position={longitude:.6f},{latitude:.6f}"
        "&coordinate=wgs84&src=shaozi"
    )
    return f'<a href="{html.escape(url)}">{latitude:.5f}, {longitude:.5f}</a>'


COLOUR_LABELS: dict[Colour, str] = {
    Colour.RED: N_("🔴 red (major risk)"),
    Colour.ORANGE: N_("🟠 orange (high risk)"),
    Colour.YELLOW: N_("🟡 yellow (moderate risk)"),
    Colour.BLUE: N_("🔵 blue (low risk)"),
}

# Reasons an officer can give for not accepting a report, by code (stored as "@code").
REJECT_REASONS: dict[str, str] = {
    "not_hazard": N_("This is not a safety hazard."),
    "not_ours": N_("This is outside the city's responsibility."),
    "unclear": N_("The report does not say enough to find or check the hazard."),
    "already_fixed": N_("The hazard had already been removed when checked."),
}


class Audience(StrEnum):
    REPORTER = "reporter"
    OFFICER = "officer"
    ENTERPRISE = "enterprise"
    SUPERVISOR = "supervisor"


_ALL_NOTES = frozenset(a.value for a in Action) | {"question", "answer"}
# Whose words each audience may read in a case's history: the reporter's own words (answers,
# "not fixed") never reach the enterprise; internal reasons stay with the staff.
NOTES_SHOWN: dict[Audience, frozenset[str]] = {
    Audience.REPORTER: frozenset({Action.REJECT.value}),
    Audience.ENTERPRISE: frozenset(
        {
            Action.RETURN.value,
            Action.REQUEST_EXTENSION.value,
            Action.GRANT_EXTENSION.value,
            Action.REFUSE_EXTENSION.value,
        }
    ),
    Audience.OFFICER: _ALL_NOTES,
    Audience.SUPERVISOR: _ALL_NOTES,
}
# Events an enterprise never reads in a case's history: the reporter's request for a review
# (复核) and its outcome are the reporter's traces.
HIDDEN_FROM_ENTERPRISE = frozenset(
    {Action.REQUEST_REVIEW.value, Action.UPHOLD.value, Action.REOPEN_ON_REVIEW.value}
)


@dataclass
class Outgoing:
    """One notification: text (HTML) with buttons, after optional photos and a map point. How
    it goes is the channel's: in Telegram a text that fits rides as a single photo's caption."""

    text: str
    buttons: list[list[tuple[str, str]]] = field(default_factory=list)
    photos: list[str] = field(default_factory=list)
    location: tuple[float, float] | None = None
    # From this moment on, this wording goes instead (with the same parts): a message queued
    # for the day before that goes out late must not say "tomorrow" (see payload_at).
    later: tuple[dt.datetime, Outgoing] | None = None

    def payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "text": self.text,
            "buttons": [[list(b) for b in row] for row in self.buttons],
            "photos": self.photos,
            "location": list(self.location) if self.location else None,
        }
        if self.later is not None:
            moment, wording = self.later
            payload[LATER] = {FROM: moment.astimezone(dt.UTC).isoformat(), **wording.payload()}
        return payload


LATER, FROM = "later", "from"


def payload_at(payload: dict[str, Any], moment: dt.datetime) -> dict[str, Any]:
    """The wording of a queued payload that goes out at ``moment``: its later one from the
    time that one is due, else its own."""
    later = payload.get(LATER)
    if later is not None and moment >= dt.datetime.fromisoformat(later[FROM]):
        return {k: v for k, v in later.items() if k != FROM}
    return {k: v for k, v in payload.items() if k != LATER}


def fix_flag_lines(tr: Translator, flag: str | None) -> list[str]:
    """Warnings about fix photos, from the flag the fix was stored with ("same-as-report;reused:…",
    bot/rectification.py)."""
    lines = []
    for part in (flag or "").split(";"):
        if part == "same-as-report":
            lines.append(tr.gettext("⚠️ A fix photo looks the same as the hazard photo."))
        elif part.startswith("reused:"):
            lines.append(
                tr.gettext("⚠️ A fix photo looks like a photo of case {numbers}.").format(
                    numbers=part.removeprefix("reused:").replace(",", ", ")
                )
            )
    return lines


def note_text(tr: Translator, note: str | None) -> str:
    """An event note: a reason code shown in the reader's language, or the officer's words."""
    if not note:
        return ""
    if note.startswith("@") and note[1:] in REJECT_REASONS:
        return tr.gettext(REJECT_REASONS[note[1:]])
    return note


@dataclass(frozen=True)
class Cards:
    city: CityConfig
    zone: ZoneInfo

    def time(self, moment: dt.datetime | None) -> str:
        return f"{moment.astimezone(self.zone):%Y-%m-%d %H:%M}" if moment else "—"

    def date(self, moment: dt.datetime | None) -> str:
        return f"{moment.astimezone(self.zone):%Y-%m-%d}" if moment else "—"

    def category(self, tr: Translator, code: str) -> str:
        category = self.city.category(code)
        return category.name.get(tr.language) if category else code

    def department(self, tr: Translator, code: str) -> str:
        department = self.city.department(code)
        return department.name.get(tr.language) if department else code

    def district(self, tr: Translator, code: str | None) -> str:
        district = self.city.district(code) if code else None
        return district.name.get(tr.language) if district else "—"

    def place(self, tr: Translator, case: Case) -> str:
        """Where the hazard is, as HTML: the address, the point as a map link, the district."""
        parts = []
        if case.address:
            parts.append(html.escape(case.address))
        if case.latitude is not None and case.longitude is not None:
            parts.append(map_link(case.latitude, case.longitude))
        if case.district:
            parts.append(html.escape(self.district(tr, case.district)))
        return " · ".join(parts) or "—"

    def spot(
        self,
        tr: Translator,
        address: str | None,
        latitude: float | None,
        longitude: float | None,
        district: str | None,
    ) -> str:
        """The typed address, the pin's coordinates and the district, those known; or ""."""
        parts = []
        if address:
            parts.append(address)
        if latitude is not None and longitude is not None:
            parts.append(f"{latitude:.5f}, {longitude:.5f}")
        if district:
            parts.append(self.district(tr, district))
        return " · ".join(parts)

    def status(self, tr: Translator, case: Case, now: dt.datetime) -> str:
        label = tr.gettext(STATUS_LABELS[case.status])
        if case.overdue(now):
            label += " · " + tr.gettext("overdue")
        if case.escalated_at is not None and case.status not in FINAL:
            label += " · " + tr.gettext("under supervision (挂牌督办)")
        return label

    def card(
        self,
        tr: Translator,
        case: Case,
        audience: Audience,
        now: dt.datetime,
        *,
        enterprise_name: str | None = None,
        photo_count: int = 0,
    ) -> str:
        """The case as the audience may see it."""
        _ = tr.gettext
        lines = [
            _("Case <b>{number}</b>").format(number=case.number),
            _("Status: {status}").format(status=self.status(tr, case, now)),
            _("Category: {value}").format(value=html.escape(self.category(tr, case.category))),
            _("Place: {value}").format(value=self.place(tr, case)),
        ]
        if case.colour or case.level:
            grade = []
            if case.colour:
                grade.append(_(COLOUR_LABELS[case.colour]))
            if case.level:
                grade.append(_(LEVEL_LABELS[case.level]))
            lines.append(_("Grade: {value}").format(value=" · ".join(grade)))
        described = len(lines)
        lines.append(_("Description: {value}").format(value=html.escape(case.description)))
        if audience is not Audience.ENTERPRISE:
            lines.append(
                _("Department: {value}").format(
                    value=html.escape(self.department(tr, case.department))
                )
            )
        if enterprise_name and audience is not Audience.REPORTER:
            lines.append(_("Enterprise: {value}").format(value=html.escape(enterprise_name)))
        if case.handled_by_department and audience is not Audience.REPORTER:
            lines.append(_("Handled by the department itself"))
        if case.deadline:
            lines.append(_("Deadline: {value}").format(value=self.date(case.deadline)))
        if case.extension_until and audience is not Audience.REPORTER:
            lines.append(
                _("Extension requested until {date}: {reason}").format(
                    date=self.date(case.extension_until),
                    reason=html.escape(case.extension_reason or ""),
                )
            )
        if case.self_reported:
            lines.append(_("Self-reported by the enterprise (隐患自查自报)"))
            if case.proposed_deadline and case.status is Status.SUBMITTED:
                lines.append(
                    _("Proposed deadline: {value}").format(value=self.date(case.proposed_deadline))
                )
        if case.measures and audience is not Audience.REPORTER:
            lines.append(
                _("Interim control measures: {value}").format(value=html.escape(case.measures))
            )
        if case.plan and audience is not Audience.REPORTER:
            lines.append(_("Rectification plan: {value}").format(value=html.escape(case.plan)))
        if photo_count:
            lines.append(_("Photos: {value}").format(value=photo_count))
        if audience is Audience.OFFICER:
            lines.append(self.reporter_line(tr, case))
            if case.reviewed and case.status not in FINAL:
                lines.append(
                    _("⚠️ Reopened on review (复核): a supervisor agreed with the reporter.")
                )
            elif case.reopened:
                lines.append(_("⚠️ The reporter says the hazard is not fixed."))
            lines.extend(fix_flag_lines(tr, case.fix_flag))
            if case.fix_note and case.status is Status.FIX_SUBMITTED:
                lines.append(_("Fix note: {value}").format(value=html.escape(case.fix_note)))
        lines.append(_("Reported: {value}").format(value=self.time(case.created_at)))
        text = "\n".join(lines)
        excess = visible_len(text) - CARD_ROOM
        if excess > 0:  # a very long description (emoji count twice): the rest must still fit
            description = shorten(case.description, telegram_len(case.description) - excess)
            lines[described] = _("Description: {value}").format(value=html.escape(description))
            text = "\n".join(lines)
        return text

    def reporter_line(self, tr: Translator, case: Case) -> str:
        _ = tr.gettext
        if case.self_reported:
            return _("Reporter: the enterprise itself")
        if case.anonymous or not case.reporter_name:
            return _("Reporter: anonymous")
        return _("Reporter: {name}, {phone}").format(
            name=html.escape(case.reporter_name), phone=html.escape(case.reporter_phone or "")
        )

    def timeline(
        self, tr: Translator, events: list[CaseEvent], audience: Audience, limit: int = 4096
    ) -> str:
        """One line per event; who did it is said by role, never by account.

        At most ``limit`` characters: a long history keeps its first line and its newest ones,
        and says how many between were left out.
        """
        _ = tr.gettext
        lines = []
        for event in events:
            if audience is Audience.ENTERPRISE and event.kind in HIDDEN_FROM_ENTERPRISE:
                continue
            label = EVENT_LABELS.get(event.kind)
            if label is not None:
                what = _(label)
            elif event.to_status is not None:
                what = _(STATUS_LABELS[event.to_status])
            elif audience in (Audience.OFFICER, Audience.SUPERVISOR):
                what = event.kind
            else:
                continue  # an internal event without a label is not for reporters or enterprises
            line = f"{self.time(event.at)} · {what}"
            note = note_text(tr, event.note)
            if note and event.kind in NOTES_SHOWN[audience]:
                line += " — " + html.escape(note)
            lines.append(line)
        head = _("History:")
        if len(head) + sum(len(line) + 1 for line in lines) <= limit:
            return "\n".join([head, *lines])
        kept: list[str] = []
        room = limit - len(head) - len(lines[0]) - 2 - 60  # 60: the "left out" line
        for line in reversed(lines[1:]):
            if len(line) + 1 > room:
                break
            kept.append(line)
            room -= len(line) + 1
        left_out = len(lines) - 1 - len(kept)
        gap = tr.ngettext(
            "… {n} more entry, not shown", "… {n} more entries, not shown", left_out
        ).format(n=left_out)
        return "\n".join([head, lines[0], gap, *reversed(kept)])


def cards(services: Services) -> Cards:
    """The city's cards, dated in its zone."""
    return Cards(services.city, services.settings.zone)
