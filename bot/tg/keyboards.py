"""Buttons as Telegram shows them: rows of (label, data), as the core and the codec build them."""

from __future__ import annotations

from collections.abc import Iterable

from telegram import InlineKeyboardButton, InlineKeyboardMarkup


def keyboard(rows: Iterable[Iterable[tuple[str, str]]]) -> InlineKeyboardMarkup | None:
    """Telegram's inline keyboard of these rows; None when there is no button at all."""
    buttons = [[InlineKeyboardButton(label, callback_data=data) for label, data in r] for r in rows]
    return InlineKeyboardMarkup(buttons) if any(buttons) else None
