"""The one codec for button data: every button is built here and every press is parsed here.

A button is a label and its data. The data names a feature's space, the format's version, an
action and its arguments: ``cs:1:accept:42:3`` is "case 42, version 3, accept". Channels carry the
data as they can (Telegram's callback data holds at most 64 bytes); the core only ever builds it
with :func:`encode` and reads it with :func:`decode`, never by splitting strings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple

VERSION = "1"
SEPARATOR = ":"
MAX_BYTES = 64  # Telegram's limit on callback data
_PART = re.compile(r"[^:\s]*")
_DIGITS = re.compile(r"[0-9]{1,18}")


class Space(StrEnum):
    """Whose button it is: the feature that answers the press."""

    CASE = "cs"  # a case card's actions (officers, enterprise contacts)
    VERIFY = "vf"  # the reporter's "is it really fixed?"
    ANSWER = "qa"  # the reporter's answer to a department's question
    REWARD = "rw"  # reward decisions and claims
    REPORT = "rep"  # the citizen's report flow
    TRACK = "trk"  # /my and the reporter's case view
    QUEUE = "qu"  # /queue pages
    OVERDUE = "ov"  # /overdue pages
    TASKS = "tk"  # /tasks pages
    LANGUAGE = "lang"
    SUBSCRIBE = "sub"
    ADMIN = "adm"
    BROADCAST = "bc"
    REVIEW = "rv"  # a reporter's request for a review (复核), a supervisor's decision on it


class Button(NamedTuple):
    """A channel-neutral button: what it says and what pressing it means."""

    label: str
    data: str


Keyboard = list[list[Button]]

# Spaces whose data carry arguments but no action (qa:1:17), as the buttons already sent do.
_WITHOUT_ACTION = frozenset({Space.ANSWER})


def encode(space: Space, action: str = "", *args: object) -> str:
    """The data of a button; refuses parts that would not decode back to themselves."""
    parts = [space.value, VERSION]
    if space in _WITHOUT_ACTION:
        if action:
            raise ValueError(f"button data of {space.value!r} has no action, not {action!r}")
    elif action or args:
        parts.append(action)
    for arg in args:
        parts.append(str(arg))
    for part in parts:
        if not _PART.fullmatch(part):
            raise ValueError(f"button data part {part!r} holds a separator or a space")
    data = SEPARATOR.join(parts)
    if len(data.encode()) > MAX_BYTES:
        raise ValueError(f"button data {data!r} is over {MAX_BYTES} bytes")
    return data


def button(label: str, space: Space, action: str = "", *args: object) -> Button:
    return Button(label, encode(space, action, *args))


@dataclass(frozen=True)
class Pressed:
    """A decoded press. Arguments stay text; :meth:`number` reads one as an id or a page."""

    space: Space
    action: str
    args: tuple[str, ...]

    def number(self, index: int) -> int | None:
        """Argument ``index`` as a non-negative integer, or None when it is missing or not one."""
        if index >= len(self.args) or not _DIGITS.fullmatch(self.args[index]):
            return None
        return int(self.args[index])

    def text(self, index: int) -> str:
        return self.args[index] if index < len(self.args) else ""


def decode(data: str | None) -> Pressed | None:
    """Read button data; None for anything not built by :func:`encode` in this version."""
    if not data:
        return None
    parts = data.split(SEPARATOR)
    if len(parts) < 2 or parts[1] != VERSION:
        return None
    try:
        space = Space(parts[0])
    except ValueError:
        return None
    if space in _WITHOUT_ACTION:
        return Pressed(space, "", tuple(parts[2:]))
    action = parts[2] if len(parts) > 2 else ""
    return Pressed(space, action, tuple(parts[3:]))


def pattern(space: Space, *actions: str) -> str:
    """A regular expression matching the data of ``space`` (and one of ``actions``, if given)."""
    head = re.escape(f"{space.value}{SEPARATOR}{VERSION}")
    if not actions:
        return f"^{head}(?:{SEPARATOR}|$)"
    choice = "|".join(re.escape(action) for action in actions)
    return f"^{head}{SEPARATOR}(?:{choice})(?:{SEPARATOR}|$)"


# A case button names the case and the version it was made for, so a stale card is refused.


@dataclass(frozen=True)
class CasePress:
    action: str
    case_id: int
    version: int
    args: tuple[str, ...]


def case_data(action: str, case_id: int, version: int, *args: object) -> str:
    return encode(Space.CASE, action, case_id, version, *args)


def decode_case(data: str | None) -> CasePress | None:
    pressed = decode(data)
    if pressed is None or pressed.space is not Space.CASE:
        return None
    case_id, version = pressed.number(0), pressed.number(1)
    if case_id is None or version is None:
        return None
    return CasePress(pressed.action, case_id, version, pressed.args[2:])
