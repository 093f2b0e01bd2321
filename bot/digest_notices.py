"""How the weekly digest reads: a department's week in figures, and the city's, in the reader's
language.

When it goes out and to whom is bot/digest.py's; a week is given by its Monday and Sunday (city
dates).
"""

from __future__ import annotations

import datetime as dt
import html

from bot.cards import Outgoing, cards
from bot.i18n import Translator
from bot.notify import Render
from bot.services import Services
from storage.cases import WeekCounts


def department_name(services: Services, tr: Translator, code: str) -> str:
    return html.escape(cards(services).department(tr, code))


def _period(monday: dt.date, sunday: dt.date) -> str:
    return f"{monday:%Y-%m-%d} – {sunday:%Y-%m-%d}"


def figures(tr: Translator, counts: WeekCounts) -> list[str]:
    _ = tr.gettext
    if counts.quiet:
        return [_("A quiet week: no new, accepted, closed, overdue or escalated cases.")]
    return [
        _("New reports: {count}").format(count=counts.new),
        _("Accepted: {count}").format(count=counts.accepted),
        _("Closed (销号): {count}").format(count=counts.closed),
        _("Overdue now: {count}").format(count=counts.overdue),
        _("Escalated (挂牌督办): {count}").format(count=counts.escalated),
    ]


def department_digest(
    services: Services, monday: dt.date, sunday: dt.date, counts: WeekCounts
) -> Render:
    def render(tr: Translator) -> Outgoing:
        title = tr.gettext("📊 Weekly digest: {department}").format(
            department=department_name(services, tr, counts.department)
        )
        lines = [f"<b>{title}</b>", _period(monday, sunday), "", *figures(tr, counts)]
        return Outgoing("\n".join(lines))

    return render


def city_digest(
    services: Services, monday: dt.date, sunday: dt.date, rows: list[WeekCounts]
) -> Render:
    def render(tr: Translator) -> Outgoing:
        _ = tr.gettext
        city = html.escape(services.city.city.name.get(tr.language))
        title = _("📊 Weekly digest: {city}").format(city=city)
        lines = [f"<b>{title}</b>", _period(monday, sunday), ""]
        active = [r for r in rows if not r.quiet]
        if not active:
            lines.append(
                _(
                    "A quiet week across the city: no new, accepted, closed, overdue or "
                    "escalated cases."
                )
            )
            return Outgoing("\n".join(lines))
        for r in active:
            lines.append(
                "• "
                + _(
                    "{department}: {new} new, {accepted} accepted, {closed} closed, "
                    "{overdue} overdue, {escalated} escalated"
                ).format(
                    department=department_name(services, tr, r.department),
                    new=r.new,
                    accepted=r.accepted,
                    closed=r.closed,
                    overdue=r.overdue,
                    escalated=r.escalated,
                )
            )
        total = WeekCounts(
            department="",
            new=sum(r.new for r in active),
            accepted=sum(r.accepted for r in active),
            closed=sum(r.closed for r in active),
            overdue=sum(r.overdue for r in active),
            escalated=sum(r.escalated for r in active),
        )
        lines.append(
            _(
                "Whole city: {new} new, {accepted} accepted, {closed} closed, "
                "{overdue} overdue, {escalated} escalated"
            ).format(
                new=total.new,
                accepted=total.accepted,
                closed=total.closed,
                overdue=total.overdue,
                escalated=total.escalated,
            )
        )
        quiet = len(rows) - len(active)
        if quiet:
            lines.append(
                tr.ngettext(
                    "{count} other department had a quiet week.",
                    "{count} other departments had a quiet week.",
                    quiet,
                ).format(count=quiet)
            )
        return Outgoing("\n".join(lines))

    return render
