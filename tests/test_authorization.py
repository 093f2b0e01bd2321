"""Every command and every button kind, tried by every role: nothing is read or changed.

Buttons are forged with real case ids and versions, so the only thing between them and the case
is the server's check of who presses them.
"""

from __future__ import annotations

from bot.invites import InviteSpec, create_invite
from bot.vocabulary.roles import Role
from fakebotapi import FakeUser
from tests.support import tables
from tests.support.cases import DESCRIPTION, LAOCHENG, enterprise_named, report
from tests.support.chat import Bot
from tests.support.images import jpeg
from tests.support.people import staff

CASE_ACTIONS = (
    "open", "pho", "acc", "acc:red", "acc:red:major", "rej", "rej:not_hazard", "rej:other",
    "trf", "trf:housing", "dup", "ask", "asg", "asge:{ent}", "hdl", "dl:a:{ent}:7", "dl:h:0:7",
    "dl:k:0:7", "dlo:a:{ent}", "ack", "ackd", "cls", "ret", "exy", "exn", "fix", "ext",
    "rej:not_hazard:y", "rej:other:y", "cls:y", "cls:g0", "cls:g0:y", "cls:g1:nf:y",
    "cls:g1:5000:y", "rea", "rea:{ent}", "rdl", "rdl:7", "rdl:other", "rct", "rct:gas", "file",
    "ordt:{ent}:0:1", "ordw:{ent}:0", "ordp:{ent}:1:0", "ordd:{ent}:0:0:7", "ordo:{ent}:0:0",
    "who",
)  # fmt: skip
COMMANDS = (
    "/queue", "/case {number}", "/tasks", "/status {number}", "/my", "/members", "/invite admin",
    "/enterprises", "/addenterprise X | 91350100M000100Y43", "/report", "/identitylog {number}",
)  # fmt: skip


async def snapshot(bot: Bot, case_id: int) -> tuple[object, ...]:
    case = await bot.db.read.cases.get(case_id)
    assert case is not None
    events = await bot.db.read.cases.events(case_id)
    outbox = tables.count(bot.db, "outbox")
    return case.version, case.status, len(events), outbox


async def forge_everything(
    bot: Bot, user: FakeUser, case_id: int, version: int, enterprise_id: int, number: str
) -> str:
    """Press every button kind and send every command; return all the user was told."""
    await user.send("/start")
    anchor = user.last
    mark = len(user.transcript)
    answers = len(user.callback_answers)
    for action in CASE_ACTIONS:
        name, *args = action.format(ent=enterprise_id).split(":")
        data = ":".join(["cs", "1", name, str(case_id), str(version), *args])
        await user.press_data(data, anchor)
    for data in (
        f"vf:1:ok:{case_id}",
        f"vf:1:no:{case_id}",
        f"vf:1:bare:{case_id}",
        "qa:1:1",
        f"trk:1:case:{case_id}",
        "adm:1:rm:1",
        "adm:1:rmok:1",
    ):
        await user.press_data(data, anchor)
    for command in COMMANDS:
        await user.send(command.format(number=number))
    told = [m.plain for m in user.transcript[mark:]]
    told += [a.get("text") or "" for a in user.callback_answers[answers:]]
    return "\n".join(told)


async def test_forged_buttons_and_commands_change_and_reveal_nothing(bot: Bot) -> None:
    enterprise_id = await enterprise_named(bot, "Golden Dragon Restaurant", "91330100MA27XL0T4C")
    other_enterprise = await enterprise_named(bot, "Other Ltd", "91350100M000100Y43")
    officer = await staff(bot, InviteSpec(Role.OFFICER, "fire"))
    intruders = {
        "citizen": bot.user(language="en"),
        "officer of another department": await staff(bot, InviteSpec(Role.OFFICER, "housing")),
        "other enterprise": await staff(
            bot, InviteSpec(Role.ENTERPRISE, enterprise_id=other_enterprise)
        ),
        "department supervisor elsewhere": await staff(bot, InviteSpec(Role.SUPERVISOR, "housing")),
    }
    reporter = bot.user(language="en")
    number = await report(reporter)
    case = await bot.db.read.cases.by_number(number)
    assert case is not None
    await bot.drain()

    async def attack_all(stage: str) -> None:
        current = await bot.db.read.cases.get(case.id)
        assert current is not None
        before = await snapshot(bot, case.id)
        for role, user in intruders.items():
            told = await forge_everything(
                bot, user, case.id, current.version, enterprise_id, number
            )
            assert DESCRIPTION not in told, (stage, role)
            assert "Chen Jing" not in told, (stage, role)
            assert "13912345678" not in told, (stage, role)
            assert await snapshot(bot, case.id) == before, (stage, role)
            assert await bot.db.read.inputs.newest(user.user_id) is None, (stage, role)
            await user.send("/cancel")  # a /report draft of their own is fine; drop it

    await attack_all("submitted")
    # The reporter, too, cannot act as staff on their own case.
    before = await snapshot(bot, case.id)
    await reporter.send("/start")
    for action in ("acc:red:major", "rej:not_hazard", "cls", "fix"):
        name, *args = action.split(":")
        await reporter.press_data(
            ":".join(["cs", "1", name, str(case.id), str(case.version), *args]), reporter.last
        )
    assert await snapshot(bot, case.id) == before

    # The same data pressed by the right officer does act: the forgeries were well formed.
    await officer.send(f"/case {number}")
    await officer.press_data(f"cs:1:acc:{case.id}:{case.version}:orange:general", officer.last)
    accepted = await bot.db.read.cases.get(case.id)
    assert accepted is not None
    assert accepted.status == "accepted"
    await officer.send(f"/case {number}")
    await officer.press_data(
        f"cs:1:dl:{case.id}:{accepted.version}:a:{enterprise_id}:7", officer.last
    )
    assigned = await bot.db.read.cases.get(case.id)
    assert assigned is not None
    assert assigned.status == "assigned"
    await attack_all("assigned")

    contact = await staff(bot, InviteSpec(Role.ENTERPRISE, enterprise_id=enterprise_id))
    await contact.send("/tasks")
    await contact.press("Submit the fix")
    await contact.send_photo(jpeg(seed=50))
    await contact.send("Fixed.")
    await attack_all("fix submitted")

    await officer.send(f"/case {number}")
    await officer.press("Verified: close the case")
    await officer.press("Genuine")  # the reward outcome, asked for a citizen's report
    await officer.press("No fine")
    await officer.press("Yes, close it")
    await bot.drain()
    closed = await bot.db.read.cases.get(case.id)
    assert closed is not None
    assert closed.status == "closed"
    await attack_all("closed")


async def test_officers_see_only_their_department(bot: Bot) -> None:
    fire = await staff(bot, InviteSpec(Role.OFFICER, "fire"))
    housing = await staff(bot, InviteSpec(Role.OFFICER, "housing"))
    city_supervisor = await staff(bot, InviteSpec(Role.SUPERVISOR))
    reporter = bot.user(language="en")
    await reporter.send("/report")
    await reporter.press("Fire safety")
    await reporter.send_location(*LAOCHENG)
    await reporter.send(DESCRIPTION)
    await reporter.press("No photo")
    await reporter.press("Go on without a photo")
    await reporter.press("Anonymous")
    await reporter.press("Submit")
    number = reporter.last.plain.split("filed as ")[1].split()[0]
    await bot.drain()
    await fire.send("/queue")
    assert number in fire.last.plain
    await housing.send("/queue")
    assert number not in housing.last.plain
    await housing.send(f"/case {number}")
    assert housing.last.plain == f"There is no case {number} that you can see."
    await city_supervisor.send(f"/case {number}")
    assert DESCRIPTION in city_supervisor.last.plain
    assert "Reporter" not in city_supervisor.last.plain


async def test_join_codes_cannot_be_guessed_into_roles(bot: Bot) -> None:
    code = await create_invite(bot.db, InviteSpec(Role.OFFICER, "fire"), bot.clock.now())
    citizen = bot.user(language="en")
    await citizen.send("/join " + code[:-1] + ("A" if code[-1] != "A" else "B"))
    assert citizen.last.plain.startswith("This invite code is not valid.")
    row = await bot.db.read.users.memberships(citizen.user_id)
    assert row == []
