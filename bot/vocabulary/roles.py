"""Who a user is to the bot: a citizen until an invite binds them to a staff role."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    CITIZEN = "citizen"
    ENTERPRISE = "enterprise"
    OFFICER = "officer"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


# Roles an invite can grant; "citizen" is what everyone is without one.
INVITABLE = (Role.OFFICER, Role.ENTERPRISE, Role.SUPERVISOR, Role.ADMIN)
