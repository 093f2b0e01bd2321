"""The closed loop: every change of a case, checked, logged and announced in one transaction.

Each operation loads the case inside a write transaction, checks that the actor may do it (role,
department or enterprise, and the case's current state and version), changes the case, appends
one event, and queues the notifications of everyone concerned in the outbox: all or nothing.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import html
import re
import unicodedata
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from bot.accounts import Account
from bot.cards import COLOUR_LABELS, Audience, Cards, Outgoing, note_text
from bot.errors import InputMistake, NotAllowed, ShaoziError
from bot.i18n import N_, Translator, resolve_language
from bot.labels import LEVEL_LABELS, STATUS_LABELS
from bot.photos import hamming
from bot.quiet import allowed_from
from bot.services import Services
from bot.vocabulary.grading import Colour
from bot.vocabulary.lifecycle import Action, Level, Status, next_status
from bot.vocabulary.models import Case
from bot.vocabulary.roles import Role
from storage.db import Session

# Fix photos this close to a hazard photo (in bits of the 64-bit hash) are flagged.
FIX_MATCH_BITS = 6
MAX_REASON = 500
MAX_QUESTION = 1000


class CaseNotFound(ShaoziError):
    message = N_("There is no case {number} that you can see.")


class CaseMovedOn(ShaoziError):
    message = N_("This case has moved on (it is now: {status}). Nothing was changed.")
    translated = ("status",)


class NotThisStep(ShaoziError):
    message = N_("This cannot be done while the case is {status}.")
    translated = ("status",)


class ExtensionTooShort(InputMistake):
    message = N_("Please give a date after the current deadline ({date}).")


class ReasonTooLong(InputMistake):
    message = N_("Please keep it under {maximum} characters.")


class ExtensionPending(ShaoziError):
    message = N_(
        "Your request for more time on case {number} (until {date}) is still waiting for the "
        "department's answer."
    )


class MergeTargetInvalid(InputMistake):
    message = N_("This report cannot be merged into case {number}: choose another open case.")


class DeadlineInvalid(InputMistake):
    message = N_("Please give a date after today, like {example}.")


class DateUnreadable(InputMistake):
    message = N_("Type the date, like {example}.")


# Who may act -----------------------------------------------------------------------------


def is_case_officer(account: Account, case: Case) -> bool:
    return case.department in account.departments(Role.OFFICER)


def is_case_enterprise(account: Account, case: Case) -> bool:
    return case.enterprise_id is not None and case.enterprise_id in account.enterprises()


def is_case_supervisor(account: Account, case: Case) -> bool:
    scopes = [m.department for m in account.memberships if m.role is Role.SUPERVISOR]
    return any(scope is None or scope == case.department for scope in scopes)


def can_view(account: Account, case: Case) -> bool:
    """Staff in scope: the case's officers, its enterprise's contacts, its supervisors."""
    return (
        is_case_officer(account, case)
        or is_case_supervisor(account, case)
        or is_case_enterprise(account, case)
    )


def audience_of(account: Account, case: Case) -> Audience:
    if is_case_officer(account, case):
        return Audience.OFFICER
    if is_case_supervisor(account, case):
        return Audience.SUPERVISOR
    if is_case_enterprise(account, case):
        return Audience.ENTERPRISE
    return Audience.REPORTER


# Notifications ------------------------------------------------------------------------------

Render = Callable[[Translator], Outgoing]


class Notifier:
    """Queues messages in the outbox of the transaction, each in its reader's language."""

    def __init__(self, tx: Session, services: Services, now: dt.datetime) -> None:
        self.tx, self.services, self.now = tx, services, now
        self._default = services.city.city.default_language

    def send_time(self, quiet: bool, not_before: dt.datetime | None = None) -> dt.datetime:
        """When a message may go: at once, or (``quiet``) inside the city's sending window."""
        moment = max(self.now, not_before or self.now)
        if not quiet:
            return moment
        city, zone = self.services.city, self.services.settings.zone
        return allowed_from(moment, city.quiet_hours, zone)

    async def user(
        self,
        user_id: int,
        key: str,
        render: Render,
        *,
        not_before: dt.datetime | None = None,
        quiet: bool = False,
        broadcast_id: int | None = None,
    ) -> bool:
        """Queue a message to one user in their language; False if blocked or already queued."""
        row = await self.tx.users.get(user_id)
        if row is None or row.blocked_at is not None:
            return False
        language = resolve_language(row.language, row.telegram_language, self._default)
        message = render(self.services.catalogs.translator(language))
        return await self.tx.outbox.add(
            user_id,
            message.payload(),
            f"{key}:{user_id}",
            self.now,
            self.send_time(quiet, not_before),
            broadcast_id=broadcast_id,
            quiet=quiet,
        )

    async def group(self, chat_id: int, key: str, render: Render, *, quiet: bool = False) -> None:
        """A group chat, in the city's default language."""
        message = render(self.services.catalogs.translator(self._default))
        await self.tx.outbox.add(
            chat_id,
            message.payload(),
            f"{key}:{chat_id}",
            self.now,
            self.send_time(quiet),
            quiet=quiet,
        )

    async def department(self, code: str, key: str, render: Render, *, quiet: bool = False) -> int:
        """Every officer of a department, and its group chat if it has one."""
        officers = await self.tx.users.members(Role.OFFICER.value, department=code)
        for user_id in officers:
            await self.user(user_id, key, render, quiet=quiet)
        group = await self.department_group(code)
        if group is not None:
            await self.group(group, key, render, quiet=quiet)
        return len(officers)

    async def department_group(self, code: str) -> int | None:
        """The department's group chat: bound in chat (/setgroup), else from the city file."""
        bound = await self.tx.departments.group_chat(code)
        if bound is not None:
            return bound
        department = self.services.city.department(code)
        return department.group_chat_id if department is not None else None

    async def officers(self, case: Case, key: str, render: Render, *, quiet: bool = False) -> int:
        return await self.department(case.department, key, render, quiet=quiet)

    async def supervisors(
        self, department: str, key: str, render: Render, *, quiet: bool = False
    ) -> int:
        """City-wide supervisors and those of the department."""
        supervisors = await self.tx.users.supervisors_for(department)
        for user_id in supervisors:
            await self.user(user_id, key, render, quiet=quiet)
        return len(supervisors)

    async def enterprise(self, case: Case, key: str, render: Render, *, quiet: bool = False) -> int:
        """The contacts of the case's enterprise."""
        if case.enterprise_id is None:
            return 0
        contacts = await self.tx.users.members(
            Role.ENTERPRISE.value, enterprise_id=case.enterprise_id
        )
        for user_id in contacts:
            await self.user(user_id, key, render, quiet=quiet)
        return len(contacts)

    async def participants(
        self, case: Case, key: str, render: Render, *, quiet: bool = True
    ) -> None:
        """The reporter and the co-reporters following the case: news of their case waits
        for the city's sending window, like every message that is not urgent."""
        for user_id in await self.tx.cases.participants(case.id):
            await self.user(user_id, key, render, quiet=quiet)


# Buttons put on notifications (the handlers answer them) ----------------------------------------


def case_data(action: str, case: Case, *args: object) -> str:
    """Callback data of a case button: it names the case and the version it was made for."""
    return ":".join(["cs", "1", action, str(case.id), str(case.version), *map(str, args)])


def triage_buttons(tr: Translator, case: Case) -> list[list[tuple[str, str]]]:
    _ = tr.gettext
    if case.self_reported:
        first = [
            (_("✅ Acknowledge the proposed deadline"), case_data("ack", case)),
            (_("📅 Set another deadline"), case_data("ackd", case)),
        ]
    else:
        first = [(_("✅ Accept"), case_data("acc", case))]
    last = [(_("🔁 Duplicate of…"), case_data("dup", case))]
    if not case.self_reported:  # a self-report's reporter is the enterprise itself
        last.append((_("❓ Ask the reporter"), case_data("ask", case)))
    return [
        first,
        [(_("✖ Reject"), case_data("rej", case)), (_("↪ Transfer"), case_data("trf", case))],
        last,
    ]


def assign_buttons(tr: Translator, case: Case) -> list[list[tuple[str, str]]]:
    _ = tr.gettext
    rows = [
        [(_("🏭 Order an enterprise to fix it"), case_data("asg", case))],
        [(_("🛠 The department handles it itself"), case_data("hdl", case))],
    ]
    if not case.self_reported:
        rows.append([(_("❓ Ask the reporter"), case_data("ask", case))])
    return rows


def verify_buttons(tr: Translator, case: Case) -> list[list[tuple[str, str]]]:
    _ = tr.gettext
    return [
        [(_("✅ Verified: close the case (销号)"), case_data("cls", case))],
        [(_("↩ Not fixed: return it"), case_data("ret", case))],
    ]


def extension_buttons(tr: Translator, case: Case) -> list[list[tuple[str, str]]]:
    _ = tr.gettext
    return [
        [
            (_("✅ Grant the extension"), case_data("exy", case)),
            (_("✖ Refuse it"), case_data("exn", case)),
        ]
    ]


def needs_plan(case: Case) -> bool:
    """A major hazard (red, or 重大) ordered to an enterprise owes a rectification plan (治理方案);
    a self-report brought its own."""
    major = case.colour is Colour.RED or case.level is Level.MAJOR
    return major and case.enterprise_id is not None and not case.self_reported


def enterprise_buttons(tr: Translator, case: Case) -> list[list[tuple[str, str]]]:
    _ = tr.gettext
    rows = [
        [(_("📷 Submit the fix"), case_data("fix", case))],
        [(_("⏳ Ask for more time"), case_data("ext", case))],
    ]
    if needs_plan(case) and not case.plan:
        rows.insert(0, [(_("📋 Send the rectification plan"), case_data("plan", case))])
    return rows


def officer_buttons(tr: Translator, case: Case) -> list[list[tuple[str, str]]]:
    """The buttons an officer's card of this case has, by its state."""
    if case.status is Status.SUBMITTED:
        return triage_buttons(tr, case)
    if case.status is Status.ACCEPTED:
        return assign_buttons(tr, case)
    if case.status is Status.FIX_SUBMITTED:
        return verify_buttons(tr, case)
    if case.status is Status.ASSIGNED and case.extension_until is not None:
        return extension_buttons(tr, case)
    if case.status is Status.ASSIGNED and case.handled_by_department:
        return [[(tr.gettext("📷 Record the fix"), case_data("fix", case))]]
    return []


# The engine ------------------------------------------------------------------------------------


@dataclass
class Change:
    """What a transition does besides its status: columns, note, and who is told what."""

    values: dict[str, Any]
    note: str | None = None
    announce: Callable[[Notifier, Case, int], Awaitable[None]] | None = None


Authorize = Callable[[Account, Case], bool]


async def transition(
    services: Services,
    actor: Account,
    case_id: int,
    version: int | None,
    action: Action,
    authorize: Authorize,
    change: Callable[[Session, Case], Awaitable[Change]],
) -> Case:
    """Apply one action to a case, or raise a ShaoziError saying why it was not applied."""
    now = services.clock.now()
    async with services.db.transaction() as tx:
        case = await tx.cases.get(case_id)
        if case is None or not authorize(actor, case):
            # Someone without a right to the case learns nothing about it, not even its state.
            raise NotAllowed()
        if version is not None and case.version != version:
            raise CaseMovedOn(status=_status_msgid(case))
        target = next_status(action, case.status)
        if target is None:
            raise NotThisStep(status=_status_msgid(case))
        planned = await change(tx, case)
        values: dict[str, Any] = {"status": target, **planned.values}
        if target is not Status.ASSIGNED and case.extension_until is not None:
            # A request for more time lives only while the fix is awaited: once the fix is in
            # (or the case moves elsewhere) its Grant button must not move a newer deadline.
            values.update(extension_until=None, extension_reason=None)
        if not await tx.cases.update(case.id, case.version, now, values):
            raise CaseMovedOn(status=_status_msgid(case))
        event_id = await tx.cases.add_event(
            case.id, now, actor.id, action.value, case.status.value, target.value, planned.note
        )
        updated = await tx.cases.get(case.id)
        assert updated is not None
        if planned.announce is not None:
            await planned.announce(Notifier(tx, services, now), updated, event_id)
    return updated


def _status_msgid(case: Case) -> str:
    # Rendered by ShaoziError.render with the reader's gettext, placeholders included.
    return STATUS_LABELS[case.status]


def cards(services: Services) -> Cards:
    return Cards(services.city, services.settings.zone)


def end_of_day(services: Services, days: int) -> dt.datetime:
    """The deadline ``days`` days from today: the end of that day in the city."""
    zone = services.settings.zone
    local = services.clock.now().astimezone(zone).date() + dt.timedelta(days=days)
    return dt.datetime.combine(local, dt.time(23, 59, 59), tzinfo=zone).astimezone(dt.UTC)


# How staff type dates: 2026-12-20, 2026/12/20, 2026.12.20, 12-20, 12/20, 12.20, 2026年12月20日,
# 12月20日, 12月20号 (號), with or without spaces. Matched after NFKC, which folds full-width
# digits and punctuation (１２／２０) to ASCII.
_TYPED_DATE = re.compile(
    r"(?:(?P<year>\d{4})\s*[-/.年]\s*)?(?P<month>\d{1,2})\s*[-/.月]\s*(?P<day>\d{1,2})\s*[日号號]?"
)


def parse_deadline(services: Services, text: str) -> dt.datetime:
    """A date typed by an officer or an enterprise, Western or Chinese style, after today.

    Without a year it is the next such date after today. A text that is not a date raises
    DateUnreadable; a date that is today, past or over a year away raises DeadlineInvalid.
    """
    zone = services.settings.zone
    today = services.clock.now().astimezone(zone).date()
    example = f"{today + dt.timedelta(days=7):%Y-%m-%d}"
    raw = unicodedata.normalize("NFKC", text).strip()
    match = _TYPED_DATE.fullmatch(raw)
    try:
        if match is None:
            # Other ISO 8601 forms (20261220, 2026-W51-7) were accepted before: keep them.
            date = dt.date.fromisoformat(raw.replace("/", "-").replace(".", "-"))
        elif match["year"] is not None:
            date = dt.date(int(match["year"]), int(match["month"]), int(match["day"]))
        else:
            date = _next_date(today, int(match["month"]), int(match["day"]))
    except ValueError:
        raise DateUnreadable(example=example) from None
    if date <= today or date > today + dt.timedelta(days=366):
        raise DeadlineInvalid(example=example)
    return dt.datetime.combine(date, dt.time(23, 59, 59), tzinfo=zone).astimezone(dt.UTC)


def _next_date(today: dt.date, month: int, day: int) -> dt.date:
    """The first date after today with this month and day."""
    for year in range(today.year, today.year + 9):  # 29 February recurs within eight years
        with contextlib.suppress(ValueError):
            if (date := dt.date(year, month, day)) > today:
                return date
    raise ValueError(f"no date has month {month} and day {day}")


def check_reason(text: str, maximum: int = MAX_REASON) -> str:
    text = " ".join(text.split())
    if not text or len(text) > maximum:
        raise ReasonTooLong(maximum=maximum)
    return text


# Messages to the reporter -------------------------------------------------------------------


def reporter_update(services: Services, case: Case, text: str, *params: object) -> Render:
    """A status message to a reporter: a msgid with the case number and extra values."""

    def render(tr: Translator) -> Outgoing:
        values = {"number": case.number}
        names = ("department", "date", "reason", "target")
        values.update({k: str(v) for k, v in zip(names, params, strict=False)})
        body = tr.gettext(text).format(**values)
        return Outgoing(body)

    return render


def officer_card(
    services: Services,
    case: Case,
    *,
    headline: str,
    photos: list[str] | None = None,
    buttons: Callable[[Translator, Case], list[list[tuple[str, str]]]] = officer_buttons,
    extra: str | Callable[[Translator], str] = "",
    enterprise_name: str | None = None,
) -> Render:
    """A case card for officers, after a headline (a msgid with {number}), and ``extra``
    (HTML, or made in the officer's language) below it."""

    def render(tr: Translator) -> Outgoing:
        now = services.clock.now()
        text = "<b>" + tr.gettext(headline).format(number=case.number) + "</b>\n\n"
        text += cards(services).card(
            tr, case, Audience.OFFICER, now, enterprise_name=enterprise_name
        )
        below = extra(tr) if callable(extra) else extra
        if below:
            text += "\n\n" + below
        location = None
        if case.latitude is not None and case.longitude is not None:
            location = (case.latitude, case.longitude)
        return Outgoing(text, buttons(tr, case), photos or [], location)

    return render


# Operations --------------------------------------------------------------------------------


async def announce_new_case(services: Services, tx: Session, case: Case, now: dt.datetime) -> int:
    """Send a newly submitted case to its department's officers; return how many."""
    photos = await tx.cases.photo_hashes(case.id)
    headline = (
        N_("New self-reported hazard {number}") if case.self_reported else N_("New report {number}")
    )
    render = officer_card(services, case, headline=headline, photos=photos)
    return await Notifier(tx, services, now).officers(case, f"new:{case.id}:{case.version}", render)


async def accept(
    services: Services, actor: Account, case_id: int, version: int, colour: Colour, level: Level
) -> Case:
    now = services.clock.now()

    async def change(tx: Session, case: Case) -> Change:
        async def announce(n: Notifier, updated: Case, event: int) -> None:
            department = cards(services).department
            await n.participants(
                updated,
                f"ev:{event}",
                lambda tr: Outgoing(
                    tr.gettext(
                        "Your report {number} was accepted by {department}. "
                        "I will tell you when the rectification is ordered."
                    ).format(number=updated.number, department=department(tr, updated.department))
                ),
            )

        return Change({"colour": colour, "level": level, "accepted_at": now}, announce=announce)

    return await transition(
        services, actor, case_id, version, Action.ACCEPT, is_case_officer, change
    )


async def reject(
    services: Services, actor: Account, case_id: int, version: int, reason: str
) -> Case:
    note = reason if reason.startswith("@") else check_reason(reason)

    async def change(tx: Session, case: Case) -> Change:
        async def announce(n: Notifier, updated: Case, event: int) -> None:
            await n.participants(
                updated,
                f"ev:{event}",
                lambda tr: Outgoing(
                    tr.gettext(
                        "Your report {number} was not accepted. The department's reason: {reason}"
                    ).format(number=updated.number, reason=html.escape(note_text(tr, note)))
                    + "\n"
                    + tr.gettext("Thank you for reporting all the same.")
                ),
            )

        return Change({}, note=note, announce=announce)

    return await transition(
        services, actor, case_id, version, Action.REJECT, is_case_officer, change
    )


async def transfer(
    services: Services,
    actor: Account,
    case_id: int,
    version: int,
    department: str,
    reason: str,
) -> Case:
    note = check_reason(reason)
    if services.city.department(department) is None:
        raise NotAllowed()

    async def change(tx: Session, case: Case) -> Change:
        if department == case.department:
            raise NotAllowed()

        async def announce(n: Notifier, updated: Case, event: int) -> None:
            photos = await n.tx.cases.photo_hashes(updated.id)
            name_of = cards(services).department

            def why(tr: Translator) -> str:
                return tr.gettext("Passed on by {department}: {reason}").format(
                    department=html.escape(name_of(tr, case.department)), reason=html.escape(note)
                )

            await n.officers(
                updated,
                f"ev:{event}",
                officer_card(
                    services,
                    updated,
                    headline=N_("Case {number} was passed to your department"),
                    photos=photos,
                    extra=why,
                ),
            )
            await n.participants(
                updated,
                f"ev:{event}",
                lambda tr: Outgoing(
                    tr.gettext("Your report {number} was passed to {department}.").format(
                        number=updated.number, department=name_of(tr, updated.department)
                    )
                ),
            )

        values = {"department": department, "routed_at": services.clock.now()}
        return Change(values, note=note, announce=announce)

    return await transition(
        services, actor, case_id, version, Action.TRANSFER, is_case_officer, change
    )


async def merge(
    services: Services, actor: Account, case_id: int, version: int, target_number: str
) -> Case:
    number = target_number.strip().upper()

    async def change(tx: Session, case: Case) -> Change:
        target = await tx.cases.by_number(number)
        # Only into an open case this officer may see: another department's case is as unknown
        # to them as a number that does not exist (its reporter's followers would read it).
        if (
            target is None
            or target.id == case.id
            or not is_case_officer(actor, target)
            or target.status in (Status.CLOSED, Status.REJECTED, Status.MERGED)
        ):
            raise MergeTargetInvalid(number=html.escape(number))
        now = services.clock.now()
        for user_id in await tx.cases.participants(case.id):
            if user_id != target.reporter_id:
                await tx.cases.add_follower(target.id, user_id, now)

        async def announce(n: Notifier, updated: Case, event: int) -> None:
            await n.participants(
                updated,
                f"ev:{event}",
                lambda tr: Outgoing(
                    tr.gettext(
                        "Your report {number} is about the same hazard as case {target}, which "
                        "is already being handled. You now follow {target} and will get its "
                        "updates."
                    ).format(number=updated.number, target=target.number)
                ),
            )

        return Change({"merged_into": target.id}, note=target.number, announce=announce)

    return await transition(
        services, actor, case_id, version, Action.MERGE, is_case_officer, change
    )


async def assign(
    services: Services,
    actor: Account,
    case_id: int,
    version: int,
    enterprise_id: int | None,
    deadline: dt.datetime,
) -> Case:
    """Order an enterprise to fix it by the deadline, or (None) let the department do it."""
    now = services.clock.now()
    action = Action.ASSIGN if enterprise_id is not None else Action.HANDLE

    async def change(tx: Session, case: Case) -> Change:
        name = None
        if enterprise_id is not None:
            enterprise = await tx.enterprises.get(enterprise_id)
            if enterprise is None:
                raise NotAllowed()
            name = enterprise.name

        async def announce(n: Notifier, updated: Case, event: int) -> None:
            date = cards(services).date(deadline)
            if enterprise_id is not None:  # the order first: what follows refers to it
                photos = await n.tx.cases.photo_hashes(updated.id)
                order = rectification_order(services, updated, photos)
                await n.enterprise(updated, f"ev:{event}", order)
            if updated.colour is Colour.RED and services.city.reminders.escalate_red_at_assignment:
                await escalate(services, n, updated, "red")
                refreshed = await n.tx.cases.get(updated.id)
                assert refreshed is not None
                updated = refreshed
            await n.participants(
                updated,
                f"ev:{event}",
                lambda tr: Outgoing(
                    tr.gettext(
                        "Rectification of your report {number} was ordered, to be done by {date}."
                    ).format(number=updated.number, date=date)
                ),
            )

        values: dict[str, Any] = {
            "enterprise_id": enterprise_id,
            "handled_by_department": enterprise_id is None,
            "deadline": deadline,
            "deadline_set_at": now,
            "assigned_at": now,
        }
        return Change(values, note=name, announce=announce)

    return await transition(services, actor, case_id, version, action, is_case_officer, change)


def rectification_order(services: Services, case: Case, photos: list[str]) -> Render:
    """整改通知: what the enterprise must fix, where, by when; nothing about who reported it.

    The photos are the stored copies, stripped of all metadata by the photo pipeline.
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
        location = None
        if case.latitude is not None and case.longitude is not None:
            location = (case.latitude, case.longitude)
        return Outgoing(text, enterprise_buttons(tr, case), photos, location)

    return render


async def submit_plan(services: Services, actor: Account, case_id: int, plan: str) -> Case:
    """The enterprise's rectification plan (治理方案) for a major hazard, to the officers."""
    now = services.clock.now()
    async with services.db.transaction() as tx:
        case = await tx.cases.get(case_id)
        if case is None or not is_case_enterprise(actor, case):
            raise NotAllowed()
        if case.status is not Status.ASSIGNED or not needs_plan(case) or case.plan:
            raise NotThisStep(status=_status_msgid(case))
        if not await tx.cases.update(case.id, case.version, now, {"plan": plan}):
            raise CaseMovedOn(status=_status_msgid(case))
        event = await tx.cases.add_event(case.id, now, actor.id, "plan", note=plan)
        updated = await tx.cases.get(case.id)
        assert updated is not None
        render = officer_card(
            services, updated, headline=N_("Rectification plan (治理方案) for case {number}")
        )
        await Notifier(tx, services, now).officers(updated, f"ev:{event}", render)
    return updated


async def acknowledge(
    services: Services, actor: Account, case_id: int, version: int, deadline: dt.datetime | None
) -> Case:
    """Accept a self-report: the proposed deadline (None) or a corrected one."""
    now = services.clock.now()

    async def change(tx: Session, case: Case) -> Change:
        if not case.self_reported or case.enterprise_id is None:
            raise NotThisStep(status=_status_msgid(case))
        final = deadline or case.proposed_deadline or end_of_day(services, 7)

        async def announce(n: Notifier, updated: Case, event: int) -> None:
            photos = await n.tx.cases.photo_hashes(updated.id)
            await n.enterprise(
                updated, f"ev:{event}", rectification_order(services, updated, photos)
            )

        values = {"deadline": final, "deadline_set_at": now, "assigned_at": now, "accepted_at": now}
        note = None if deadline is None else cards(services).date(deadline)
        return Change(values, note=note, announce=announce)

    return await transition(
        services, actor, case_id, version, Action.ACKNOWLEDGE, is_case_officer, change
    )


async def submit_fix(
    services: Services,
    actor: Account,
    case_id: int,
    photos: list[str],
    note: str,
) -> Case:
    """The enterprise (or the department handling it itself) says it is fixed."""
    now = services.clock.now()
    text = check_reason(note, MAX_REASON)

    def may(account: Account, case: Case) -> bool:
        if case.handled_by_department:
            return is_case_officer(account, case)
        return is_case_enterprise(account, case)

    async def change(tx: Session, case: Case) -> Change:
        for position, sha in enumerate(photos, start=await tx.cases.photo_count(case.id, "fix")):
            await tx.cases.add_photo(case.id, "fix", position, sha, actor.id, now)
        flag = await fix_photo_flag(tx, case, photos)

        async def announce(n: Notifier, updated: Case, event: int) -> None:
            await n.officers(
                updated,
                f"ev:{event}",
                officer_card(
                    services, updated, headline=N_("Fix submitted for case {number}"), photos=photos
                ),
            )
            await n.participants(
                updated,
                f"ev:{event}",
                reporter_update(
                    services, updated, N_("The fix of {number} was submitted and is being checked.")
                ),
            )

        values = {"fix_submitted_at": now, "fix_note": text, "fix_flag": flag, "reopened": False}
        return Change(values, note=text, announce=announce)

    return await transition(services, actor, case_id, None, Action.SUBMIT_FIX, may, change)


async def fix_photo_flag(tx: Session, case: Case, photos: list[str]) -> str | None:
    """Say which fix photos look like the hazard photo itself or like another case's photo."""
    fix = [p.phash for p in await tx.photos.many(photos)]
    if not fix:
        return None
    own = [p.phash for p in await tx.photos.many(await tx.cases.photo_hashes(case.id))]
    problems = []
    if any(hamming(a, b) <= FIX_MATCH_BITS for a in fix for b in own):
        problems.append("same-as-report")
    others = await tx.cases.photo_hashes_except(case.id)
    reused = sorted(
        {num for num, h, _kind in others if any(hamming(h, f) <= FIX_MATCH_BITS for f in fix)}
    )
    if reused:
        problems.append("reused:" + ",".join(reused[:3]))
    return ";".join(problems) or None


# Runs inside a closing's transaction, after the case is closed: (notifier, closed case, event).
CloseHook = Callable[[Notifier, Case, int], Awaitable[None]]


async def close(
    services: Services,
    actor: Account,
    case_id: int,
    version: int,
    *,
    also: CloseHook | None = None,
) -> Case:
    """Verify the fix and close the case (销号); ``also`` adds to the same transaction (the
    reward outcome, bot/rewards.py), so a closing and what it records are all or nothing."""
    now = services.clock.now()

    async def change(tx: Session, case: Case) -> Change:
        # The reporter is asked once; closing again after "not fixed" just tells them.
        ask = not case.verify_asked and not case.self_reported

        async def announce(n: Notifier, updated: Case, event: int) -> None:
            closed = reporter_update(
                services,
                updated,
                N_("Case {number} was verified as fixed and closed (销号). Thank you."),
            )
            await n.enterprise(updated, f"ev:{event}", closed)
            if ask:
                question = closed_question(updated)
                await n.user(updated.reporter_id, f"ev:{event}", question, quiet=True)
            elif not updated.self_reported:
                await n.user(updated.reporter_id, f"ev:{event}", closed, quiet=True)
            if not updated.self_reported:
                for follower in await n.tx.cases.followers(updated.id):
                    await n.user(follower, f"ev:{event}", closed, quiet=True)
            if also is not None:
                await also(n, updated, event)

        return Change({"closed_at": now, "verify_asked": True}, announce=announce)

    return await transition(
        services, actor, case_id, version, Action.CLOSE, is_case_officer, change
    )


def closed_question(case: Case) -> Render:
    def render(tr: Translator) -> Outgoing:
        _ = tr.gettext
        text = _(
            "Your report {number} was fixed, checked by the department and closed (销号). "
            "Thank you! Is the hazard really gone?"
        ).format(number=case.number)
        buttons = [
            [
                (_("👍 Yes, it is fixed"), f"vf:1:ok:{case.id}"),
                (_("👎 No, it is not fixed"), f"vf:1:no:{case.id}"),
            ]
        ]
        return Outgoing(text, buttons)

    return render


async def return_fix(
    services: Services,
    actor: Account,
    case_id: int,
    version: int,
    reason: str,
    deadline: dt.datetime,
) -> Case:
    note = check_reason(reason)

    async def change(tx: Session, case: Case) -> Change:
        async def announce(n: Notifier, updated: Case, event: int) -> None:
            date = cards(services).date(deadline)

            photos = await n.tx.cases.photo_hashes(updated.id)

            def order(tr: Translator) -> Outgoing:
                message = rectification_order(services, updated, photos)(tr)
                message.text = (
                    "<b>"
                    + tr.gettext("The fix of case {number} was not accepted.").format(
                        number=updated.number
                    )
                    + "</b>\n"
                    + tr.gettext("Reason: {reason}").format(reason=html.escape(note))
                    + "\n"
                    + tr.gettext("New deadline: {date}").format(date=date)
                    + "\n\n"
                    + message.text
                )
                return message

            await n.enterprise(updated, f"ev:{event}", order)
            await n.participants(
                updated,
                f"ev:{event}",
                reporter_update(
                    services,
                    updated,
                    N_(
                        "The fix of {number} was checked and not accepted; it must be "
                        "fixed again by {date}."
                    ),
                    "",
                    date,
                ),
            )

        now = services.clock.now()
        values = {"deadline": deadline, "deadline_set_at": now, "fix_flag": None, "reopened": False}
        return Change(values, note=note, announce=announce)

    return await transition(
        services, actor, case_id, version, Action.RETURN, is_case_officer, change
    )


async def request_extension(
    services: Services, actor: Account, case_id: int, until: dt.datetime, reason: str
) -> Case:
    note = check_reason(reason)

    async def change(tx: Session, case: Case) -> Change:
        if case.extension_until is not None:  # one request at a time: a second would replace it
            date = cards(services).date(case.extension_until)
            raise ExtensionPending(number=case.number, date=date)
        if case.deadline is not None and until <= case.deadline:
            raise ExtensionTooShort(date=cards(services).date(case.deadline))

        async def announce(n: Notifier, updated: Case, event: int) -> None:
            await n.officers(
                updated,
                f"ev:{event}",
                officer_card(
                    services,
                    updated,
                    headline=N_("Extension requested for case {number}"),
                    buttons=extension_buttons,
                ),
            )

        return Change(
            {"extension_until": until, "extension_reason": note}, note=note, announce=announce
        )

    return await transition(
        services, actor, case_id, None, Action.REQUEST_EXTENSION, is_case_enterprise, change
    )


async def decide_extension(
    services: Services, actor: Account, case_id: int, version: int, grant: bool
) -> Case:
    action = Action.GRANT_EXTENSION if grant else Action.REFUSE_EXTENSION

    async def change(tx: Session, case: Case) -> Change:
        if case.extension_until is None:
            raise NotThisStep(status=_status_msgid(case))
        values: dict[str, Any] = {"extension_until": None, "extension_reason": None}
        if grant:
            values["deadline"] = case.extension_until
            values["deadline_set_at"] = services.clock.now()
        date = cards(services).date(case.extension_until if grant else case.deadline)

        async def announce(n: Notifier, updated: Case, event: int) -> None:
            text = (
                N_("More time for case {number} was granted: the new deadline is {date}.")
                if grant
                else N_("More time for case {number} was refused: the deadline stays {date}.")
            )
            await n.enterprise(
                updated, f"ev:{event}", reporter_update(services, updated, text, "", date)
            )
            if grant:
                await n.participants(
                    updated,
                    f"ev:{event}",
                    reporter_update(
                        services,
                        updated,
                        N_("The deadline to fix {number} was extended to {date}."),
                        "",
                        date,
                    ),
                )

        return Change(values, note=date, announce=announce)

    return await transition(services, actor, case_id, version, action, is_case_officer, change)


async def reopen(
    services: Services, actor: Account, case_id: int, note: str | None, photo: str | None
) -> Case:
    """The reporter says it is not fixed: back to the officers' queue, flagged."""
    now = services.clock.now()
    text = check_reason(note) if note else None

    def may(account: Account, case: Case) -> bool:
        return account.id == case.reporter_id

    async def change(tx: Session, case: Case) -> Change:
        if photo is not None:
            position = await tx.cases.photo_count(case.id, "reopen")
            await tx.cases.add_photo(case.id, "reopen", position, photo, actor.id, now)

        async def announce(n: Notifier, updated: Case, event: int) -> None:
            extra = ""
            if text:
                extra = html.escape(text)
            await n.officers(
                updated,
                f"ev:{event}",
                officer_card(
                    services,
                    updated,
                    headline=N_("The reporter says case {number} is not fixed"),
                    photos=[photo] if photo else [],
                    extra=extra,
                ),
            )

        return Change({"reopened": True, "closed_at": None}, note=text, announce=announce)

    return await transition(services, actor, case_id, None, Action.REOPEN, may, change)


# Questions relayed between an officer and the reporter ---------------------------------------


async def ask_reporter(services: Services, actor: Account, case_id: int, question: str) -> int:
    """Relay an officer's question to the reporter; return the question's id."""
    text = check_reason(question, MAX_QUESTION)
    now = services.clock.now()
    async with services.db.transaction() as tx:
        case = await tx.cases.get(case_id)
        if case is None or not is_case_officer(actor, case):
            raise NotAllowed()
        # A closed, rejected or merged case asks its reporter nothing more.
        if case.self_reported or case.status in (Status.CLOSED, Status.REJECTED, Status.MERGED):
            raise NotThisStep(status=_status_msgid(case))
        question_id = await tx.questions.add(case.id, actor.id, case.reporter_id, text, now)
        await tx.cases.add_event(case.id, now, actor.id, "question", note=text)

        def render(tr: Translator) -> Outgoing:
            body = tr.gettext(
                "The department handling your report {number} asks:\n\n{question}"
            ).format(number=case.number, question=html.escape(text))
            button = (tr.gettext("✍️ Answer"), f"qa:1:{question_id}")
            return Outgoing(body, [[button]])

        await Notifier(tx, services, now).user(case.reporter_id, f"q:{question_id}", render)
    return question_id


async def answer_question(
    services: Services,
    actor: Account,
    question_id: int,
    text: str | None,
    photo: str | None,
    location: tuple[float, float] | None,
) -> Case:
    """Relay the reporter's answer to the officer who asked; once per question."""
    body = check_reason(text, MAX_QUESTION) if text else None
    now = services.clock.now()
    async with services.db.transaction() as tx:
        question = await tx.questions.get(question_id)
        if question is None or question.asked_to != actor.id:
            raise NotAllowed()
        case = await tx.cases.get(question.case_id)
        assert case is not None
        if not await tx.questions.answer(question_id, now, body, photo, location):
            raise QuestionAnswered()
        await tx.cases.add_event(case.id, now, actor.id, "answer", note=body)

        def render(tr: Translator) -> Outgoing:
            _ = tr.gettext
            lines = [
                _("The reporter of {number} answered your question.").format(number=case.number),
                _("Question: {value}").format(value=html.escape(question.question)),
            ]
            if body:
                lines.append(_("Answer: {value}").format(value=html.escape(body)))
            return Outgoing("\n".join(lines), [], [photo] if photo else [], location)

        await Notifier(tx, services, now).user(question.asked_by, f"a:{question_id}", render)
    return case


class QuestionAnswered(ShaoziError):
    message = N_("You have answered this question already. Thank you!")


def grade_text(tr: Translator, colour: Colour | None, level: Level | None) -> str:
    parts = []
    if colour is not None:
        parts.append(tr.gettext(COLOUR_LABELS[colour]))
    if level is not None:
        parts.append(tr.gettext(LEVEL_LABELS[level]))
    return ", ".join(parts)


async def escalate(services: Services, notifier: Notifier, case: Case, kind: str) -> int:
    """Put the case under supervision (挂牌督办): an event, and notices sent at once."""
    now, tx = notifier.now, notifier.tx
    if not await tx.cases.mark_escalated(case.id, now):
        return 0
    reason = {
        "escalate": N_("overdue"),
        "triage-escalate": N_("not accepted in time"),
        "red": N_("red (major) risk"),
    }[kind]
    await tx.cases.add_event(case.id, now, None, "escalate", note=reason)
    updated = await tx.cases.get(case.id)
    assert updated is not None
    key = f"esc:{case.id}"

    def supervisor_card(tr: Translator) -> Outgoing:
        headline = tr.gettext("Case {number} is now under supervision (挂牌督办): {reason}.")
        text = "<b>" + headline.format(number=case.number, reason=tr.gettext(reason)) + "</b>"
        body = cards(services).card(tr, updated, Audience.SUPERVISOR, now)
        return Outgoing(text + "\n\n" + body)

    sent = await notifier.supervisors(updated.department, key, supervisor_card)
    officers = officer_card(
        services, updated, headline=N_("Case {number} is now under supervision (挂牌督办)")
    )
    sent += await notifier.officers(updated, key, officers)
    if updated.enterprise_id is not None and updated.status is Status.ASSIGNED:

        def to_enterprise(tr: Translator) -> Outgoing:
            text = tr.gettext(
                "Case {number} is now under supervision (挂牌督办) by the city. Please fix it "
                "without delay and submit the fix."
            ).format(number=case.number)
            return Outgoing(text, enterprise_buttons(tr, updated))

        sent += await notifier.enterprise(updated, key, to_enterprise)
    return sent
