"""How a case reads to each audience, in the reader's language.

Who sees what is decided in bot/visibility.py (DESIGN.md, "Confidentiality"); the cards and
histories here render what it allows. The reporter's identity is on no card: the department's
card says whether the reporter chose real name, and its officers are shown who it is on request
(bot/identity.py); Telegram accounts are never shown to anyone.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from bot.city import CityConfig
from bot.i18n import N_, Translator
from bot.labels import LEVEL_LABELS, STATUS_LABELS
from bot.services import Services
from bot.visibility import Audience as Audience
from bot.visibility import Field, history, sees
from bot.vocabulary.grading import Colour
from bot.vocabulary.lifecycle import FINAL, Status
from bot.vocabulary.models import TELEGRAM, Case, CaseEvent

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

    def order_text(self, tr: Translator, case: Case) -> str | None:
        """The order's wording in the reader's language: the city's template while the city
        file has it, else the wording as issued; a self-report's is the enterprise's own."""
        category = self.city.category(case.category)
        template = None
        if category is not None and case.order_template:
            template = category.template(case.order_template)
        if template is not None:
            return template.text.get(tr.language)
        if case.order_text:
            return case.order_text
        return case.description if case.self_reported else None

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
        """The case as the audience may see it (bot/visibility.py)."""
        _ = tr.gettext

        def shown(field: Field) -> bool:
            return sees(audience, field)

        lines = [
            _("Case <b>{number}</b>").format(number=case.number),
            _("Status: {status}").format(status=self.status(tr, case, now)),
            _("Category: {value}").format(value=html.escape(self.category(tr, case.category))),
        ]
        if shown(Field.PLACE):
            lines.append(_("Place: {value}").format(value=self.place(tr, case)))
        else:
            district = html.escape(self.district(tr, case.district))
            lines.append(_("District: {value}").format(value=district))
        if case.colour or case.level:
            grade = []
            if case.colour:
                grade.append(_(COLOUR_LABELS[case.colour]))
            if case.level:
                grade.append(_(LEVEL_LABELS[case.level]))
            lines.append(_("Grade: {value}").format(value=" · ".join(grade)))
        described = None
        if shown(Field.DESCRIPTION):
            described = len(lines)
            lines.append(_("Description: {value}").format(value=html.escape(case.description)))
        order = self.order_text(tr, case) if shown(Field.ORDER) else None
        if order and (audience is Audience.ENTERPRISE or order != case.description):
            label = _("Hazard: {value}") if audience is Audience.ENTERPRISE else _("Order: {value}")
            lines.append(label.format(value=html.escape(order)))
        if shown(Field.DEPARTMENT):
            lines.append(
                _("Department: {value}").format(
                    value=html.escape(self.department(tr, case.department))
                )
            )
        if shown(Field.ENTERPRISE):
            if enterprise_name:
                lines.append(_("Enterprise: {value}").format(value=html.escape(enterprise_name)))
            if case.handled_by_department:
                lines.append(_("Handled by the department itself"))
        if case.deadline:
            lines.append(_("Deadline: {value}").format(value=self.date(case.deadline)))
        if case.extension_until and shown(Field.EXTENSION):
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
        if case.measures and shown(Field.PLAN):
            lines.append(
                _("Interim control measures: {value}").format(value=html.escape(case.measures))
            )
        if case.plan and shown(Field.PLAN):
            lines.append(_("Rectification plan: {value}").format(value=html.escape(case.plan)))
        if photo_count and shown(Field.PHOTOS):
            lines.append(_("Photos: {value}").format(value=photo_count))
        if shown(Field.REPORTER):
            lines.append(self.reporter_line(tr, case))
        if case.reviewed and case.status not in FINAL and shown(Field.REOPENED):
            lines.append(_("⚠️ Reopened on review (复核): a supervisor agreed with the reporter."))
        elif case.reopened and shown(Field.REOPENED):
            lines.append(_("⚠️ The reporter says the hazard is not fixed."))
        if shown(Field.FIX):
            lines.extend(fix_flag_lines(tr, case.fix_flag))
            if case.fix_note and case.status is Status.FIX_SUBMITTED:
                lines.append(_("Fix note: {value}").format(value=html.escape(case.fix_note)))
        if shown(Field.REPORTED_AT):
            lines.append(_("Reported: {value}").format(value=self.time(case.created_at)))
        if shown(Field.ORDERED_ON) and case.assigned_at is not None:
            lines.append(_("Ordered: {value}").format(value=self.date(case.assigned_at)))
        text = "\n".join(lines)
        excess = visible_len(text) - CARD_ROOM
        if excess > 0 and described is not None:
            # A very long description (emoji count twice): the rest must still fit.
            description = shorten(case.description, telegram_len(case.description) - excess)
            lines[described] = _("Description: {value}").format(value=html.escape(description))
            text = "\n".join(lines)
        return text

    def reporter_line(self, tr: Translator, case: Case) -> str:
        _ = tr.gettext
        if case.self_reported:
            return _("Reporter: the enterprise itself")
        if not case.named:
            line = _("Reporter: anonymous")
        else:
            # Who it is is never on a card (cards reach group chats and stay in the outbox):
            # the officer asks for it with the 👤 button, and bot/identity.py logs each time.
            line = _("Reporter: real name (👤 shows who; every look is logged)")
        if case.channel != TELEGRAM:
            # The reporter has no chat with the bot: the card says why they cannot be asked.
            line += "\n" + _("Received through {channel}, not in chat").format(
                channel=html.escape(case.channel)
            )
        return line

    def timeline(
        self,
        tr: Translator,
        events: list[CaseEvent],
        audience: Audience,
        limit: int = 4096,
        *,
        viewer: int | None = None,
    ) -> str:
        """One line per event the audience may read (bot/visibility.py; ``viewer``: the
        follower reading it); who did it is said by role, never by account.

        At most ``limit`` characters: a long history keeps its first line and its newest ones,
        and says how many between were left out.
        """
        _ = tr.gettext
        lines = []
        for entry in history(audience, events, viewer):
            what = _(entry.what) if entry.translate else entry.what
            when = self.date(entry.at) if entry.day_only else self.time(entry.at)
            line = f"{when} · {what}"
            note = note_text(tr, entry.note)
            if note:
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
