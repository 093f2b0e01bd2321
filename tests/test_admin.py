"""Admin tools in chat: invites, members, enterprises — and nobody else may use them."""

from __future__ import annotations

import pytest

from bot.invites import InviteSpec, create_invite
from bot.vocabulary.roles import Role
from fakebotapi import FakeUser
from tests.support import tables
from tests.support.cases import credit_code, report
from tests.support.chat import INVITE_CODE, NOT_ALLOWED, Bot
from tests.support.people import make_admin, member, staff


async def make_member(
    bot: Bot, spec: InviteSpec, first_name: str = "Test", username: str | None = None
) -> FakeUser:
    code = await create_invite(bot.db, spec, bot.clock.now())
    user = bot.user(language="en", first_name=first_name, username=username)
    await user.send(f"/join {code}")
    assert user.last.plain.startswith("You are now ")
    return user


async def add_enterprise(bot: Bot, name: str, n: int, district: str | None = None) -> int:
    async with bot.db.transaction() as tx:
        return await tx.enterprises.add(name, credit_code(n), district, None, bot.clock.now())


async def count(bot: Bot, table: str) -> int:
    return tables.count(bot.db, table)


def line_number(text: str, name: str, role: str) -> int:
    """The number of the /members line for this member and role."""
    for line in text.splitlines():
        if f". {name} · {role}" in line:
            return int(line.split(".", 1)[0])
    raise AssertionError(f"no line for {name} as {role} in:\n{text}")


# /invite ------------------------------------------------------------------------------------


async def test_admin_invites_an_officer_who_then_joins(bot: Bot) -> None:
    admin = await make_admin(bot)
    await admin.send("/invite officer fire")
    text = admin.last.plain
    assert text.startswith("One-time invite for: department officer of Fire and Rescue Detachment")
    match = INVITE_CODE.search(text)
    assert match is not None
    assert f"/join {match.group(0)}" in text
    officer = bot.user(language="en")
    await officer.send(f"/join {match.group(0)}")
    assert officer.last.plain.startswith(
        "You are now department officer of Fire and Rescue Detachment."
    )
    invite = tables.row(bot.db, "SELECT created_by, used_by FROM invites WHERE role = 'officer'")
    assert invite is not None
    assert tuple(invite) == (admin.user_id, officer.user_id)


async def test_supervisor_enterprise_and_admin_invites(bot: Bot) -> None:
    admin = await make_admin(bot)
    await admin.send("/invite supervisor")
    assert admin.last.plain.startswith("One-time invite for: supervisor of the whole city")
    await admin.send("/invite supervisor housing")
    assert "supervisor of Housing and Urban-Rural Development Bureau" in admin.last.plain
    await admin.send("/invite admin")
    assert admin.last.plain.startswith("One-time invite for: administrator\n")
    enterprise_id = await add_enterprise(bot, "Laocheng <Machine> & Co", 1)
    await admin.send(f"/invite enterprise {enterprise_id}")
    text = admin.last.plain
    assert "enterprise safety officer of Laocheng <Machine> & Co" in text
    match = INVITE_CODE.search(text)
    assert match is not None
    contact = bot.user(language="en")
    await contact.send(f"/join {match.group(0)}")
    assert "enterprise safety officer of Laocheng <Machine> & Co" in contact.last.plain
    assert await count(bot, "invites") == 5  # the admin's own and four more


async def test_bad_invite_arguments_are_answered_clearly(bot: Bot) -> None:
    admin = await make_admin(bot)
    await admin.send("/invite")
    assert "/invite officer DEPARTMENT" in admin.last.plain
    assert "fire — Fire and Rescue Detachment" in admin.last.plain
    await admin.send("/invite pilot")
    assert admin.last.plain.startswith("There is no role pilot.")
    await admin.send("/invite officer")
    assert admin.last.plain.startswith("An officer invite needs a department code")
    assert "water — Water Affairs Bureau" in admin.last.plain
    await admin.send("/invite officer police")
    assert admin.last.plain.startswith("There is no department police.")
    assert "housing — Housing and Urban-Rural Development Bureau" in admin.last.plain
    await admin.send("/invite supervisor <police>")
    assert admin.last.plain.startswith("There is no department <police>.")
    await admin.send("/invite enterprise")
    assert admin.last.plain.startswith("An enterprise invite needs the enterprise's id")
    await admin.send("/invite enterprise 999")
    assert admin.last.plain.startswith("There is no enterprise with id 999.")
    await admin.send("/invite enterprise acme")
    assert admin.last.plain.startswith("There is no enterprise with id acme.")
    await admin.send("/invite admin fire")
    assert admin.last.plain.startswith("An administrator invite takes no department")
    await admin.send("/invite officer fire extra")
    assert "/invite officer DEPARTMENT" in admin.last.plain
    assert await count(bot, "invites") == 1  # only the admin's own


# /members -----------------------------------------------------------------------------------


async def test_members_are_listed_and_removed_after_confirming(bot: Bot) -> None:
    admin = await make_admin(bot)
    officer = await make_member(
        bot, InviteSpec(Role.OFFICER, "fire"), first_name="Wang Fang", username="wangfang"
    )
    supervisor = await make_member(bot, InviteSpec(Role.SUPERVISOR), first_name="Li Na")
    citizen = bot.user(language="en", first_name="Zhou Min")
    await citizen.send("/start")

    await admin.send("/members")
    listing = admin.last
    text = listing.plain
    assert text.startswith("Staff members (1–3 of 3): who · role · where")
    assert "Test · administrator" in text
    assert "Wang Fang (@wangfang) · department officer · Fire and Rescue Detachment" in text
    assert "Li Na · supervisor · the whole city" in text
    for user in (admin, officer, supervisor, citizen):
        assert str(user.user_id) not in text  # names, not Telegram ids
    assert "Zhou Min" not in text

    (removed,) = await bot.db.read.users.memberships(officer.user_id)
    number = line_number(text, "Wang Fang (@wangfang)", "department officer")
    await admin.press(f"Remove {number}. Wang Fang (@wangfang)", message=listing)
    confirm = admin.last
    assert confirm.plain.startswith(
        "Remove Wang Fang (@wangfang) · department officer · Fire and Rescue Detachment?"
    )
    assert await bot.db.read.users.memberships(officer.user_id)  # not yet
    await admin.press("Yes, remove", message=confirm)
    assert admin.last.plain.startswith("Removed: Wang Fang (@wangfang) · department officer")
    assert await bot.db.read.users.memberships(officer.user_id) == []
    await officer.send("/help")
    assert "/queue" not in officer.last.plain

    # The old list's button, and the confirmation replayed: nothing left to remove.
    await admin.press(f"Remove {number}", message=listing)
    assert admin.callback_answers[-1]["text"] == "This member was already removed."
    await admin.press_data(f"adm:1:rmok:{removed.id}", confirm)
    assert admin.callback_answers[-1]["text"] == "This member was already removed."
    assert admin.last.plain.startswith("Removed: Wang Fang (@wangfang) · department officer")

    # "Keep" removes nothing.
    number = line_number(text, "Li Na", "supervisor")
    await admin.press(f"Remove {number}", message=listing)
    await admin.press("Keep")
    assert admin.last.plain == "Nothing was removed."
    assert len(await bot.db.read.users.memberships(supervisor.user_id)) == 1


async def test_an_admin_cannot_remove_their_own_admin_role(bot: Bot) -> None:
    admin = await make_admin(bot)
    other = await make_member(bot, InviteSpec(Role.ADMIN))
    (own,) = await bot.db.read.users.memberships(admin.user_id)
    await admin.send("/members")
    listing = admin.last
    number = line_number(listing.plain, "Test", "administrator")
    await admin.press(f"Remove {number}", message=listing)
    assert admin.callback_answers[-1]["text"].startswith(
        "You cannot remove your own administrator role"
    )
    await admin.press_data(f"adm:1:rmok:{own.id}", listing)
    assert admin.callback_answers[-1]["text"].startswith(
        "You cannot remove your own administrator role"
    )
    assert await bot.db.read.users.membership(own.id) is not None
    # Another admin may.
    await other.press_data(f"adm:1:rmok:{own.id}", listing)
    assert await bot.db.read.users.membership(own.id) is None


async def test_members_are_paged(bot: Bot) -> None:
    admin = await make_admin(bot)
    for _ in range(21):
        await make_member(bot, InviteSpec(Role.OFFICER, "water"))
    await admin.send("/members")
    assert admin.last.plain.startswith("Staff members (1–20 of 22)")
    await admin.press("Next »")
    assert admin.last.plain.startswith("Staff members (21–22 of 22)")
    assert admin.last.has_button("Remove 22")
    await admin.press("« Previous")
    assert admin.last.plain.startswith("Staff members (1–20 of 22)")


# Nobody but an admin ------------------------------------------------------------------------


async def test_citizens_and_officers_can_use_no_admin_tool(bot: Bot) -> None:
    admin = await make_admin(bot)
    officer = await make_member(bot, InviteSpec(Role.OFFICER, "fire"))
    citizen = bot.user(language="en")
    enterprise_id = await add_enterprise(bot, "Target Works", 1)
    (admin_membership,) = await bot.db.read.users.memberships(admin.user_id)
    (officer_membership,) = await bot.db.read.users.memberships(officer.user_id)
    invites = await count(bot, "invites")
    for user in (citizen, officer):
        for command in (
            "/invite admin",
            "/invite officer fire",
            f"/invite enterprise {enterprise_id}",
            "/members",
            "/enterprises",
            "/enterprises Target",
            f"/addenterprise Fake Works | {credit_code(2)}",
        ):
            await user.send(command)
            assert user.last.plain == NOT_ALLOWED, command
            assert not INVITE_CODE.search(user.last.plain)
        for membership_id in (admin_membership.id, officer_membership.id):
            for action in ("rm", "rmok", "rmno"):
                await user.press_data(f"adm:1:{action}:{membership_id}", user.last)
                assert user.callback_answers[-1]["text"] == NOT_ALLOWED
        await user.press_data("adm:1:mem:0", user.last)
        assert user.callback_answers[-1]["text"] == NOT_ALLOWED
        await user.press_data("adm:1:rm:abc", user.last)
        assert user.callback_answers[-1]["text"] == NOT_ALLOWED
        await user.send("/help")
        assert "/invite" not in user.last.plain
        assert "/members" not in user.last.plain
    assert await bot.db.read.users.membership(admin_membership.id) is not None
    assert await bot.db.read.users.membership(officer_membership.id) is not None
    assert await count(bot, "invites") == invites
    assert await count(bot, "enterprises") == 1
    # Only the confirmation an admin asked for ever reaches anyone.
    assert all("Remove " not in text for text in officer.texts() + citizen.texts())


async def test_admins_see_their_commands(bot: Bot) -> None:
    admin = await make_admin(bot)
    await admin.send("/help")
    for command in ("/invite", "/members", "/enterprises", "/addenterprise"):
        assert command in admin.last.plain
    menus = [
        str(value) for key, value in bot.api.commands.items() if str(admin.user_id) in str(key)
    ]
    assert any("addenterprise" in menu for menu in menus)


# Enterprises --------------------------------------------------------------------------------


async def test_add_an_enterprise(bot: Bot) -> None:
    admin = await make_admin(bot)
    code = credit_code(7)
    await admin.send(f"/addenterprise 老城 <机械> & 厂 | {code.lower()} | 老城区 | 人民路1号")
    text = admin.last.plain
    assert text.startswith("Enterprise registered:")
    row = await bot.db.read.enterprises.by_credit_code(code)
    assert row is not None
    assert (row.name, row.district, row.address) == ("老城 <机械> & 厂", "laocheng", "人民路1号")
    assert f"#{row.id} 老城 <机械> & 厂 · {code} · Laocheng District" in text
    assert f"/invite enterprise {row.id}" in text

    await admin.send(f"/addenterprise Other Name | {code}")
    assert admin.last.plain == (
        f"The credit code {code} is already registered as #{row.id} 老城 <机械> & 厂."
    )
    # A full-width separator, as typed with a Chinese input method; district by code.
    await admin.send(f"/addenterprise 东坡化工 ｜ {credit_code(8)} ｜ dongpo")
    assert admin.last.plain.startswith("Enterprise registered:")
    assert await count(bot, "enterprises") == 2


async def test_a_bad_enterprise_is_refused_with_the_reason(bot: Bot) -> None:
    admin = await make_admin(bot)
    good = credit_code(7)
    bad = good[:17] + ("0" if good[17] != "0" else "1")
    await admin.send(f"/addenterprise Typo Works | {bad}")
    assert admin.last.plain == (
        f"The credit code {bad} is not valid: its last (check) character is {bad[17]}, "
        f"but for the first 17 characters it should be {good[17]}. Check the code for a typo."
    )
    await admin.send("/addenterprise Short Works | 9133010")
    assert admin.last.plain == "A unified social credit code has 18 characters; 9133010 has 7."
    await admin.send("/addenterprise Odd Works | 91330100MA2<0000IZ")
    assert "91330100MA2<0000IZ contains < I Z." in admin.last.plain
    await admin.send(f"/addenterprise Lost Works | {good} | atlantis")
    assert admin.last.plain.startswith("There is no district atlantis.")
    assert "laocheng (Laocheng District)" in admin.last.plain
    for usage in ("/addenterprise", "/addenterprise Only A Name", f"/addenterprise | {good}"):
        await admin.send(usage)
        assert admin.last.plain.startswith("Send the enterprise on one line"), usage
    await admin.send(f"/addenterprise A | {good} | laocheng | addr | extra")
    assert admin.last.plain.startswith("Send the enterprise on one line")
    await admin.send(f"/addenterprise {'长' * 201} | {good}")
    assert admin.last.plain == "The name may have at most 200 characters."
    assert await count(bot, "enterprises") == 0


async def test_find_enterprises(bot: Bot) -> None:
    admin = await make_admin(bot)
    await admin.send("/enterprises")
    assert admin.last.plain.startswith("No enterprises are registered yet.")
    await add_enterprise(bot, "老城机械厂", 1, "laocheng")
    await admin.send("/enterprises")
    assert admin.last.plain.startswith("1 enterprise is registered.")
    for n in range(2, 13):
        await add_enterprise(bot, f"Works {n:02d}", n)
    await admin.send("/enterprises")
    text = admin.last.plain
    assert text.startswith("12 enterprises are registered. The first 10 by name")
    assert "Works 02" in text
    assert "Works 11" in text
    assert "Works 12" not in text  # the 11th by name
    assert "老城机械厂" not in text
    await admin.send("/enterprises 机械")
    text = admin.last.plain
    assert text.startswith("Enterprises matching 机械:")
    assert f"#1 老城机械厂 · {credit_code(1)} · Laocheng District" in text
    await admin.send(f"/enterprises {credit_code(5).lower()}")
    assert "Works 05" in admin.last.plain
    assert "Works 06" not in admin.last.plain
    await admin.send("/enterprises works 1")
    assert "Works 10" in admin.last.plain
    assert "Works 02" not in admin.last.plain
    await admin.send("/enterprises <nothing & such>")
    assert admin.last.plain.startswith("No enterprise matches <nothing & such>.")


async def test_admin_edits_an_enterprise_and_lists_departments(bot: Bot) -> None:
    admin = await staff(bot, InviteSpec(Role.ADMIN))
    await staff(bot, InviteSpec(Role.OFFICER, "fire"))
    await admin.send("/addenterprise Golden Dragon | 91350100M000100Y43 | laocheng | 1 Market Lane")
    enterprise_id = int(admin.last.plain.split("/invite enterprise ")[1].split()[0])
    await admin.send(
        f"/editenterprise {enterprise_id} | Golden Dragon Restaurant | 91350100M000100Y43"
        " | dongpo | 8 River Road"
    )
    assert admin.last.plain.startswith("Enterprise updated:")
    row = await bot.db.read.enterprises.get(enterprise_id)
    assert row is not None
    assert (row.name, row.district, row.address) == (
        "Golden Dragon Restaurant",
        "dongpo",
        "8 River Road",
    )
    await admin.send(f"/editenterprise {enterprise_id} | X | 91350100M000100Y44")
    assert "(check) character is 4, but for the first 17 characters it should be 3" in (
        admin.last.plain
    )
    await admin.send("/editenterprise 999 | X | 91350100M000100Y43")
    assert "There is no enterprise with id 999" in admin.last.plain
    await admin.send("/departments")
    assert "fire" in admin.last.plain
    assert "officers 1, supervisors 0, no group chat" in admin.last.plain
    citizen = bot.user(language="en")
    await citizen.send(f"/editenterprise {enterprise_id} | Hacked | 91350100M000100Y43")
    assert citizen.last.plain == "You are not allowed to do that."
    row = await bot.db.read.enterprises.get(enterprise_id)
    assert row is not None
    assert row.name == "Golden Dragon Restaurant"


async def test_admin_binds_a_department_group_chat_in_the_group(bot: Bot) -> None:
    admin = await staff(bot, InviteSpec(Role.ADMIN))
    group = -100500
    admin.join_group(group, title="Fire department")
    citizen = bot.user(language="en")
    citizen.join_group(group, title="Fire department")
    await citizen.send("/setgroup fire", chat_id=group)
    assert bot.api.messages_to(group)[-1].plain == "You are not allowed to do that."
    await admin.send("/setgroup fire", chat_id=group)
    assert "This group now gets the new cases" in bot.api.messages_to(group)[-1].plain
    number = await report(bot.user(language="en"))
    await bot.drain()
    card = bot.api.messages_to(group)[-1]
    assert f"新举报 {number}" in card.plain  # a group chat gets the city's default language
    assert card.has_button("受理")
    await admin.send("/departments")
    assert f"group chat {group}" in admin.last.plain
    await admin.send("/unsetgroup fire", chat_id=group)
    assert "no longer sends its cases" in bot.api.messages_to(group)[-1].plain


@pytest.mark.parametrize(
    ("language", "headline", "remove"),
    [
        ("zh-hans", "工作人员（第 1 至 2 位，共 2 位）：姓名 · 身份 · 所属", "移除 2. Wang Fang"),
        ("zh-hant", "工作人員（第 1 至 2 位，共 2 位）：姓名 · 身分 · 所屬", "移除 2. Wang Fang"),
        ("en", "Staff members (1–2 of 2): who · role · where", "Remove 2. Wang Fang"),
    ],
)
async def test_members_are_named_in_every_language(
    bot: Bot, language: str, headline: str, remove: str
) -> None:
    admin = await member(bot, Role.ADMIN, None, language=language)
    await make_member(bot, InviteSpec(Role.OFFICER, "fire"), first_name="Wang Fang")
    await admin.send("/members")
    assert admin.last.plain.startswith(headline)
    assert admin.last.has_button(remove)
