"""What staff type as a reason or a question: one line of words, not too long."""

from __future__ import annotations

from bot.errors import ReasonTooLong

MAX_REASON = 500


def check_reason(text: str, maximum: int = MAX_REASON) -> str:
    text = " ".join(text.split())
    if not text or len(text) > maximum:
        raise ReasonTooLong(maximum=maximum)
    return text
