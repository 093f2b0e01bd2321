"""The Telegram adapter: the only package of the core that speaks the Bot API.

Application wiring and the typed callback context, the outbox's Telegram sender and media
download. The rest of ``bot/`` knows no channel.
"""
