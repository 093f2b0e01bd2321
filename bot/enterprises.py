"""Enterprises: the unified social credit code (统一社会信用代码, GB 32100-2015) and imports."""

from __future__ import annotations

import csv
import io
import unicodedata
from dataclasses import dataclass

from bot.city import CityConfig
from bot.errors import ShaoziError
from bot.i18n import N_, Language

CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # 31 characters: no I, O, S, V, Z
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
CODE_LENGTH = 18
NAME_MAX = 200
ADDRESS_MAX = 300


def check_character(first17: str) -> str:
    """The 18th character that makes the code valid."""
    total = sum(CHARSET.index(ch) * w for ch, w in zip(first17, WEIGHTS, strict=True))
    return CHARSET[(31 - total % 31) % 31]


def normalise_credit_code(text: str) -> str:
    # NFKC: a code typed with a Chinese input method may come in full-width characters.
    return "".join(unicodedata.normalize("NFKC", text).split()).upper()


class CreditCodeError(ShaoziError):
    """A credit code that cannot be right; the message says what to check."""


class CreditCodeLength(CreditCodeError):
    message = N_("A unified social credit code has 18 characters; {code} has {length}.")


class CreditCodeCharacters(CreditCodeError):
    message = N_(
        "A unified social credit code has only digits and capital letters other than "
        "I, O, S, V and Z; {code} contains {characters}."
    )


class CreditCodeCheck(CreditCodeError):
    message = N_(
        "The credit code {code} is not valid: its last (check) character is {found}, "
        "but for the first 17 characters it should be {expected}. Check the code for a typo."
    )


def credit_code_error(code: str) -> CreditCodeError | None:
    """None if the (normalised) code is valid, else a translatable reason for chat."""
    if len(code) != CODE_LENGTH:
        return CreditCodeLength(code=code, length=len(code))
    bad = sorted({ch for ch in code if ch not in CHARSET})
    if bad:
        return CreditCodeCharacters(code=code, characters=" ".join(bad))
    expected = check_character(code[:17])
    if code[17] != expected:
        return CreditCodeCheck(code=code, found=code[17], expected=expected)
    return None


def credit_code_problem(code: str) -> str | None:
    """None if the code is valid, else what is wrong with it (for the import report)."""
    error = credit_code_error(code)
    if error is None:
        return None
    if isinstance(error, CreditCodeLength):
        return f"must be 18 characters, not {len(code)}"
    if isinstance(error, CreditCodeCharacters):
        return f"contains characters a credit code cannot have: {error.params['characters']}"
    return f"check character is {code[17]}, should be {check_character(code[:17])}"


def is_valid_credit_code(code: str) -> bool:
    return credit_code_problem(normalise_credit_code(code)) is None


def district_code(city: CityConfig, text: str) -> str | None:
    """The district a person means by its code or its name in any language, else None."""
    wanted = " ".join(text.split()).casefold()
    if not wanted:
        return None
    for district in city.districts:
        names = [district.code] + [district.name.get(language) for language in Language]
        if wanted in (name.casefold() for name in names):
            return district.code
    return None


@dataclass(frozen=True)
class EnterpriseRow:
    line: int
    name: str
    credit_code: str
    district: str | None  # a district code of the city
    address: str | None


class EnterpriseFileError(Exception):
    """A file that cannot be imported; ``problems`` name each bad line."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


# The first two names of each field are shown when its column is missing.
HEADERS = {
    "name": ("name", "名称", "企业名称", "单位名称"),
    "credit_code": ("credit_code", "统一社会信用代码", "credit code", "社会信用代码", "信用代码"),
    "district": ("district", "区", "所属区", "辖区", "区县", "所属区县"),
    "address": ("address", "地址", "企业地址"),
}
REQUIRED = ("name", "credit_code")


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    if data.startswith(b"PK\x03\x04"):
        raise EnterpriseFileError(
            ["the file is an Excel workbook, not CSV; save it as 'CSV UTF-8' and import that"]
        )
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise EnterpriseFileError(
            ["the file is UTF-16 text (Excel's 'Unicode text'); save it as 'CSV UTF-8' instead"]
        )
    try:
        data.decode("gb18030")
    except UnicodeDecodeError:
        raise EnterpriseFileError(
            ["the file is not UTF-8 text; save it as CSV UTF-8 and import it again"]
        ) from None
    # Excel on a Chinese Windows saves "CSV" in GBK; "CSV UTF-8" is a separate choice.
    raise EnterpriseFileError(
        [
            "the file is not UTF-8 text (it looks like GBK, as Excel saves plain CSV);"
            " save it as 'CSV UTF-8 (comma delimited)' and import it again"
        ]
    )


def _records(text: str) -> list[tuple[int, list[str]]]:
    """Each CSV record with the line it starts on (a quoted cell may span lines)."""
    reader = csv.reader(io.StringIO(text, newline=""))
    records: list[tuple[int, list[str]]] = []
    start = 1
    try:
        for record in reader:
            records.append((start, record))
            start = reader.line_num + 1
    except csv.Error as exc:
        raise EnterpriseFileError([f"line {start}: not valid CSV ({exc})"]) from None
    return records


def _columns(line: int, header: list[str]) -> dict[str, int]:
    """Map each known field to its column; raise when a field is missing or repeated."""
    cells = [cell.strip().lower() for cell in header]
    columns: dict[str, int] = {}
    problems = []
    for field, names in HEADERS.items():
        found = [index for index, cell in enumerate(cells) if cell in names]
        if len(found) > 1:
            labels = ", ".join(header[i].strip() for i in found)
            problems.append(f"line {line}: more than one {field} column ({labels})")
        elif found:
            columns[field] = found[0]
    missing = [f"{f} ({HEADERS[f][1]})" for f in REQUIRED if f not in columns]
    if missing:
        problems.append(
            f"line {line}: missing column(s) {', '.join(missing)};"
            f" the header row has: {', '.join(c.strip() for c in header if c.strip()) or '-'}"
        )
    if problems:
        raise EnterpriseFileError(problems)
    return columns


def parse_enterprise_csv(data: bytes, city: CityConfig) -> list[EnterpriseRow]:
    """Read a CSV of enterprises; raise with every bad line, so nothing is half-imported."""
    records = [
        (line, row) for line, row in _records(_decode(data)) if any(cell.strip() for cell in row)
    ]
    if not records:
        raise EnterpriseFileError(["the file is empty: expected a header row and enterprises"])
    header_line, header = records[0]
    columns = _columns(header_line, header)
    problems: list[str] = []
    parsed: list[EnterpriseRow] = []
    seen: dict[str, int] = {}
    for number, row in records[1:]:

        def value(field: str, row: list[str] = row) -> str:
            index = columns.get(field)
            return " ".join(row[index].split()) if index is not None and index < len(row) else ""

        name = value("name")
        code = normalise_credit_code(value("credit_code"))
        district_text = value("district")
        address = value("address")
        if not name:
            problems.append(f"line {number}: the name is empty")
        elif len(name) > NAME_MAX:
            problems.append(f"line {number}: the name is longer than {NAME_MAX} characters")
        if len(address) > ADDRESS_MAX:
            problems.append(f"line {number}: the address is longer than {ADDRESS_MAX} characters")
        problem = credit_code_problem(code)
        if problem:
            problems.append(f"line {number}: credit code {code or '(empty)'} {problem}")
        elif code in seen:
            problems.append(f"line {number}: credit code {code} repeats line {seen[code]}")
        else:
            seen[code] = number
        district = district_code(city, district_text) if district_text else None
        if district_text and district is None:
            known = ", ".join(d.code for d in city.districts)
            problems.append(
                f"line {number}: unknown district {district_text!r} (known: {known},"
                " or their names)"
            )
        parsed.append(EnterpriseRow(number, name, code, district, address or None))
    if problems:
        raise EnterpriseFileError(problems)
    if not parsed:
        raise EnterpriseFileError([f"line {header_line}: the file has a header but no enterprises"])
    return parsed
