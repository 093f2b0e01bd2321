"""Expected failures: each carries a translatable message that handlers show the user."""

from __future__ import annotations

import math
from typing import Any

from bot.i18n import N_
from bot.labels import STATUS_LABELS
from bot.vocabulary.models import Case


class ShaoziError(Exception):
    """A failure the user can understand; ``message`` is a catalogue msgid with placeholders."""

    message = N_("That did not work. Please try again.")
    # Parameters that are themselves msgids (a status, a label), translated when shown.
    translated: tuple[str, ...] = ()

    def __init__(self, message: str | None = None, **params: Any) -> None:
        if message is not None:
            self.message = message
        self.params = params
        super().__init__(self.message)

    def render(self, gettext: Any) -> str:
        params = {
            key: gettext(value) if key in self.translated else value
            for key, value in self.params.items()
        }
        return str(gettext(self.message)).format(**params)


class InputMistake(ShaoziError):
    """Something typed that the user can correct by typing it again (too long, a bad date)."""


class InviteUnknown(ShaoziError):
    message = N_("This invite code is not valid. Check it, or ask for a new one.")


class InviteUsed(ShaoziError):
    message = N_("This invite code has already been used. Ask for a new one.")


class InviteJoined(ShaoziError):
    message = N_("You have already joined with this invite code.")


class InviteExpired(ShaoziError):
    message = N_("This invite code has expired. Ask for a new one.")


class NotAllowed(ShaoziError):
    message = N_("You are not allowed to do that.")


class ReporterUnreachable(ShaoziError):
    """The case came from a partner channel: its reporter has no account to be asked here."""

    message = N_(
        "The reporter of this case cannot be asked here: they reported by another channel."
    )


class NotAPlace(InputMistake):
    """A shared location outside the Earth's coordinates (a forged or broken client's)."""

    message = N_(
        "That is not a place: a latitude lies between -90 and 90 and a longitude between -180 "
        "and 180. Share the place again, or type its address."
    )


def check_point(latitude: float, longitude: float) -> tuple[float, float]:
    """The point, if it is one on Earth; NotAPlace otherwise (it is never stored)."""
    if not (math.isfinite(latitude) and math.isfinite(longitude)):
        raise NotAPlace()
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        raise NotAPlace()
    return latitude, longitude


# Cases: the ``status`` of a case is its label's msgid, translated when the error is shown.


class CaseNotFound(ShaoziError):
    message = N_("There is no case {number} that you can see.")


class CaseMovedOn(ShaoziError):
    message = N_("This case has moved on (it is now: {status}). Nothing was changed.")
    translated = ("status",)


class CaseMoved(CaseMovedOn):
    """Someone changed the case first (the card acted on is out of date); ``case`` is the case
    as it is now, for the card the loser of the race is shown instead."""

    def __init__(self, case: Case) -> None:
        super().__init__(status=STATUS_LABELS[case.status])
        self.case = case


class CaseLeft(ShaoziError):
    """Someone acted on the case first and it is no longer the actor's (passed to another
    department): said only to whom the bot itself had asked for input on it."""

    message = N_(
        "Someone acted on this case first, and it is no longer yours to act on. Nothing was "
        "changed."
    )


class NotThisStep(ShaoziError):
    message = N_("This cannot be done while the case is {status}.")
    translated = ("status",)


class ExtensionPending(ShaoziError):
    message = N_(
        "Your request for more time on case {number} (until {date}) is still waiting for the "
        "department's answer."
    )


class ExtensionTooShort(InputMistake):
    message = N_("Please give a date after the current deadline ({date}).")


class MergeTargetInvalid(InputMistake):
    message = N_("This report cannot be merged into case {number}: choose another open case.")


class AlreadyVerified(ShaoziError):
    """The reporter's word on a closed case, once it is no longer closed: they gave it already
    (the button pressed twice), or the department moved on."""

    message = N_("Thank you, the department already has your answer.")


class QuestionAnswered(ShaoziError):
    message = N_("You have answered this question already. Thank you!")


# What staff type: a reason, a date.


class ReasonTooLong(InputMistake):
    message = N_("Please keep it under {maximum} characters.")


class DeadlineInvalid(InputMistake):
    message = N_("Please give a date after today, like {example}.")


class DateUnreadable(InputMistake):
    message = N_("Type the date, like {example}.")
