"""Lists shown a page at a time (the queue, /tasks, /overdue, /my, /members): which page, of
how many."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


def clamp(page: int, total: int, size: int) -> tuple[int, int]:
    """The page asked for, within the pages ``total`` items fill (at least one: an empty list
    is one empty page), and how many pages there are. A page beyond the last is the last: the
    list may have shrunk since its button was made."""
    pages = max(1, math.ceil(total / size))
    return min(max(page, 0), pages - 1), pages


def clamp_offset(offset: int, total: int, size: int) -> int:
    """The first item of the page holding ``offset`` (lists turned by offset: /my, /members),
    within the list as it is now."""
    page, _ = clamp(offset // size, total, size)
    return page * size


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    number: int  # from 0
    pages: int


def page_of(items: Sequence[T], page: int, size: int) -> Page[T]:
    number, pages = clamp(page, len(items), size)
    return Page(list(items[number * size : (number + 1) * size]), number, pages)
