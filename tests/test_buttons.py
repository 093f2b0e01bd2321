"""The button codec: what it builds decodes back, and anything else is refused."""

from __future__ import annotations

import re

import pytest

from bot.buttons import (
    MAX_BYTES,
    Space,
    button,
    case_data,
    decode,
    decode_case,
    encode,
    pattern,
)


def test_built_data_decodes_back_to_its_parts() -> None:
    pressed = decode(encode(Space.ADMIN, "rm", 17))
    assert pressed is not None
    assert (pressed.space, pressed.action, pressed.args) == (Space.ADMIN, "rm", ("17",))
    assert pressed.number(0) == 17
    assert pressed.number(1) is None
    assert pressed.text(3) == ""


def test_data_without_an_action_is_the_space_alone() -> None:
    assert encode(Space.LANGUAGE) == "lang:1"
    assert re.match(pattern(Space.LANGUAGE), "lang:1")
    assert re.match(pattern(Space.LANGUAGE), "lang:1:en")
    assert not re.match(pattern(Space.LANGUAGE), "lang:10")


def test_pattern_with_actions_matches_only_those() -> None:
    regex = pattern(Space.CASE, "fix", "ext")
    assert re.match(regex, case_data("fix", 4, 2))
    assert not re.match(regex, case_data("fixed", 4, 2))
    assert not re.match(regex, case_data("accept", 4, 2))


@pytest.mark.parametrize(
    "data",
    [
        None,
        "",
        "cs",
        "cs:2:accept:1:1",
        "zz:1:accept",
        "forged",
        "cs:1:accept:x:1",
        "cs:1:accept:1",
    ],
)
def test_forged_or_foreign_case_data_is_refused(data: str | None) -> None:
    assert decode_case(data) is None


def test_a_case_button_names_case_and_version() -> None:
    pressed = decode_case(case_data("assign", 42, 7, "red"))
    assert pressed is not None
    assert (pressed.action, pressed.case_id, pressed.version, pressed.args) == (
        "assign",
        42,
        7,
        ("red",),
    )


def test_parts_that_would_not_decode_back_are_refused() -> None:
    with pytest.raises(ValueError, match="separator"):
        encode(Space.REPORT, "d", "a:b")
    with pytest.raises(ValueError, match="bytes"):
        encode(Space.REPORT, "d", "x" * MAX_BYTES)


def test_a_button_is_a_label_and_its_data() -> None:
    label, data = button("Accept", Space.CASE, "accept", 1, 1)
    assert (label, data) == ("Accept", "cs:1:accept:1:1")


def test_answer_data_has_no_action_as_before() -> None:
    data = encode(Space.ANSWER, "", 17)
    assert data == "qa:1:17"
    pressed = decode(data)
    assert pressed is not None
    assert (pressed.space, pressed.action, pressed.number(0)) == (Space.ANSWER, "", 17)
    assert re.match(pattern(Space.ANSWER), data)
    with pytest.raises(ValueError, match="no action"):
        encode(Space.ANSWER, "reply", 17)


def test_verify_data_is_as_before() -> None:
    assert encode(Space.VERIFY, "ok", 17) == "vf:1:ok:17"
    assert encode(Space.VERIFY, "no", 17) == "vf:1:no:17"
