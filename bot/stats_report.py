"""How the supervisor's figures read: the /stats message and its chart, in the reader's language.

The figures are bot/stats.py's (which cases count, over which period, in whose scope); here
they are worded and drawn: numbers, percentages and durations as the reader's locale writes them,
the scope and each breakdown's lines by name, the top lines of each breakdown in the text, all
of them in the chart.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from dataclasses import dataclass

from babel.lists import format_list
from babel.numbers import format_decimal, format_percent

from bot.cards import COLOUR_LABELS, MAX_TEXT, Cards
from bot.charts import Bars, Chart
from bot.i18n import N_, Language, Translator
from bot.stats import (
    Line,
    Scope,
    Standing,
    Stats,
    average_accept,
    average_fix,
    on_time_rate,
    rectification_rate,
)
from bot.vocabulary.grading import Colour
from bot.vocabulary.models import TELEGRAM

TOP = 5  # lines of each breakdown in the text; the chart shows them all


@dataclass(frozen=True)
class Numbers:
    """Numbers in the reader's language (Babel)."""

    tr: Translator

    def count(self, value: int) -> str:
        return format_decimal(value, locale=self.tr.language.value)

    def percent(self, value: float | None) -> str:
        if value is None:
            return "—"
        return format_percent(value, format="#,##0.0%", locale=self.tr.language.value)

    def duration(self, value: dt.timedelta | None) -> str:
        if value is None:
            return "—"
        hours = value.total_seconds() / 3600
        locale = self.tr.language.value
        if hours < 48:
            return self.tr.gettext("{value} h").format(
                value=format_decimal(hours, format="#,##0.0", locale=locale)
            )
        return self.tr.gettext("{value} d").format(
            value=format_decimal(hours / 24, format="#,##0.0", locale=locale)
        )


def plain_colour(tr: Translator, colour: Colour) -> str:
    """A colour's name without its emoji (charts and spreadsheets have no emoji font)."""
    return re.sub(r"^\W+", "", tr.gettext(COLOUR_LABELS[colour]))


def scope_name(tr: Translator, cards: Cards, scope: Scope) -> str:
    if scope.departments is None:
        return cards.city.city.name.get(tr.language)
    names = [cards.department(tr, code) for code in sorted(scope.departments)]
    if tr.language is Language.EN:
        return format_list(names, locale="en")  # Fire, Housing, and Emergency
    return "、".join(names)  # not CLDR's 和: the names have 和 in them (住房和城乡建设局)


def line_name(tr: Translator, cards: Cards, dimension: str, key: str | None) -> str:
    if dimension == "department":
        return cards.department(tr, key or "")
    if dimension == "category":
        return cards.category(tr, key or "")
    if dimension == "district":
        return cards.district(tr, key) if key else tr.gettext("no district")
    if dimension == "channel":
        return channel_name(tr, key or TELEGRAM)
    if key in {c.value for c in Colour}:
        return tr.gettext(COLOUR_LABELS[Colour(key)])
    return tr.gettext("not graded")


def channel_name(tr: Translator, channel: str) -> str:
    """Where reports came from: the chat, or a partner of the API by its name."""
    return tr.gettext("Telegram chat") if channel == TELEGRAM else channel


BREAKDOWNS: tuple[tuple[str, str], ...] = (
    ("department", N_("By department")),
    ("category", N_("By category")),
    ("district", N_("By district")),
    ("colour", N_("By risk colour")),
    ("channel", N_("By channel")),
)


def _lines(stats: Stats, dimension: str) -> list[Line]:
    lines: list[Line] = getattr(stats, f"by_{dimension}")
    return [line for line in lines if line.figures.found]


def standing_text(tr: Translator, standing: Standing) -> str:
    if standing.overdue == 0 and standing.unaccepted == 0:
        return tr.gettext("No case is overdue. Well done!")
    n = Numbers(tr)
    lines = []
    if standing.overdue:
        lines.append(
            tr.gettext(
                "Overdue now, whatever the period: {overdue} · of them under supervision "
                "(挂牌督办): {supervised} · the list: /overdue"
            ).format(overdue=n.count(standing.overdue), supervised=n.count(standing.supervised))
        )
    if standing.unaccepted:
        lines.append(
            tr.gettext("Not accepted in time, under supervision (挂牌督办): {unaccepted}").format(
                unaccepted=n.count(standing.unaccepted)
            )
        )
    return "\n".join(lines)


def render_text(tr: Translator, cards: Cards, stats: Stats) -> str:
    """The figures as one HTML message: the totals, then the top lines of each breakdown."""
    _ = tr.gettext
    n = Numbers(tr)
    total, own = stats.total, stats.self_reported
    out = [
        "📊 <b>" + _("Hazards reported {period}").format(period=stats.period.label) + "</b>",
        _("Scope: {scope}").format(scope=html.escape(scope_name(tr, cards, stats.scope))),
    ]
    if total.reported == 0 and own.reported == 0:
        out.append(_("No hazard was reported in this period."))
        if stats.standing is not None:
            out.append(standing_text(tr, stats.standing))
        return "\n".join(out)
    out += [
        "",
        _("Found: {found} · rectified: {rectified} · rectification rate (整改率): {rate}").format(
            found=n.count(total.found),
            rectified=n.count(total.rectified),
            rate=n.percent(rectification_rate(total)),
        ),
        _("Rectified on time: {rate} ({on_time} of {closed} with a deadline)").format(
            rate=n.percent(on_time_rate(total)),
            on_time=n.count(total.on_time),
            closed=n.count(total.closed_with_deadline),
        ),
        _("Overdue now: {overdue} · under supervision (挂牌督办): {escalated}").format(
            overdue=n.count(total.overdue), escalated=n.count(total.escalated)
        ),
        _("Average time to accept: {accept} · to fix: {fix}").format(
            accept=n.duration(average_accept(total)), fix=n.duration(average_fix(total))
        ),
        _(
            "Reports: {reported} (awaiting acceptance {waiting}, not accepted {rejected}, "
            "merged {merged})"
        ).format(
            reported=n.count(total.reported),
            waiting=n.count(total.waiting),
            rejected=n.count(total.rejected),
            merged=n.count(total.merged),
        ),
        _(
            "Self-reported by enterprises (counted apart): found {found} · rectified "
            "{rectified} · {rate} · overdue {overdue}"
        ).format(
            found=n.count(own.found),
            rectified=n.count(own.rectified),
            rate=n.percent(rectification_rate(own)),
            overdue=n.count(own.overdue),
        ),
    ]
    for dimension, title in BREAKDOWNS:
        lines = _lines(stats, dimension)
        if dimension in ("department", "channel") and len(lines) < 2:
            continue  # one department's (or channel's) figures are the totals above
        if not lines:
            continue
        out += ["", "<b>" + _(title) + "</b> · " + _("found / rectified · rate · overdue")]
        for line in lines[:TOP]:
            f = line.figures
            name = html.escape(line_name(tr, cards, dimension, line.key))
            out.append(
                f"• {name}: {n.count(f.found)} / {n.count(f.rectified)}"
                f" · {n.percent(rectification_rate(f))} · {n.count(f.overdue)}"
            )
        if len(lines) > TOP:
            more = len(lines) - TOP
            out.append(
                tr.ngettext("…and {count} more", "…and {count} more", more).format(count=more)
            )
    text = "\n".join(out)
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


def chart(tr: Translator, cards: Cards, stats: Stats) -> Chart | None:
    """Found vs rectified as horizontal bars: by department (by category when the scope is
    one department) and by district. None when there is nothing to draw."""
    _ = tr.gettext
    panels = []
    departments = _lines(stats, "department")
    first = ("department", _("By department")) if len(departments) > 1 else None
    for dimension, title in (
        first or ("category", _("By category")),
        ("district", _("By district")),
    ):
        lines = _lines(stats, dimension)
        if not lines:
            continue
        panels.append(
            Bars(
                title=title,
                labels=[line_name(tr, cards, dimension, line.key) for line in lines],
                series=[
                    (_("found"), [line.figures.found for line in lines]),
                    (_("rectified"), [line.figures.rectified for line in lines]),
                ],
            )
        )
    if not panels:
        return None
    title = _("Hazards found and rectified, {period}").format(period=stats.period.label)
    return Chart(title=title, subtitle=scope_name(tr, cards, stats.scope), panels=panels)
