"""Languages and gettext catalogues (Babel): zh_Hans (default), zh_Hant and en."""

from __future__ import annotations

import gettext
import io
import logging
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

log = logging.getLogger(__name__)

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
DOMAIN = "messages"


class Language(StrEnum):
    ZH_HANS = "zh_Hans"
    ZH_HANT = "zh_Hant"
    EN = "en"


DEFAULT_LANGUAGE = Language.ZH_HANS
_VALUES = frozenset(language.value for language in Language)

# Each language's name in itself (an endonym reads the same in every catalogue).
LANGUAGE_NAMES: dict[Language, str] = {
    Language.ZH_HANS: "简体中文",
    Language.ZH_HANT: "繁體中文",
    Language.EN: "English",
}

# Telegram sends IETF tags such as "zh-hans", "zh-TW", "en-GB"; these select Traditional Chinese.
_HANT_TAGS = ("zh-hant", "zh-tw", "zh-hk", "zh-mo")


def N_(message: str) -> str:
    """Mark a string for extraction; it is translated later, where it is shown."""
    return message


def language_from_telegram(code: str | None) -> Language | None:
    """Map Telegram's ``language_code`` to one of ours, or None when we do not speak it."""
    if not code:
        return None
    tag = code.strip().lower().replace("_", "-")
    if tag.startswith(_HANT_TAGS):
        return Language.ZH_HANT
    if tag == "zh" or tag.startswith("zh-"):
        return Language.ZH_HANS
    if tag == "en" or tag.startswith("en-"):
        return Language.EN
    return None


def resolve_language(
    chosen: str | None, telegram_code: str | None, default: Language = DEFAULT_LANGUAGE
) -> Language:
    """The user's choice, else Telegram's language, else the city's default."""
    if chosen is not None and chosen in _VALUES:
        return Language(chosen)
    return language_from_telegram(telegram_code) or default


@dataclass(frozen=True)
class Translator:
    """Translate for one language; ``gettext`` is meant to be bound to ``_`` by callers."""

    language: Language
    _catalog: gettext.NullTranslations
    directory: Path = field(default=LOCALES_DIR, compare=False)

    def __reduce__(self) -> tuple[object, tuple[Language, Path]]:
        """Pickled as its language and folder (a worker process loads the catalogue itself):
        a compiled catalogue's plural rule is a function made at run time, which pickle cannot
        carry."""
        return (_translator, (self.language, self.directory))

    def gettext(self, message: str) -> str:
        return self._catalog.gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self._catalog.ngettext(singular, plural, n)


def _load_catalog(language: Language, directory: Path) -> gettext.NullTranslations:
    folder = directory / language.value / "LC_MESSAGES"
    po_path, mo_path = folder / f"{DOMAIN}.po", folder / f"{DOMAIN}.mo"
    if mo_path.exists() and (
        not po_path.exists() or mo_path.stat().st_mtime >= po_path.stat().st_mtime
    ):
        with mo_path.open("rb") as fp:
            return gettext.GNUTranslations(fp)
    if po_path.exists():
        # No compiled catalogue (a fresh checkout): compile in memory so the bot still speaks.
        with po_path.open("rb") as fp:
            catalog = read_po(fp, locale=language.value)
        buffer = io.BytesIO()
        write_mo(buffer, catalog)
        buffer.seek(0)
        return gettext.GNUTranslations(buffer)
    log.warning("no catalogue for %s in %s; showing source texts", language.value, directory)
    return gettext.NullTranslations()


class Catalogs:
    """All languages' catalogues, loaded once."""

    def __init__(self, directory: Path = LOCALES_DIR) -> None:
        self._translators = {
            language: Translator(language, _load_catalog(language, directory), directory)
            for language in Language
        }

    def translator(self, language: Language | str | None) -> Translator:
        try:
            return self._translators[Language(language or DEFAULT_LANGUAGE.value)]
        except ValueError:
            return self._translators[DEFAULT_LANGUAGE]

    def all(self) -> list[Translator]:
        return list(self._translators.values())


@cache
def _catalogs(directory: Path) -> Catalogs:
    return Catalogs(directory)


def _translator(language: Language, directory: Path) -> Translator:
    """A pickled Translator again: the process's own catalogues of that folder, loaded once."""
    return _catalogs(directory).translator(language)
