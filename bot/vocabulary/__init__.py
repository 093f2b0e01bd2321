"""The words every layer shares: statuses, levels, colours, roles and the typed rows.

It imports nothing of ``bot``, ``handlers`` or ``storage``, so storage may use it.
"""
