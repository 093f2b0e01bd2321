"""Nothing sent to an enterprise contact may name a reporter or carry a photo's metadata."""

from __future__ import annotations

import re

from tests.support import tables
from tests.support.chat import Bot
from tests.support.images import has_metadata


async def check_confidentiality(bot: Bot) -> tuple[int, int]:
    """Fail if anything sent to an enterprise contact names a reporter or carries metadata.

    Returns how many (messages, photos) sent to enterprise contacts were examined. Runs after
    every chat-level test, so the whole scenario suite is checked.
    """
    assert bot.app is not None
    contacts = {
        r[0]
        for r in tables.rows(bot.db, "SELECT user_id FROM memberships WHERE role = 'enterprise'")
    }
    secrets: set[str] = set()
    for row in tables.rows(
        bot.db,
        "SELECT reporter_id, reporter_name, reporter_phone FROM cases WHERE self_reported = 0"
        " UNION SELECT f.user_id, NULL, NULL FROM case_followers f",
    ):
        reporter_id, name, phone = row
        if reporter_id in contacts:
            continue  # a contact who also reported as a citizen sees their own words
        secrets.update(x for x in (name, phone) if x)
        chat = bot.api.chat(reporter_id) or {}
        secrets.update(str(chat[k]) for k in ("username", "first_name", "last_name") if chat.get(k))
        secrets.discard("Test")  # the fake users' default first name
        secrets.add(f"id:{reporter_id}")
    messages = photos = 0
    for sent in bot.api.sent:
        if sent.chat_id not in contacts:
            continue
        messages += 1
        words = set(re.findall(r"\w+", sent.plain)) | {sent.plain}
        for secret in secrets:
            if secret.startswith("id:"):
                assert secret[3:] not in words, f"reporter id reached an enterprise: {sent.plain}"
            else:
                assert secret not in sent.plain, f"{secret!r} reached an enterprise: {sent.plain}"
        if sent.photo is not None:
            photos += 1
            assert not has_metadata(sent.photo), "a photo with metadata reached an enterprise"
    return messages, photos
