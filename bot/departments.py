"""The city's departments as admins see them: their staff and the group chat bound in chat.

The departments themselves and their routing are in the city file; only the group chat can be
set in chat (/setgroup), and it overrides the file's.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.accounts import Account
from bot.city import CityConfig, Department
from bot.errors import ShaoziError
from bot.i18n import N_
from bot.services import Services
from bot.vocabulary.roles import Role


class DepartmentUnknown(ShaoziError):
    message = N_("There is no department {code}.")


def department_of(city: CityConfig, code: str) -> Department:
    department = city.department(code)
    if department is None:
        raise DepartmentUnknown(code=code)
    return department


@dataclass(frozen=True)
class DepartmentStaff:
    department: Department
    officers: int
    supervisors: int
    group_chat: int | None


async def overview(services: Services, actor: Account) -> list[DepartmentStaff]:
    """Every department with how many officers and supervisors it has, and its group chat."""
    actor.require(Role.ADMIN)
    read = services.db.read
    listed = []
    for department in services.city.departments:
        code = department.code
        officers = await read.users.members(Role.OFFICER.value, department=code)
        supervisors = await read.users.members(Role.SUPERVISOR.value, department=code)
        bound = await read.departments.group_chat(code)
        chat = services.city.group_chat(code, bound)
        listed.append(DepartmentStaff(department, len(officers), len(supervisors), chat))
    return listed


async def bind_group(services: Services, actor: Account, code: str, chat_id: int) -> Department:
    """Make this chat the department's group: its new cases, reminders and digest go there."""
    actor.require(Role.ADMIN)
    department = department_of(services.city, code)
    async with services.db.transaction() as tx:
        await tx.departments.bind_group(department.code, chat_id, actor.id, services.clock.now())
    return department


async def unbind_group(services: Services, actor: Account, code: str) -> Department:
    """Forget the chat bound in chat (the city file's group chat, if it names one, is used)."""
    actor.require(Role.ADMIN)
    department = department_of(services.city, code)
    async with services.db.transaction() as tx:
        await tx.departments.unbind_group(department.code)
    return department
