"""Who may act on a case and who may see it: its department's officers, its enterprise's
contacts, its supervisors (city-wide or of its department). Anyone else reads a case as its
reporter does, if it is theirs."""

from __future__ import annotations

from bot.accounts import Account
from bot.cards import Audience
from bot.vocabulary.models import Case
from bot.vocabulary.roles import Role


def is_case_officer(account: Account, case: Case) -> bool:
    return case.department in account.departments(Role.OFFICER)


def is_case_enterprise(account: Account, case: Case) -> bool:
    return case.enterprise_id is not None and case.enterprise_id in account.enterprises()


def supervises(account: Account, department: str) -> bool:
    """A supervisor city-wide or of this department."""
    scopes = [m.department for m in account.memberships if m.role is Role.SUPERVISOR]
    return any(scope is None or scope == department for scope in scopes)


def is_case_supervisor(account: Account, case: Case) -> bool:
    return supervises(account, case.department)


def can_view(account: Account, case: Case) -> bool:
    """Staff in scope: the case's officers, its enterprise's contacts, its supervisors."""
    return (
        is_case_officer(account, case)
        or is_case_supervisor(account, case)
        or is_case_enterprise(account, case)
    )


def audience_of(account: Account, case: Case) -> Audience:
    if is_case_officer(account, case):
        return Audience.OFFICER
    if is_case_supervisor(account, case):
        return Audience.SUPERVISOR
    if is_case_enterprise(account, case):
        return Audience.ENTERPRISE
    return Audience.REPORTER
