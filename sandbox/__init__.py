"""The sandbox: the real bot against a local fake Bot API, with a browser chat page."""
