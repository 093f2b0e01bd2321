"""What the core works with: settings, city, database, clock and catalogues, built once."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.city import CityConfig
from bot.clock import Clock
from bot.i18n import Catalogs, Translator
from bot.offload import Offload
from bot.settings import Settings
from storage.db import Database


@dataclass
class Services:
    """What every handler may use; built once per Application."""

    settings: Settings
    city: CityConfig
    db: Database
    clock: Clock
    catalogs: Catalogs
    # Exports and charts; none by default (a thread): the Application gives it processes.
    offload: Offload = field(default_factory=lambda: Offload(0))

    def translator_for(self, language: str | None) -> Translator:
        return self.catalogs.translator(language or self.city.city.default_language)
