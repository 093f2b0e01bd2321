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

from bot.buttons import Button, case_data
from bot.cards import Audience, Outgoing, cards, map_link, note_text
from bot.case_buttons import (
    Rows,
    answer_buttons,
    enterprise_buttons,
    extension_buttons,
    fixed_buttons,
    officer_buttons,
    photos_button,
    reporter_rows,
    review_ask_buttons,
    review_decision_buttons,
    triage_buttons,
)
from bot.i18n import N_, Translator
from bot.notify import Render
from bot.orders import OrderPhotos
from bot.plans import owes_plan, plan_due
from bot.services import Services
from bot.vocabulary.models import Case, Review, ReviewDecision, ReviewGround

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
        rows = [*buttons(tr, case), *reporter_rows(tr, case)]
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


def plan_sent(services: Services, case: Case, enterprise_name: str | None = None) -> Render:
    return officer_card(
        services,
        case,
        headline=N_("Rectification plan (治理方案) for case {number}"),
        enterprise_name=enterprise_name,
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
        if owes_plan(case):  # (a returned fix came after the plan)
            text += "\n" + _(
                "A major hazard: send the department your interim control measures (临时管控措施) "
                "within {hours} hours, and your rectification plan (治理方案) by {date}; the fix "
                "comes after the plan."
            ).format(
                hours=services.city.majors.measures_hours,
                date=cards(services).date(plan_due(services, case)),
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
    ("before"), on its day ("today"), once it passed ("overdue"), and again while it stays
    overdue under supervision ("supervised", ``days`` overdue)."""
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
        elif kind == "supervised":
            template = tr.ngettext(
                "Case {number} has been overdue for {days} day (its deadline was {date}) and is "
                "under supervision (挂牌督办): submit the fix now.",
                "Case {number} has been overdue for {days} days (its deadline was {date}) and is "
                "under supervision (挂牌督办): submit the fix now.",
                days,
            )
        else:
            template = tr.gettext(texts[kind])
        text = template.format(number=case.number, date=date, days=days)
        return Outgoing(text, enterprise_buttons(tr, case) if case.enterprise_id else [])

    return render


def reminder_card(
    services: Services, case: Case, kind: str, days: int, enterprise_name: str | None = None
) -> Render:
    """A deadline reminder to the department's officers, one message: the case's card (its
    place a map link) under the reminder. The department doing the fix itself is told what the
    enterprise would be; of an enterprise's case they hear only that it was reminded again
    while overdue under supervision."""
    fixer = deadline_reminder(services, case, kind, days)

    def below(tr: Translator) -> str:
        if case.enterprise_id is None:
            return fixer(tr).text
        return tr.ngettext(
            "Overdue for {days} day and under supervision (挂牌督办): the enterprise was "
            "reminded again.",
            "Overdue for {days} days and under supervision (挂牌督办): the enterprise was "
            "reminded again.",
            days,
        ).format(days=days)

    return officer_card(
        services,
        case,
        headline=N_("⏰ Reminder: case {number}"),
        extra=below,
        enterprise_name=enterprise_name,
    )


def major_step_reminder(services: Services, case: Case, step: str, due: dt.datetime) -> Render:
    """To a major hazard's enterprise: the interim control measures (``step`` "measures") or
    the rectification plan ("plan") the department still waits for."""
    show = cards(services)
    if step == "measures":
        text = N_(
            "Reminder: the department is waiting for the interim control measures (临时管控措施) "
            "of case {number}, due {due}: how the place is kept safe until it is fixed."
        )
        when = show.time(due)
    else:
        text = N_(
            "Reminder: the department is waiting for the rectification plan (治理方案) of case "
            "{number}, due {due}. The fix can be submitted only after it."
        )
        when = show.date(due)

    def render(tr: Translator) -> Outgoing:
        body = tr.gettext(text).format(number=case.number, due=when)
        return Outgoing(body, enterprise_buttons(tr, case))

    return render


# Review (复核): bot/review.py decides who is told ------------------------------------------------

REVIEW_DECISIONS: dict[ReviewDecision, str] = {
    ReviewDecision.UPHELD: N_("the department's decision stands"),
    ReviewDecision.REOPENED: N_("the case was reopened"),
}


def review_offer(tr: Translator) -> str:
    return tr.gettext(
        "If you think this is wrong, you may ask once for a review (复核) by a supervisor."
    )


def rejected_with_review(case: Case, note: str) -> Render:
    """The rejection, to its reporter: with the button to ask for a review."""
    plain = rejected(case, note)

    def render(tr: Translator) -> Outgoing:
        message = plain(tr)
        message.text += "\n" + review_offer(tr)
        message.buttons = review_ask_buttons(tr, case)
        return message

    return render


def measures_sent(services: Services, case: Case, enterprise_name: str | None) -> Render:
    return officer_card(
        services,
        case,
        headline=N_("Interim control measures (临时管控措施) for case {number}"),
        enterprise_name=enterprise_name,
    )


# The daily summary of reports waiting to be accepted: at most this many lines, and open
# buttons for the first few of them.
SUMMARY_LINES = 30
SUMMARY_BUTTONS = 10


def triage_summary(
    services: Services, department: str, waiting: list[Case], now: dt.datetime
) -> Render:
    """To a department's officers: the reports waiting to be accepted past the limit, oldest
    first, each with how long it waits, instead of a reminder per report."""
    show = cards(services)

    def age(tr: Translator, case: Case) -> str:
        hours = int((now - (case.routed_at or case.created_at)).total_seconds() // 3600)
        if hours < 48:
            return tr.ngettext("waiting {count} hour", "waiting {count} hours", hours).format(
                count=hours
            )
        days = hours // 24
        return tr.ngettext("waiting {count} day", "waiting {count} days", days).format(count=days)

    def render(tr: Translator) -> Outgoing:
        title = tr.ngettext(
            "📋 {department}: {count} report waiting to be accepted",
            "📋 {department}: {count} reports waiting to be accepted",
            len(waiting),
        ).format(department=html.escape(show.department(tr, department)), count=len(waiting))
        lines = [f"<b>{title}</b>", ""]
        for case in waiting[:SUMMARY_LINES]:
            category = html.escape(show.category(tr, case.category))
            district = html.escape(show.district(tr, case.district))
            line = f"• {case.number} · {category} · {district} · {age(tr, case)}"
            if case.escalated_at is not None:
                line += " · " + tr.gettext("under supervision (挂牌督办)")
            lines.append(line)
        more = len(waiting) - SUMMARY_LINES
        if more > 0:
            lines.append(
                tr.ngettext("… and {count} more", "… and {count} more", more).format(count=more)
            )
        lines += ["", tr.gettext("Open one below, or see them all with /queue.")]
        opened = [
            Button(case.number, case_data("open", case.id, case.version))
            for case in waiting[:SUMMARY_BUTTONS]
        ]
        rows: Rows = [list(opened[i : i + 2]) for i in range(0, len(opened), 2)]
        return Outgoing("\n".join(lines), rows)

    return render


def found_not_genuine(case: Case, *, offer: bool = True) -> Render:
    """To the reporter of a case closed as not genuine (不属实), with the button to ask for a
    review (``offer``: while they may)."""

    def render(tr: Translator) -> Outgoing:
        text = tr.gettext(
            "When closing case {number}, the department found your report not genuine (不属实): "
            "the hazard was not as reported, so the report earns no reward."
        ).format(number=case.number)
        if not offer:
            return Outgoing(text)
        return Outgoing(text + "\n" + review_offer(tr), review_ask_buttons(tr, case))

    return render


# Corrections: bot/corrections.py decides who is told ---------------------------------------------


def order_withdrawn(case: Case) -> Render:
    """To the enterprise whose order went to another: nothing more is asked of it (the other
    enterprise is not named)."""
    return reporter_update(
        case,
        N_(
            "The rectification order for case {number} was withdrawn by the department: you "
            "need do nothing more for it."
        ),
    )


def deadline_changed(case: Case, date: str) -> Render:
    """To the enterprise: the department set another deadline."""

    def render(tr: Translator) -> Outgoing:
        text = tr.gettext(
            "The department changed the deadline of case {number}: it must now be fixed by {date}."
        ).format(number=case.number, date=date)
        return Outgoing(text, enterprise_buttons(tr, case))

    return render


def review_requested(
    services: Services, case: Case, review: Review, rejection: str | None
) -> Render:
    """To the supervisors: the case as they see it, what the reporter asks to have reviewed
    (the rejection and its reason, or the closing as not genuine) and why, and the decision."""

    def render(tr: Translator) -> Outgoing:
        _ = tr.gettext
        now = services.clock.now()
        headline = _("Review (复核) asked for case {number}").format(number=case.number)
        if review.ground is ReviewGround.REJECTED:
            ground = _("Not accepted by the department. Its reason: {reason}").format(
                reason=html.escape(note_text(tr, rejection))
            )
        else:
            ground = _("Found not genuine (不属实) by the department when it closed the case.")
        lines = [
            "<b>" + headline + "</b>",
            "",
            cards(services).card(tr, case, Audience.SUPERVISOR, now),
            "",
            ground,
            _("The reporter's reason for a review: {reason}").format(
                reason=html.escape(review.reason)
            ),
            _("Uphold the department's decision, or reopen the case for the department?"),
        ]
        return Outgoing("\n".join(lines), review_decision_buttons(tr, case, review.id))

    return render


def review_decided_line(tr: Translator, decision: ReviewDecision) -> str:
    """Under the supervisors' card of a review, once it is decided."""
    return tr.gettext("Review decided: {decision}. The reporter is told.").format(
        decision=tr.gettext(REVIEW_DECISIONS[decision])
    )


def review_upheld(case: Case) -> Render:
    return reporter_update(
        case,
        N_(
            "A supervisor reviewed (复核) case {number} and upheld the department's decision. "
            "Thank you for reporting all the same."
        ),
    )


def review_reopened(case: Case) -> Render:
    """To the reporter and those following the case."""
    return reporter_update(
        case,
        N_(
            "A supervisor reviewed (复核) case {number} and reopened it: the department will "
            "look at it again. I will tell you at each change."
        ),
    )


def reopened_on_review(services: Services, case: Case, photos: list[str], reason: str) -> Render:
    """To the department's officers: the case back in their queue, and the reporter's reason."""

    def why(tr: Translator) -> str:
        return tr.gettext("The reporter's reason for a review: {reason}").format(
            reason=html.escape(reason)
        )

    return officer_card(
        services,
        case,
        headline=N_("Case {number} was reopened on review (复核) by a supervisor"),
        photos=photos,
        extra=why,
    )


def category_changed(services: Services, case: Case, *, moved: bool) -> Render:
    """To the reporter and those following the case: its category was corrected, and when the
    routing moved it, which department handles it now."""
    show = cards(services)

    def render(tr: Translator) -> Outgoing:
        text = (
            tr.gettext(
                "The category of your report {number} was corrected to {category}; it is now "
                "handled by {department}."
            )
            if moved
            else tr.gettext("The category of your report {number} was corrected to {category}.")
        )
        return Outgoing(
            text.format(
                number=case.number,
                category=html.escape(show.category(tr, case.category)),
                department=html.escape(show.department(tr, case.department)),
            )
        )

    return render
