"""What each party is told when a case changes, in the reader's language.

Each function returns a :data:`bot.notify.Render`: the actions (bot/triage.py,
bot/rectification.py, bot/verification.py, bot/questions.py, bot/escalation.py) decide who is
told and when; the wording, the card and the buttons are here. Who sees what of a case is
decided in bot/visibility.py and drawn by the cards (bot/cards.py): an enterprise's order is in
the department's words, with the photos the officer chose (bot/orders.py).
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Callable

from bot.cards import Audience, Outgoing, cards, map_link, note_text
from bot.case_buttons import (
    Rows,
    answer_buttons,
    enterprise_buttons,
    extension_buttons,
    fixed_buttons,
    officer_buttons,
    photos_button,
    triage_buttons,
)
from bot.i18n import N_, Translator
from bot.notify import Render
from bot.orders import OrderPhotos
from bot.plans import needs_plan
from bot.services import Services
from bot.vocabulary.models import Case

# To the department's officers --------------------------------------------------------------


def officer_card(
    services: Services,
    case: Case,
    *,
    headline: str,
    photos: list[str] | None = None,
    buttons: Callable[[Translator, Case], Rows] = officer_buttons,
    extra: str | Callable[[Translator], str] = "",
    enterprise_name: str | None = None,
) -> Render:
    """A case card for officers, after a headline (a msgid with {number}), and ``extra``
    (HTML, or made in the officer's language) below it.

    It shows the first of ``photos`` (a channel may send the card as its caption: one message
    for a burst of new cases, within Telegram's one a second to a chat) and, when there are
    more, the button that sends them all; the map point is a link in the card."""

    def render(tr: Translator) -> Outgoing:
        now = services.clock.now()
        text = "<b>" + tr.gettext(headline).format(number=case.number) + "</b>\n\n"
        text += cards(services).card(
            tr, case, Audience.OFFICER, now, enterprise_name=enterprise_name
        )
        below = extra(tr) if callable(extra) else extra
        if below:
            text += "\n\n" + below
        rows = buttons(tr, case)
        if len(photos or []) > 1:
            rows = [*rows, [photos_button(tr, case)]]
        return Outgoing(text, rows, (photos or [])[:1])

    return render


def new_case(services: Services, case: Case, photos: list[str]) -> Render:
    headline = (
        N_("New self-reported hazard {number}") if case.self_reported else N_("New report {number}")
    )
    return officer_card(services, case, headline=headline, photos=photos)


def transferred_in(
    services: Services, case: Case, photos: list[str], from_department: str, reason: str
) -> Render:
    """To the officers of the department a case was passed to, with who passed it and why."""
    name_of = cards(services).department

    def why(tr: Translator) -> str:
        return tr.gettext("Passed on by {department}: {reason}").format(
            department=html.escape(name_of(tr, from_department)), reason=html.escape(reason)
        )

    return officer_card(
        services,
        case,
        headline=N_("Case {number} was passed to your department"),
        photos=photos,
        extra=why,
    )


def plan_sent(services: Services, case: Case) -> Render:
    return officer_card(
        services, case, headline=N_("Rectification plan (治理方案) for case {number}")
    )


def fix_submitted(
    services: Services, case: Case, photos: list[str], enterprise_name: str | None
) -> Render:
    return officer_card(
        services,
        case,
        headline=N_("Fix submitted for case {number}"),
        photos=photos,
        enterprise_name=enterprise_name,
    )


def extension_requested(
    services: Services, case: Case, enterprise_name: str | None, *, late: bool
) -> Render:
    """The enterprise's request for more time; ``late`` when it came after the deadline."""
    deadline = cards(services).date(case.deadline)

    def after_deadline(tr: Translator) -> str:
        if not late:
            return ""
        return tr.gettext("⏰ Asked for after the deadline ({date}) had passed.").format(
            date=deadline
        )

    return officer_card(
        services,
        case,
        headline=N_("Extension requested for case {number}"),
        buttons=extension_buttons,
        extra=after_deadline,
        enterprise_name=enterprise_name,
    )


def reopened(services: Services, case: Case, photo: str | None, note: str | None) -> Render:
    """The reporter says it is not fixed: their words and photo, if they gave them."""
    return officer_card(
        services,
        case,
        headline=N_("The reporter says case {number} is not fixed"),
        photos=[photo] if photo else [],
        extra=html.escape(note) if note else "",
    )


def supervised(services: Services, case: Case) -> Render:
    return officer_card(
        services, case, headline=N_("Case {number} is now under supervision (挂牌督办)")
    )


def answered(
    case: Case,
    question: str,
    answer: str | None,
    photo: str | None,
    location: tuple[float, float] | None,
) -> Render:
    """The reporter's answer, to the officer who asked."""

    def render(tr: Translator) -> Outgoing:
        _ = tr.gettext
        lines = [
            _("The reporter of {number} answered your question.").format(number=case.number),
            _("Question: {value}").format(value=html.escape(question)),
        ]
        if answer:
            lines.append(_("Answer: {value}").format(value=html.escape(answer)))
        if location:
            lines.append(_("Place: {value}").format(value=map_link(*location)))
        return Outgoing("\n".join(lines), [], [photo] if photo else [])

    return render


# To the enterprise ---------------------------------------------------------------------------


def rectification_order(services: Services, case: Case, photos: OrderPhotos) -> Render:
    """整改通知: what the enterprise must fix (in the department's words), where, by when;
    nothing about who reported it, nor when.

    ``photos`` are the order's (bot/orders.order_photos: those the officer chose), the stored
    copies stripped of all metadata by the photo pipeline.
    """

    def render(tr: Translator) -> Outgoing:
        _ = tr.gettext
        now = services.clock.now()
        text = (
            "<b>"
            + _("Rectification order (整改通知) for case {number}").format(number=case.number)
            + "</b>\n\n"
            + cards(services).card(tr, case, Audience.ENTERPRISE, now)
            + "\n\n"
            + _(
                "Please remove this hazard by {date} and submit photos of the fix. "
                "If you need more time, ask before the deadline."
            ).format(date=cards(services).date(case.deadline))
        )
        if needs_plan(case):
            text += "\n" + _(
                "A major hazard: first send the department your rectification plan (治理方案)."
            )
        return Outgoing(text, enterprise_buttons(tr, case), photos)

    return render


def returned_order(
    services: Services, case: Case, photos: OrderPhotos, reason: str, date: str
) -> Render:
    """The order again, after why the fix was not accepted and by when to fix it now."""
    order = rectification_order(services, case, photos)

    def render(tr: Translator) -> Outgoing:
        message = order(tr)
        message.text = (
            "<b>"
            + tr.gettext("The fix of case {number} was not accepted.").format(number=case.number)
            + "</b>\n"
            + tr.gettext("Reason: {reason}").format(reason=html.escape(reason))
            + "\n"
            + tr.gettext("New deadline: {date}").format(date=date)
            + "\n\n"
            + message.text
        )
        return message

    return render


def extension_decided(case: Case, granted: bool, date: str) -> Render:
    text = (
        N_("More time for case {number} was granted: the new deadline is {date}.")
        if granted
        else N_("More time for case {number} was refused: the deadline stays {date}.")
    )
    return reporter_update(case, text, "", date)


def supervision_notice(case: Case) -> Render:
    def render(tr: Translator) -> Outgoing:
        text = tr.gettext(
            "Case {number} is now under supervision (挂牌督办) by the city. Please fix it "
            "without delay and submit the fix."
        ).format(number=case.number)
        return Outgoing(text, enterprise_buttons(tr, case))

    return render


# To the reporter and those following the case -----------------------------------------------


def reporter_update(case: Case, text: str, *params: object) -> Render:
    """A status message to a reporter: a msgid with the case number and extra values."""

    def render(tr: Translator) -> Outgoing:
        values = {"number": case.number}
        names = ("department", "date", "reason", "target")
        values.update({k: str(v) for k, v in zip(names, params, strict=False)})
        body = tr.gettext(text).format(**values)
        return Outgoing(body)

    return render


def accepted(services: Services, case: Case) -> Render:
    department = cards(services).department
    return lambda tr: Outgoing(
        tr.gettext(
            "Your report {number} was accepted by {department}. "
            "I will tell you when the rectification is ordered."
        ).format(number=case.number, department=department(tr, case.department))
    )


def rejected(case: Case, note: str) -> Render:
    """The reason is an officer's words or a reason code ("@code"), shown in the reader's
    language."""
    return lambda tr: Outgoing(
        tr.gettext(
            "Your report {number} was not accepted. The department's reason: {reason}"
        ).format(number=case.number, reason=html.escape(note_text(tr, note)))
        + "\n"
        + tr.gettext("Thank you for reporting all the same.")
    )


def transferred(services: Services, case: Case) -> Render:
    name_of = cards(services).department
    return lambda tr: Outgoing(
        tr.gettext("Your report {number} was passed to {department}.").format(
            number=case.number, department=name_of(tr, case.department)
        )
    )


def merged(case: Case, target: str) -> Render:
    return lambda tr: Outgoing(
        tr.gettext(
            "Your report {number} is about the same hazard as case {target}, which "
            "is already being handled. You now follow {target} and will get its "
            "updates."
        ).format(number=case.number, target=target)
    )


def ordered(case: Case, date: str) -> Render:
    return lambda tr: Outgoing(
        tr.gettext(
            "Rectification of your report {number} was ordered, to be done by {date}."
        ).format(number=case.number, date=date)
    )


def fix_in_review(case: Case) -> Render:
    return reporter_update(case, N_("The fix of {number} was submitted and is being checked."))


def fix_returned(case: Case, date: str) -> Render:
    return reporter_update(
        case,
        N_("The fix of {number} was checked and not accepted; it must be fixed again by {date}."),
        "",
        date,
    )


def deadline_extended(case: Case, date: str) -> Render:
    return reporter_update(
        case, N_("The deadline to fix {number} was extended to {date}."), "", date
    )


def closed(case: Case) -> Render:
    """To the enterprise, the reporter (when not asked) and the followers."""
    return reporter_update(
        case, N_("Case {number} was verified as fixed and closed (销号). Thank you.")
    )


def closed_question(case: Case) -> Render:
    """The reporter is asked once whether the hazard is really gone."""

    def render(tr: Translator) -> Outgoing:
        text = tr.gettext(
            "Your report {number} was fixed, checked by the department and closed (销号). "
            "Thank you! Is the hazard really gone?"
        ).format(number=case.number)
        return Outgoing(text, fixed_buttons(tr, case))

    return render


def question(case: Case, question_id: int, text: str) -> Render:
    """A department's question about the report, with the button to answer it."""

    def render(tr: Translator) -> Outgoing:
        body = tr.gettext(
            "The department handling your report {number} asks:\n\n{question}"
        ).format(number=case.number, question=html.escape(text))
        return Outgoing(body, answer_buttons(tr, question_id))

    return render


# To the supervisors --------------------------------------------------------------------------


def supervision_card(services: Services, case: Case, reason: str, now: dt.datetime) -> Render:
    """The case put under supervision (挂牌督办), and why (a msgid)."""

    def render(tr: Translator) -> Outgoing:
        headline = tr.gettext("Case {number} is now under supervision (挂牌督办): {reason}.")
        text = "<b>" + headline.format(number=case.number, reason=tr.gettext(reason)) + "</b>"
        body = cards(services).card(tr, case, Audience.SUPERVISOR, now)
        return Outgoing(text + "\n\n" + body)

    return render


# Reminders: bot/reminders.py decides which is due and who gets it ---------------------------------


def triage_reminder(services: Services, case: Case) -> Render:
    """To the department's officers: a report nobody has accepted yet."""
    return officer_card(
        services,
        case,
        headline=N_("Reminder: case {number} is waiting to be accepted"),
        buttons=triage_buttons,
    )


def deadline_reminder(services: Services, case: Case, kind: str, days: int) -> Render:
    """To whoever must fix the case, by the rung's ``kind``: ``days`` before the deadline
    ("before"), on its day ("today"), or once it passed ("overdue")."""
    date = cards(services).date(case.deadline)
    texts = {
        "today": N_("Today is the deadline of case {number}: it must be fixed by tonight."),
        "overdue": N_(
            "Case {number} is overdue: its deadline was {date}. Submit the fix now; an overdue "
            "case is put under supervision (挂牌督办)."
        ),
        # Once under supervision (a red case from its order, or escalated before the notice
        # could go out in the morning), "will be" would contradict what the enterprise was told.
        "overdue-supervised": N_(
            "Case {number} is overdue: its deadline was {date}. It is under supervision "
            "(挂牌督办): submit the fix now."
        ),
    }
    if kind == "overdue" and case.escalated_at is not None:
        kind = "overdue-supervised"

    def render(tr: Translator) -> Outgoing:
        if kind == "before":
            template = tr.ngettext(
                "Reminder: case {number} must be fixed by {date} ({days} day left).",
                "Reminder: case {number} must be fixed by {date} ({days} days left).",
                days,
            )
        else:
            template = tr.gettext(texts[kind])
        text = template.format(number=case.number, date=date, days=days)
        return Outgoing(text, enterprise_buttons(tr, case) if case.enterprise_id else [])

    return render
