"""The rectification order (整改通知) as the enterprise gets it: the department's wording and the
photos the officer chose (#16 item 1, #20 item 2).

The wording is one of the city's templates for the category, or the officer's own words; the
reporter's description is shown to the officer beside it and never copied into the order (a
whistleblower's words name their workshop and their shift). All report photos go by default;
the officer may leave any out. The order is issued by the assignment (bot/triage.py), in its
transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NewType

from bot.accounts import Account
from bot.city import CityConfig, OrderTemplate
from bot.errors import InputMistake, NotAllowed, ShaoziError
from bot.i18n import N_
from bot.reasons import check_reason
from bot.services import Services
from bot.visibility import ORDER, REPORT
from bot.vocabulary.models import Case
from storage.db import Session

MAX_ORDER_TEXT = 1000
# Photos are left out by their place among the report's photos, as a bit mask in button data.
MAX_PHOTOS = 16


# The photos that go with an order: only order_photos makes them, so a notice to an enterprise
# cannot be given the report's own photos (those the officer left out among them) by mistake.
OrderPhotos = NewType("OrderPhotos", list[str])


class OrderWordingMissing(ShaoziError):
    message = N_("Choose the wording of the order, or type it.")


class WordingCopiesReport(InputMistake):
    message = N_(
        "That copies the reporter's own words, which could identify them. Type the hazard in "
        "the department's words."
    )


@dataclass(frozen=True)
class Order:
    """What the officer chose: a template (its code) or their own words, and the report photos
    left out (their positions)."""

    template: str | None = None
    text: str | None = None
    left_out: frozenset[int] = field(default_factory=frozenset)


def templates(city: CityConfig, case: Case) -> list[OrderTemplate]:
    category = city.category(case.category)
    return list(category.order_templates) if category is not None else []


def default_order(city: CityConfig, case: Case) -> Order:
    """The first of the category's templates, with every photo: what an order says unless the
    officer chooses otherwise."""
    offered = templates(city, case)
    return Order(template=offered[0].code if offered else None)


def check_text(case: Case, text: str) -> str:
    """The officer's own wording of the hazard: one paragraph, not too long, and not the
    reporter's description pasted in (nor a long piece of it)."""
    wording = check_reason(text, MAX_ORDER_TEXT)
    report, typed = _folded(case.description), _folded(wording)
    if report in typed or (len(typed) >= COPIED and typed in report):
        raise WordingCopiesReport()
    return wording


# A typed wording this long found inside the reporter's description was copied from it.
COPIED = 15


def _folded(text: str) -> str:
    return " ".join(text.casefold().split())


def left_out(mask: int) -> frozenset[int]:
    """The photo positions a button's mask leaves out."""
    if not 0 <= mask < 1 << MAX_PHOTOS:
        raise NotAllowed()
    return frozenset(i for i in range(MAX_PHOTOS) if mask >> i & 1)


def mask_of(positions: frozenset[int]) -> int:
    return sum(1 << i for i in positions)


def wording(city: CityConfig, case: Case, order: Order) -> dict[str, Any]:
    """The case's order columns: the template's code and its wording in the city's language,
    or the officer's words. Refuses a template the category does not have (a forged button)
    and an order without wording."""
    if order.template is not None:
        category = city.category(case.category)
        template = category.template(order.template) if category is not None else None
        if template is None:
            raise NotAllowed()
        text = template.text.get(city.city.default_language)
        return {"order_template": template.code, "order_text": text}
    if order.text:
        return {"order_template": None, "order_text": check_text(case, order.text)}
    raise OrderWordingMissing()


async def issue(
    tx: Session, services: Services, actor: Account, case: Case, order: Order
) -> dict[str, Any]:
    """Store the order's photos (the report's, less those left out) and return its columns,
    inside the assignment's transaction."""
    values = wording(services.city, case, order)
    report = await tx.cases.photo_hashes(case.id, REPORT)
    chosen = [sha for position, sha in enumerate(report) if position not in order.left_out]
    await tx.cases.set_photos(case.id, ORDER, chosen, actor.id, services.clock.now())
    return values


async def order_photos(session: Session, case: Case) -> OrderPhotos:
    """The photos that go to the enterprise with the order (and when it is sent again, or to
    another enterprise): those the officer chose."""
    return OrderPhotos(await session.cases.photo_hashes(case.id, ORDER))
