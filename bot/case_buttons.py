"""The buttons a case's notices and cards carry, by who reads them and the case's state.

Each button is a :class:`bot.buttons.Button` whose data comes from the codec; the handlers
answer the presses. A case button names the case's version, so a stale card is refused.
"""

from __future__ import annotations

from bot.buttons import Button, Space, case_data, encode
from bot.i18n import Translator
from bot.plans import owes_measures, owes_plan
from bot.vocabulary.lifecycle import Status
from bot.vocabulary.models import TELEGRAM, Case

# Rows of Buttons, declared as the (label, data) pairs an Outgoing carries: a Button is one.
Rows = list[list[tuple[str, str]]]


def _on(case: Case, label: str, action: str) -> Button:
    return Button(label, case_data(action, case.id, case.version))


def can_ask_reporter(case: Case) -> bool:
    """Whether the bot can relay a question to the reporter: not to an enterprise about its own
    self-report, nor to someone who reported through a partner (no chat with the bot)."""
    return not case.self_reported and case.channel == TELEGRAM


def triage_buttons(tr: Translator, case: Case) -> Rows:
    _ = tr.gettext
    first: list[tuple[str, str]]
    if case.self_reported:
        first = [
            _on(case, _("✅ Acknowledge the proposed deadline"), "ack"),
            _on(case, _("📅 Set another deadline"), "ackd"),
        ]
    else:
        first = [_on(case, _("✅ Accept"), "acc")]
    last: list[tuple[str, str]] = [_on(case, _("🔁 Duplicate of…"), "dup")]
    if can_ask_reporter(case):
        last.append(_on(case, _("❓ Ask the reporter"), "ask"))
    return [
        first,
        [_on(case, _("✖ Reject"), "rej"), _on(case, _("↪ Transfer"), "trf")],
        last,
    ]


def assign_buttons(tr: Translator, case: Case) -> Rows:
    _ = tr.gettext
    rows: Rows = [
        [_on(case, _("🏭 Order an enterprise to fix it"), "asg")],
        [_on(case, _("🛠 The department handles it itself"), "hdl")],
    ]
    if can_ask_reporter(case):
        rows.append([_on(case, _("❓ Ask the reporter"), "ask")])
    return rows


def verify_buttons(tr: Translator, case: Case) -> Rows:
    _ = tr.gettext
    return [
        [_on(case, _("✅ Verified: close the case (销号)"), "cls")],
        [_on(case, _("↩ Not fixed: return it"), "ret")],
    ]


def extension_buttons(tr: Translator, case: Case) -> Rows:
    _ = tr.gettext
    return [
        [
            _on(case, _("✅ Grant the extension"), "exy"),
            _on(case, _("✖ Refuse it"), "exn"),
        ]
    ]


def enterprise_buttons(tr: Translator, case: Case) -> Rows:
    _ = tr.gettext
    rows: Rows = [
        [_on(case, _("📷 Submit the fix"), "fix")],
        [_on(case, _("⏳ Ask for more time"), "ext")],
    ]
    if owes_plan(case):  # a major hazard's fix comes after its plan (bot/plans.py)
        rows[0] = [_on(case, _("📋 Send the rectification plan"), "plan")]
    if owes_measures(case):
        rows.insert(0, [_on(case, _("🚧 Send the interim control measures"), "msr")])
    return rows


def correction_buttons(tr: Translator, case: Case) -> Rows:
    """An officer's corrections of a mistake (bot/corrections.py), by the case's state."""
    _ = tr.gettext
    rows: Rows = []
    if case.status is Status.ASSIGNED:
        first: list[tuple[str, str]] = [_on(case, _("📅 Change the deadline"), "rdl")]
        if case.enterprise_id is not None:
            first.insert(0, _on(case, _("🏭 Another enterprise"), "rea"))
        rows.append(first)
    if case.status in (Status.SUBMITTED, Status.ACCEPTED, Status.ASSIGNED, Status.FIX_SUBMITTED):
        rows.append([_on(case, _("🏷 Change the category"), "rct")])
    return rows


def officer_buttons(tr: Translator, case: Case) -> Rows:
    """The buttons an officer's card of this case has, by its state: its next step, then the
    corrections."""
    rows: Rows = []
    if case.status is Status.SUBMITTED:
        rows = triage_buttons(tr, case)
    elif case.status is Status.ACCEPTED:
        rows = assign_buttons(tr, case)
    elif case.status is Status.FIX_SUBMITTED:
        rows = verify_buttons(tr, case)
    elif case.status is Status.ASSIGNED and case.extension_until is not None:
        rows = extension_buttons(tr, case)
    elif case.status is Status.ASSIGNED and case.handled_by_department:
        rows = [[_on(case, tr.gettext("📷 Record the fix"), "fix")]]
    return [*rows, *correction_buttons(tr, case)]


def reporter_rows(tr: Translator, case: Case) -> Rows:
    """On an officer's card of a real-name report: the button that shows who reported it
    (bot/identity.py checks the presser and logs the look)."""
    if not case.named:
        return []
    return [[_on(case, tr.gettext("👤 Who reported it"), "who")]]


def photos_button(tr: Translator, case: Case) -> Button:
    """Sends every photo of the case (the stripped copies) to whoever may look at it."""
    return _on(case, tr.gettext("📷 Photos"), "pho")


def fixed_buttons(tr: Translator, case: Case) -> Rows:
    """The reporter's answer to "is the hazard really gone?" after the case was closed."""
    _ = tr.gettext
    return [
        [
            Button(_("👍 Yes, it is fixed"), encode(Space.VERIFY, "ok", case.id)),
            Button(_("👎 No, it is not fixed"), encode(Space.VERIFY, "no", case.id)),
        ]
    ]


def answer_buttons(tr: Translator, question_id: int) -> Rows:
    """The reporter's way to answer a department's question."""
    return [[Button(tr.gettext("✍️ Answer"), encode(Space.ANSWER, "", question_id))]]


def review_ask_buttons(tr: Translator, case: Case) -> Rows:
    """The reporter's way to ask for a review (复核) of a case not accepted or not genuine."""
    data = encode(Space.REVIEW, "ask", case.id)
    return [[Button(tr.gettext("⚖️ Ask for a review (复核)"), data)]]


def review_decision_buttons(tr: Translator, case: Case, review_id: int) -> Rows:
    """A supervisor's decision on a review: the department's decision stands, or the case is
    reopened; and the case's photos to look at first."""
    _ = tr.gettext
    return [
        [
            Button(_("✅ Uphold the decision"), encode(Space.REVIEW, "up", review_id)),
            Button(_("↩ Reopen the case"), encode(Space.REVIEW, "ro", review_id)),
        ],
        [photos_button(tr, case)],
    ]
