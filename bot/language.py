"""The language a user chooses for the bot to speak to them."""

from __future__ import annotations

from bot.accounts import Account
from bot.i18n import Language
from bot.services import Services


async def set_language(services: Services, account: Account, language: Language) -> Account:
    """Store the user's choice; return the account as it now speaks."""
    async with services.db.transaction() as tx:
        await tx.users.set_language(account.id, language.value)
        user = await tx.users.get(account.id)
    assert user is not None
    return Account(user, account.memberships, account.default_language)
