"""Subscriptions: safety-day reminders and warnings, for the whole city or one district.

A user subscribes for themself, so each function takes the user's id and nothing else decides.
"""

from __future__ import annotations

from bot.city import District
from bot.errors import NotAllowed
from bot.services import Services


def district_of(services: Services, code: str | None) -> District | None:
    """The district an area names; None is the whole city.

    Only a forged button names a district the city does not have: that is NotAllowed.
    """
    if code is None:
        return None
    district = services.city.district(code)
    if district is None:
        raise NotAllowed()
    return district


async def set_subscribed(services: Services, user_id: int, subscribed: bool) -> None:
    """Start or stop the user's reminders and warnings (the question at /start is answered)."""
    async with services.db.transaction() as tx:
        await tx.users.set_subscribed(user_id, subscribed)


async def choose_area(services: Services, user_id: int, code: str | None) -> District | None:
    """Take the user's warnings for one district (or, for None, the whole city).

    Choosing an area is asking for its warnings: it subscribes, even from an old message.
    """
    district = district_of(services, code)
    async with services.db.transaction() as tx:
        await tx.users.set_subscribed(user_id, True)
        await tx.users.set_district(user_id, district.code if district else None)
    return district


async def mark_asked(services: Services, user_id: int) -> None:
    """The user was shown the subscription question; it is not put to them again."""
    async with services.db.transaction() as tx:
        await tx.users.mark_subscription_asked(user_id)
