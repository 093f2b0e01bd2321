"""Four-colour risk grading (双重预防机制)."""

from __future__ import annotations

from enum import StrEnum


class Colour(StrEnum):
    """Four-colour risk grading (双重预防机制)."""

    RED = "red"
    ORANGE = "orange"
    YELLOW = "yellow"
    BLUE = "blue"
