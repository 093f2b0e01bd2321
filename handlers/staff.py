"""What the staff features show alike in Telegram: the staff card of a case, keyboards, list
pages with their « Previous / Next » buttons, and a case's photos.

Shared by handlers/department.py (officers), handlers/enterprise.py (enterprise contacts) and
handlers/supervisor.py; the data comes from the core (bot/casefile.py, bot/queue.py,
bot/tasks.py, bot/stats.py).
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Sequence
from typing import cast

from bot import case_buttons, identity, members, reward_notices
from bot.buttons import Pressed, Space, decode, encode
from bot.cards import COLOUR_LABELS, Audience, Outgoing, cards, shorten
from bot.casefile import StaffView, staff_view
from bot.i18n import N_
from bot.labels import STATUS_LABELS
from bot.tg.context import Context
from bot.tg.photos import send_stored
from bot.vocabulary.grading import Colour
from bot.vocabulary.lifecycle import Status
from bot.vocabulary.models import Case

Rows = list[list[tuple[str, str]]]

# A case card opened from a list ("open" with the arguments KEY, PAGE) gets a button back to
# that page of it; the list's own callback re-checks who may read it.
FROM_QUEUE, FROM_OVERDUE = "q", "ov"
LISTS = {FROM_QUEUE: Space.QUEUE, FROM_OVERDUE: Space.OVERDUE}


def render_card(context: Context, view: StaffView) -> Outgoing:
    """The card a staff member sees, with the buttons their role has at this state."""
    case, audience = view.case, view.audience
    text = cards(context.services).card(
        context.tr,
        case,
        audience,
        context.clock.now(),
        enterprise_name=view.enterprise_name,
        photo_count=view.photo_count,
    )
    if view.reward is not None:
        text += "\n" + reward_notices.status_line(context.tr, view.reward)
    buttons: Rows = []
    if audience is Audience.OFFICER:
        buttons = case_buttons.officer_buttons(context.tr, case)
        buttons += case_buttons.reporter_rows(context.tr, case)
    elif audience is Audience.ENTERPRISE and case.status is Status.ASSIGNED:
        buttons = case_buttons.enterprise_buttons(context.tr, case)
    return Outgoing(text, buttons)


async def staff_card(context: Context, case: Case, audience: Audience) -> Outgoing:
    return render_card(context, await staff_view(context.services, case, audience))


# Lists a page at a time ------------------------------------------------------------------------


def page_data(space: Space, page: int, *args: object) -> str:
    """The data of a list's button: ``qu:1:PAGE`` turns to a page, ``tk:1:PAGE:CASE`` opens a
    case of that page."""
    return encode(space, str(page), *args)


def page_numbers(data: str | None, space: Space) -> list[int] | None:
    """The numbers of a list's button (the page, and what it opens), or None when the data is
    not the list's or a part of it is not a number."""
    pressed = decode(data)
    if pressed is None or pressed.space is not space:
        return None
    return numbers([pressed.action, *pressed.args])


def numbers(parts: Sequence[str]) -> list[int] | None:
    """Parts of a button's data read as ids or pages; None when one of them is not one."""
    held = Pressed(Space.CASE, "", tuple(parts))
    read = [held.number(index) for index in range(len(parts))]
    if any(number is None for number in read):
        return None
    return cast(list[int], read)


def paged(
    context: Context,
    lines: list[str],
    buttons: list[tuple[str, str]],
    space: Space,
    page: int,
    pages: int,
    *tail: object,
) -> tuple[str, Rows]:
    """A list page: its lines, its buttons two a row, and when there are several pages the page
    number and « Previous / Next » (their data ends with ``tail``: what the list is of)."""
    _ = context.gettext
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    if pages > 1:
        lines = [*lines, "(" + _("page {page} of {pages}").format(page=page + 1, pages=pages) + ")"]
        turn = []
        if page > 0:
            turn.append((_("« Previous"), page_data(space, page - 1, *tail)))
        if page < pages - 1:
            turn.append((_("Next »"), page_data(space, page + 1, *tail)))
        rows.append(turn)
    return "\n".join(lines), rows


# Lines of a list of cases (the queue, a search) ---------------------------------------------------

# Marks at the end of a case's line, and what each means (a legend under the list).
RED, SUPERVISED, REOPENED, OVERDUE = "🔴", "📌", "⚠️", "⏰"
PLACE_ROOM = 32  # of an address in a line, in UTF-16 units


def marks(case: Case, now: dt.datetime) -> list[str]:
    """What needs attention about a case: red, under supervision, reopened, overdue."""
    shown = []
    if case.colour is Colour.RED:
        shown.append(RED)
    if case.escalated_at is not None:
        shown.append(SUPERVISED)
    if case.reopened:
        shown.append(REOPENED)
    if case.overdue(now):
        shown.append(OVERDUE)
    return shown


def age(context: Context, since: dt.datetime, now: dt.datetime) -> str:
    """How long ago, in days (in hours on its first day)."""
    elapsed = now - since
    days = elapsed // dt.timedelta(days=1)
    if days >= 1:
        return context.ngettext("{n} day ago", "{n} days ago", days).format(n=days)
    hours = max(1, elapsed // dt.timedelta(hours=1))
    return context.ngettext("{n} hour ago", "{n} hours ago", hours).format(n=hours)


def case_line(context: Context, case: Case, now: dt.datetime) -> str:
    """A case in a list: number, category, district, place, status, age and marks; never who
    reported it."""
    show = cards(context.services)
    parts = [case.number, html.escape(show.category(context.tr, case.category))]
    if case.district:
        parts.append(html.escape(show.district(context.tr, case.district)))
    if case.address:
        parts.append(html.escape(shorten(case.address, PLACE_ROOM)))
    parts.append(context.gettext(STATUS_LABELS[case.status]))
    parts.append(age(context, case.created_at, now))
    flags = "".join(marks(case, now))
    return "• " + " · ".join(parts) + (" " + flags if flags else "")


def legend(context: Context, cases: Sequence[Case], now: dt.datetime) -> str | None:
    """What the marks on these lines mean; None when there are none."""
    _ = context.gettext
    meaning = {
        RED: _(COLOUR_LABELS[Colour.RED]),
        SUPERVISED: SUPERVISED + " " + _("under supervision (挂牌督办)"),
        REOPENED: REOPENED + " " + _("the reporter says it is not fixed"),
        OVERDUE: OVERDUE + " " + _("overdue"),
    }
    seen = {mark for case in cases for mark in marks(case, now)}
    return " · ".join(text for mark, text in meaning.items() if mark in seen) or None


# Who was shown the reporter (bot/identity.py) ----------------------------------------------------

# The newest entries of a case's identity log that are shown (/case, /identitylog).
LOGGED_SHOWN = 10
PURPOSES = {
    identity.IdentityPurpose.CASE: N_("an officer of the case"),
    identity.IdentityPurpose.PAYOUT: N_("the reward payout"),
}


def identity_log(context: Context, reads: list[identity.Reader]) -> str:
    """Who was shown a case's reporter, when and why (for its supervisors and the admins)."""
    _ = context.gettext
    if not reads:
        return _("Nobody has been shown who reported it.")
    show = cards(context.services)
    lines = [_("Shown who reported it:")]
    if len(reads) > LOGGED_SHOWN:
        left_out = len(reads) - LOGGED_SHOWN
        lines.append(
            context.ngettext(
                "… {n} earlier look, not shown", "… {n} earlier looks, not shown", left_out
            ).format(n=left_out)
        )
    for entry in reads[-LOGGED_SHOWN:]:
        who = members.member_name(entry.member) if entry.member else _("a former staff member")
        lines.append(
            f"{show.time(entry.read.at)} · {html.escape(who)} · {_(PURPOSES[entry.read.purpose])}"
        )
    return "\n".join(lines)


# Photos ----------------------------------------------------------------------------------------


async def send_photos(context: Context, hashes: list[str]) -> None:
    """Send stored photos to the user, by the file ids Telegram has where it has them."""
    await send_stored(context.bot, context.services, context.account.id, hashes)
