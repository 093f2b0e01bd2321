"""Enterprises: the unified social credit code (统一社会信用代码, GB 32100-2015), the register an
admin keeps in chat, and imports."""

from __future__ import annotations

import csv
import io
import unicodedata
from dataclasses import dataclass

from bot.accounts import Account
from bot.city import CityConfig
from bot.errors import ShaoziError
from bot.i18n import N_, Language
from bot.services import Services
from bot.vocabulary.models import Enterprise
from bot.vocabulary.roles import Role

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


# The register, kept by admins in chat ----------------------------------------------------------


class NameTooLong(ShaoziError):
    message = N_("The name may have at most {limit} characters.")


class AddressTooLong(ShaoziError):
    message = N_("The address may have at most {limit} characters.")


class DistrictUnknown(ShaoziError):
    message = N_("There is no district {district}.")


class CreditCodeTaken(ShaoziError):
    message = N_("The credit code {code} is already registered as #{id} {name}.")


class EnterpriseUnknown(ShaoziError):
    message = N_("There is no enterprise with id {id}. Find it with /enterprises NAME.")


@dataclass(frozen=True)
class Details:
    """An enterprise as it is to be registered: checked and normalised."""

    name: str
    credit_code: str
    district: str | None  # a district code of the city
    address: str | None


def check_details(
    city: CityConfig, name: str, credit_code: str, district: str = "", address: str = ""
) -> Details:
    """The details as typed (the district by its code or name, may be empty), checked.

    Raises a CreditCodeError, NameTooLong, AddressTooLong or DistrictUnknown.
    """
    code = normalise_credit_code(credit_code)
    problem = credit_code_error(code)
    if problem is not None:
        raise problem
    if len(name) > NAME_MAX:
        raise NameTooLong(limit=NAME_MAX)
    if len(address) > ADDRESS_MAX:
        raise AddressTooLong(limit=ADDRESS_MAX)
    found = district_code(city, district) if district else None
    if district and found is None:
        raise DistrictUnknown(district=district)
    return Details(name, code, found, address or None)


async def enterprise(services: Services, enterprise_id: int) -> Enterprise | None:
    return await services.db.read.enterprises.get(enterprise_id)


async def add_enterprise(services: Services, actor: Account, details: Details) -> Enterprise:
    """Register an enterprise; its credit code must not be registered yet (CreditCodeTaken)."""
    actor.require(Role.ADMIN)
    async with services.db.transaction() as tx:
        existing = await tx.enterprises.by_credit_code(details.credit_code)
        if existing is not None:
            raise CreditCodeTaken(code=details.credit_code, id=existing.id, name=existing.name)
        new_id = await tx.enterprises.add(
            details.name,
            details.credit_code,
            details.district,
            details.address,
            services.clock.now(),
        )
        added = await tx.enterprises.get(new_id)
    assert added is not None
    return added


async def update_enterprise(
    services: Services, actor: Account, enterprise_id: int, details: Details
) -> Enterprise:
    """Correct an enterprise's details; its new credit code must not be another's."""
    actor.require(Role.ADMIN)
    async with services.db.transaction() as tx:
        if await tx.enterprises.get(enterprise_id) is None:
            raise EnterpriseUnknown(id=enterprise_id)
        other = await tx.enterprises.by_credit_code(details.credit_code)
        if other is not None and other.id != enterprise_id:
            raise CreditCodeTaken(code=details.credit_code, id=other.id, name=other.name)
        await tx.enterprises.update(
            enterprise_id, details.name, details.credit_code, details.district, details.address
        )
        updated = await tx.enterprises.get(enterprise_id)
    assert updated is not None
    return updated


@dataclass(frozen=True)
class Listing:
    enterprises: list[Enterprise]
    registered: int | None  # how many there are, when nothing was searched for


async def list_enterprises(
    services: Services, actor: Account, text: str = "", limit: int = 10
) -> Listing:
    """Those whose name has ``text`` or whose credit code starts with it; without a text, the
    first by name and how many are registered."""
    actor.require(Role.ADMIN)
    read = services.db.read.enterprises
    if text:
        return Listing(await read.search(text, limit=limit), None)
    total = await read.count()
    return Listing(await read.first_by_name(limit) if total else [], total)


# Imports from a file ---------------------------------------------------------------------------


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
