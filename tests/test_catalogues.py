"""Every message in the code is translated in every language, with the same placeholders."""

from __future__ import annotations

import string
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from bot.i18n import LOCALES_DIR, Catalogs, Language

ROOT = Path(__file__).resolve().parent.parent
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}


def source_messages() -> dict[str, tuple[str, ...]]:
    """Every msgid the code marks, as the extractor sees it: id -> (singular, plural?)."""
    found: dict[str, tuple[str, ...]] = {}
    for folder in ("bot", "handlers", "storage"):
        for _filename, _line, message, _comments, _context in extract_from_dir(
            ROOT / folder, method_map=[("**.py", "python")], keywords=KEYWORDS
        ):
            forms = message if isinstance(message, tuple) else (message,)
            found[forms[0]] = forms
    return found


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def load(language: Language) -> Catalog:
    with (LOCALES_DIR / language.value / "LC_MESSAGES" / "messages.po").open("rb") as fp:
        return read_po(fp, locale=language.value)


def test_code_marks_messages() -> None:
    assert len(source_messages()) > 20


@pytest.mark.parametrize("language", list(Language))
def test_every_message_is_translated(language: Language) -> None:
    catalog = load(language)
    problems = []
    for msgid, forms in source_messages().items():
        entry = catalog.get(msgid)
        if entry is None:
            problems.append(f"missing: {msgid!r}")
            continue
        if entry.fuzzy:
            problems.append(f"fuzzy: {msgid!r}")
        string = entry.string  # one text, or one per plural form
        translations = tuple(string) if isinstance(string, tuple | list) else (string,)
        texts = [t for t in translations if t]
        if len(texts) < len(translations):
            problems.append(f"untranslated: {msgid!r}")
            continue
        expected = set().union(*(placeholders(f) for f in forms))
        for text in texts:
            try:
                got = placeholders(text)
            except ValueError as exc:
                problems.append(f"broken braces in {language} for {msgid!r}: {exc}")
                continue
            if got != expected:
                problems.append(f"placeholders {sorted(got)} != {sorted(expected)} in {msgid!r}")
    assert not problems, "\n".join(problems)


def test_loaded_catalogues_translate() -> None:
    catalogs = Catalogs()
    assert catalogs.translator(Language.ZH_HANS).gettext("Language") == "🌐 语言"
    assert catalogs.translator(Language.ZH_HANT).gettext("Language") == "🌐 語言"
    assert catalogs.translator(Language.EN).gettext("Language") == "🌐 Language"
    # An unknown language falls back to the default rather than failing.
    assert catalogs.translator("fr").language is Language.ZH_HANS


def test_catalogues_compile_from_po_when_no_mo(tmp_path: Path) -> None:
    folder = tmp_path / "en" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    (folder / "messages.po").write_text(
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=utf-8\\n"\n\n'
        'msgid "Language"\nmsgstr "Tongue"\n',
        encoding="utf-8",
    )
    assert Catalogs(tmp_path).translator(Language.EN).gettext("Language") == "Tongue"
