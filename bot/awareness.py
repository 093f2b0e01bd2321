"""Awareness days (全国防灾减灾日 and others): a reminder to subscribers the day before.

The calendar is the city's (``awareness_days``); its texts are written for the day before
("tomorrow is …"). The sweep queues a day's reminder from 00:00 of the day before, to go out
from 10:00 that day (and inside quiet hours). Each carries a second wording for the day itself
("today: …"), which goes instead of the first from the day's midnight: a reminder held back (the
bot down after queuing it, a long sending run into quiet hours) or queued late (the bot down the
day before) never says "tomorrow" on the day. After the day nothing more is queued. The key
``aw:{code}:{year}`` makes it once per subscriber and year.
"""

from __future__ import annotations

import datetime as dt
import html
from dataclasses import dataclass

from bot.broadcast_notices import REPORT_BUTTON, REPORT_DATA
from bot.broadcasts import mass_send_time, queue_to_subscribers
from bot.cards import Outgoing
from bot.city import AwarenessDay
from bot.i18n import Translator
from bot.notify import Render
from bot.services import Services

DAY = dt.timedelta(days=1)
# The day before, reminders go out from this time (city time), not at the crack of dawn.
SEND_FROM = dt.time(10, 0)


@dataclass(frozen=True)
class Due:
    day: AwarenessDay
    date: dt.date
    send_at: dt.datetime

    @property
    def key(self) -> str:
        return f"aw:{self.day.code}:{self.date.year}"


def awareness_message(day: AwarenessDay, starts: dt.datetime) -> Render:
    """The day's name in bold, its message (the day before), its tips, a report button; and
    from ``starts`` (the day's first moment) the wording for the day itself."""

    def render(tr: Translator) -> Outgoing:
        language = tr.language
        name = html.escape(day.name.get(language))
        tips = [f"• {html.escape(tip)}" for tip in day.tips.get(language)]
        buttons = [[(tr.gettext(REPORT_BUTTON), REPORT_DATA)]]
        eve = [f"<b>{name}</b>", "", html.escape(day.message.get(language)), "", *tips]
        today = [
            "<b>" + tr.gettext("Today: {name}").format(name=name) + "</b>",
            "",
            *tips,
            "",
            tr.gettext("If you see a hazard, report it with the button below."),
        ]
        on_the_day = Outgoing("\n".join(today), buttons)
        return Outgoing("\n".join(eve), buttons, later=(starts, on_the_day))

    return render


def due_days(services: Services, now: dt.datetime) -> list[Due]:
    """The awareness days whose reminder may be queued now, with when it goes out."""
    zone = services.settings.zone
    today = now.astimezone(zone).date()
    due = []
    for date in (today + DAY, today):
        opens = dt.datetime.combine(date - DAY, SEND_FROM, tzinfo=zone)
        send_at = mass_send_time(services, now, opens.astimezone(dt.UTC))
        if send_at.astimezone(zone).date() > date:
            continue  # after the day itself (late at night, past quiet hours): too late
        for day in services.city.awareness_days_on(date):
            due.append(Due(day, date, send_at))
    return due


def starts(services: Services, date: dt.date) -> dt.datetime:
    """The first moment of a day in the city."""
    zone = services.settings.zone
    return dt.datetime.combine(date, dt.time(0, 0), tzinfo=zone).astimezone(dt.UTC)


async def sweep_awareness(services: Services, now: dt.datetime) -> int:
    """Queue the reminders of tomorrow's awareness days (and today's, to catch up)."""
    queued = 0
    for due in due_days(services, now):
        queued += await queue_to_subscribers(
            services,
            now,
            due.key,
            awareness_message(due.day, starts(services, due.date)),
            send_at=due.send_at,
        )
    return queued
