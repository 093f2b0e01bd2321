"""Credit codes and `run_bot.py import-enterprises`: all rows of a file, or none of them."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bot import commands
from bot.city import CityConfig
from bot.enterprises import (
    CreditCodeCheck,
    EnterpriseFileError,
    check_character,
    credit_code_error,
    credit_code_problem,
    is_valid_credit_code,
    parse_enterprise_csv,
)
from bot.settings import Settings
from tests.support.cases import credit_code as code
from tests.support.process import run


def wrong(n: int) -> str:
    """The code of ``code(n)`` with a wrong check character."""
    valid = code(n)
    return valid[:17] + ("0" if valid[17] != "0" else "1")


def stored(tmp_path: Path) -> list[tuple[str, str, str | None, str | None]]:
    """(credit code, name, district, address) of every enterprise, by credit code."""
    database = tmp_path / "shaozi.db"
    if not database.exists():
        return []
    connection = sqlite3.connect(database)
    try:
        tables = {r[0] for r in connection.execute("SELECT name FROM sqlite_master")}
        if "enterprises" not in tables:
            return []
        return connection.execute(
            "SELECT credit_code, name, district, address FROM enterprises ORDER BY credit_code"
        ).fetchall()
    finally:
        connection.close()


def write(tmp_path: Path, text: str, *, encoding: str = "utf-8", name: str = "e.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


# Credit codes -------------------------------------------------------------------------------


@pytest.mark.parametrize("valid", ["91350100M000100Y43", "91110000600037341L"])
def test_real_credit_codes_are_valid(valid: str) -> None:
    assert credit_code_problem(valid) is None
    assert credit_code_error(valid) is None
    assert is_valid_credit_code(valid.lower())
    assert is_valid_credit_code(" 9111 0000 6000 3734 1L ")
    assert check_character(valid[:17]) == valid[17]


def test_one_changed_character_is_caught() -> None:
    assert credit_code_problem("91350100M000100Y44") == "check character is 4, should be 3"
    assert credit_code_problem("91350100M000200Y43") is not None  # a middle character
    error = credit_code_error("91110000600037341K")
    assert isinstance(error, CreditCodeCheck)
    assert "should be L" in error.render(str)
    assert credit_code_problem("91110000600037341") == "must be 18 characters, not 17"
    assert "O" in (credit_code_problem("9111000060003734OL") or "")
    assert not is_valid_credit_code("91350100M000100Y44")


def test_full_width_input_is_normalised() -> None:
    assert is_valid_credit_code("９１１１００００６０００３７３４１Ｌ")


# Parsing ------------------------------------------------------------------------------------


def test_chinese_headers_bom_and_district_names(city: CityConfig) -> None:
    text = (
        "\ufeff名称,统一社会信用代码,区,地址\n"
        f"老城机械厂,{code(1)},老城区,人民路1号\n"
        f"东坡化工,{code(2).lower()},dongpo,\n"
        f"Binjiang Port Co,{code(3)},binjiang district,\n"
        "\n"
        f"无区企业,{code(4)},,\n"
    )
    rows = parse_enterprise_csv(text.encode("utf-8"), city)
    assert [(r.line, r.name, r.credit_code, r.district, r.address) for r in rows] == [
        (2, "老城机械厂", code(1), "laocheng", "人民路1号"),
        (3, "东坡化工", code(2), "dongpo", None),
        (4, "Binjiang Port Co", code(3), "binjiang", None),
        (6, "无区企业", code(4), None, None),
    ]


def test_every_bad_line_is_named(city: CityConfig) -> None:
    text = (
        "name,credit_code,district\n"
        f"Good One,{code(1)},\n"
        f"Bad Check,{wrong(2)},\n"
        f",{code(3)},\n"
        f"Repeat,{code(1)},\n"
        f"Nowhere,{code(5)},atlantis\n"
    )
    with pytest.raises(EnterpriseFileError) as caught:
        parse_enterprise_csv(text.encode(), city)
    problems = caught.value.problems
    assert problems[0].startswith(f"line 3: credit code {wrong(2)} check character is")
    assert problems[1] == "line 4: the name is empty"
    assert problems[2] == f"line 5: credit code {code(1)} repeats line 2"
    assert problems[3].startswith("line 6: unknown district 'atlantis'")
    assert len(problems) == 4


def test_a_quoted_cell_over_two_lines_keeps_line_numbers(city: CityConfig) -> None:
    text = f'name,credit_code\n"Two\nLines Ltd",{code(1)}\nBad,{wrong(2)}\n'
    with pytest.raises(EnterpriseFileError) as caught:
        parse_enterprise_csv(text.encode(), city)
    assert caught.value.problems[0].startswith("line 4: ")


def test_missing_columns_are_named(city: CityConfig) -> None:
    with pytest.raises(EnterpriseFileError) as caught:
        parse_enterprise_csv(f"公司,代码\nA,{code(1)}\n".encode(), city)
    assert caught.value.problems[0].startswith("line 1: missing column(s) name (名称)")
    assert "credit_code (统一社会信用代码)" in caught.value.problems[0]


# The command line ---------------------------------------------------------------------------


@pytest.mark.subprocess
def test_import_a_good_file_then_reimport_updates(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "\ufeff名称,统一社会信用代码,区,地址\n"
        f"老城机械厂,{code(1)},老城区,人民路1号\n"
        f"东坡化工,{code(2)},dongpo,\n",
    )
    first = run(tmp_path, "import-enterprises", str(path))
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == "imported 2 enterprise(s): 2 new, 0 updated"
    assert stored(tmp_path) == [
        (code(1), "老城机械厂", "laocheng", "人民路1号"),
        (code(2), "东坡化工", "dongpo", None),
    ]

    again = write(
        tmp_path,
        "name,credit_code,address\n"
        f"老城机械厂（新名）,{code(1)},\n"
        f"New Works,{code(3)},1 Harbour Road\n",
        name="again.csv",
    )
    second = run(tmp_path, "import-enterprises", str(again), "--list")
    assert second.returncode == 0, second.stderr
    lines = second.stdout.strip().splitlines()
    assert lines[0] == "imported 2 enterprise(s): 1 new, 1 updated"
    ids = {row.split("\t")[1]: row.split("\t")[0] for row in lines[1:]}
    assert lines[1:] == [
        f"{ids[code(1)]}\t{code(1)}\t老城机械厂（新名）",
        f"{ids[code(3)]}\t{code(3)}\tNew Works",
    ]
    # Updated, not duplicated; a column the file leaves out keeps what was stored.
    assert stored(tmp_path) == [
        (code(1), "老城机械厂（新名）", "laocheng", "人民路1号"),
        (code(2), "东坡化工", "dongpo", None),
        (code(3), "New Works", None, "1 Harbour Road"),
    ]
    # The printed ids are what `invite --enterprise` takes.
    invite = run(tmp_path, "invite", "--role", "enterprise", "--enterprise", ids[code(3)])
    assert invite.returncode == 0, invite.stderr


@pytest.mark.subprocess
def test_a_bad_line_imports_nothing(tmp_path: Path) -> None:
    run(tmp_path, "import-enterprises", str(write(tmp_path, f"name,credit_code\nOld,{code(9)}\n")))
    path = write(
        tmp_path,
        f"name,credit_code\nFirst,{code(1)}\nSecond,{wrong(2)}\n"
        f"Third,{code(3)}\nOld v2,{code(9)}\n",
        name="bad.csv",
    )
    result = run(tmp_path, "import-enterprises", str(path))
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"error: line 3: credit code {wrong(2)} check character is {wrong(2)[17]},"
        f" should be {code(2)[17]}"
    ]
    assert stored(tmp_path) == [(code(9), "Old", None, None)]


@pytest.mark.subprocess
@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "error: the file is empty: expected a header row and enterprises"),
        ("\n \n", "error: the file is empty: expected a header row and enterprises"),
        ("名称,统一社会信用代码\n", "error: line 1: the file has a header but no enterprises"),
        (
            f"name,credit_code\nA,{code(1)}\nB,{code(1)}\n",
            f"error: line 3: credit code {code(1)} repeats line 2",
        ),
        (
            f"name,credit_code,district\nA,{code(1)},atlantis\n",
            "error: line 2: unknown district 'atlantis'",
        ),
    ],
    ids=["empty", "blank-lines", "header-only", "repeated-code", "unknown-district"],
)
def test_files_that_are_refused(tmp_path: Path, text: str, message: str) -> None:
    result = run(tmp_path, "import-enterprises", str(write(tmp_path, text)))
    assert result.returncode == 2
    assert result.stderr.splitlines()[0].startswith(message)
    assert "Traceback" not in result.stderr
    assert stored(tmp_path) == []


@pytest.mark.subprocess
def test_a_gbk_file_is_told_to_be_saved_as_utf8(tmp_path: Path) -> None:
    path = write(tmp_path, f"名称,统一社会信用代码\n老城机械厂,{code(1)}\n", encoding="gbk")
    result = run(tmp_path, "import-enterprises", str(path))
    assert result.returncode == 2
    assert "GBK" in result.stderr
    assert "CSV UTF-8" in result.stderr
    assert stored(tmp_path) == []


def test_other_spreadsheet_formats_are_named(city: CityConfig) -> None:
    for data, named in [
        (b"PK\x03\x04\x14\x00\x06\x00\xff\xfe", "Excel workbook"),
        ("名称,统一社会信用代码\n".encode("utf-16"), "UTF-16"),
    ]:
        with pytest.raises(EnterpriseFileError) as caught:
            parse_enterprise_csv(data, city)
        assert named in caught.value.problems[0]
        assert "CSV UTF-8" in caught.value.problems[0]


@pytest.mark.subprocess
def test_a_missing_file_is_one_line(tmp_path: Path) -> None:
    result = run(tmp_path, "import-enterprises", str(tmp_path / "nope.csv"))
    assert result.returncode == 2
    assert result.stderr.strip() == f"error: no file at {tmp_path / 'nope.csv'}"


def test_import_function_returns_counts(
    tmp_path: Path, settings: Settings, city: CityConfig
) -> None:
    path = write(tmp_path, f"name,credit_code\nA,{code(1)}\nB,{code(2)}\n")
    result = commands.import_enterprises(settings, city, path)
    assert (result.new, result.updated, result.total) == (2, 0, 2)
    assert [e.name for e in result.enterprises] == ["A", "B"]
    again = commands.import_enterprises(settings, city, path)
    assert (again.new, again.updated) == (0, 2)
    assert [e.id for e in again.enterprises] == [e.id for e in result.enterprises]
