"""The Open311 GeoReport v2 channel (#17): an HTTP API beside the Telegram adapter, and the
partners' webhooks. It calls the core as a chat handler does; it never speaks to Telegram."""
