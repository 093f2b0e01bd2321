"""Admin tools: invites, staff members, enterprises. Every command and button re-checks the role."""

from __future__ import annotations

import html
import logging
import re

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, TelegramError
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from bot.accounts import Account
from bot.enterprises import (
    ADDRESS_MAX,
    NAME_MAX,
    credit_code_error,
    district_code,
    normalise_credit_code,
)
from bot.errors import NotAllowed
from bot.invites import DEFAULT_VALIDITY, InviteSpec, create_invite
from bot.tg.app import set_chat_commands
from bot.tg.context import Context
from bot.vocabulary.models import Enterprise, Membership
from bot.vocabulary.roles import INVITABLE, Role
from handlers.common import answer, refused, role_name

log = logging.getLogger(__name__)

PREFIX = "adm:1"
BUTTON = re.compile(rf"^{PREFIX}:(rm|rmok|rmno|mem):(\d+)$")
MEMBERS_PAGE = 20
ENTERPRISES_SHOWN = 10
# "|" as typed on a Chinese keyboard is often the full-width "｜".
FIELD_SEPARATOR = re.compile(r"[|｜]")


def command_text(update: Update) -> str:
    """What follows the command, spaces inside kept (names may have them)."""
    message = update.effective_message
    parts = (message.text or "").split(maxsplit=1) if message else []
    return parts[1].strip() if len(parts) > 1 else ""


def department_list(context: Context) -> str:
    language = context.tr.language
    return "\n".join(
        f"<code>{d.code}</code> — {html.escape(d.name.get(language))}"
        for d in context.city.departments
    )


def district_list(context: Context) -> str:
    language = context.tr.language
    return ", ".join(
        f"<code>{d.code}</code> ({html.escape(d.name.get(language))})"
        for d in context.city.districts
    )


def district_name(context: Context, code: str | None) -> str:
    if code is None:
        return "—"
    district = context.city.district(code)
    return district.name.get(context.tr.language) if district else code


def department_name(context: Context, code: str) -> str:
    department = context.city.department(code)
    return department.name.get(context.tr.language) if department else code


# /invite ---------------------------------------------------------------------------------------


def invite_usage(context: Context) -> str:
    _ = context.gettext
    return (
        _(
            "Send /invite followed by the role:\n"
            "<code>/invite officer DEPARTMENT</code> — a department officer\n"
            "<code>/invite supervisor</code> — a supervisor of the whole city, or "
            "<code>/invite supervisor DEPARTMENT</code> — of one department\n"
            "<code>/invite enterprise ENTERPRISE_ID</code> — an enterprise's safety officer "
            "(find the id with /enterprises)\n"
            "<code>/invite admin</code> — an administrator"
        )
        + "\n\n"
        + _("Department codes:")
        + "\n"
        + department_list(context)
    )


async def invite_spec(context: Context, args: list[str]) -> InviteSpec | str:
    """The invite the admin asked for, or the message saying what is wrong."""
    _ = context.gettext
    if not args:
        return invite_usage(context)
    word, rest = args[0].lower(), args[1:]
    role = next((r for r in INVITABLE if r.value == word), None)
    if role is None:
        return (
            _("There is no role {role}.").format(role=html.escape(args[0]))
            + "\n\n"
            + invite_usage(context)
        )
    if len(rest) > 1:
        return invite_usage(context)
    value = rest[0] if rest else None
    if role is Role.ADMIN:
        if value is not None:
            return _("An administrator invite takes no department or enterprise: /invite admin")
        return InviteSpec(Role.ADMIN)
    if role is Role.ENTERPRISE:
        if value is None:
            return _(
                "An enterprise invite needs the enterprise's id: /invite enterprise ID. "
                "Find the id with /enterprises NAME."
            )
        number = value.lstrip("#")
        enterprise = (
            await context.db.read.enterprises.get(int(number)) if number.isdigit() else None
        )
        if enterprise is None:
            return _("There is no enterprise with id {id}. Find it with /enterprises NAME.").format(
                id=html.escape(value)
            )
        return InviteSpec(Role.ENTERPRISE, enterprise_id=enterprise.id)
    if value is None:
        if role is Role.OFFICER:
            return (
                _("An officer invite needs a department code: /invite officer CODE.")
                + "\n\n"
                + _("Department codes:")
                + "\n"
                + department_list(context)
            )
        return InviteSpec(Role.SUPERVISOR)
    department = context.city.department(value.lower())
    if department is None:
        return (
            _("There is no department {code}.").format(code=html.escape(value))
            + "\n\n"
            + _("Department codes:")
            + "\n"
            + department_list(context)
        )
    return InviteSpec(role, department=department.code)


async def spec_description(context: Context, spec: InviteSpec) -> str:
    """Who the invite is for, e.g. "department officer of Fire and Rescue" (HTML)."""
    _ = context.gettext
    role = html.escape(role_name(context, spec.role))
    where = None
    if spec.department:
        where = department_name(context, spec.department)
    elif spec.enterprise_id is not None:
        enterprise = await context.db.read.enterprises.get(spec.enterprise_id)
        where = enterprise.name if enterprise else f"#{spec.enterprise_id}"
    elif spec.role is Role.SUPERVISOR:
        where = _("the whole city")
    if where is None:
        return role
    return _("{role} of {where}").format(role=role, where=html.escape(where))


async def invite(update: Update, context: Context) -> None:
    """Make a one-time invite code for a staff role and say how to hand it over."""
    if await refused(update, context):
        return
    _ = context.gettext
    message = update.effective_message
    assert message is not None
    spec = await invite_spec(context, context.args or [])
    if isinstance(spec, str):
        await message.reply_text(spec)
        return
    now = context.clock.now()
    code = await create_invite(context.db, spec, now, created_by=context.account.id)
    expires = (now + DEFAULT_VALIDITY).astimezone(context.services.settings.zone)
    text = _(
        "One-time invite for: {who}\n\n"
        "<code>{code}</code>\n\n"
        "Give it privately to that person only. They send <code>/join {code}</code> to this "
        "bot. The code works once, until {expires}."
    ).format(
        who=await spec_description(context, spec),
        code=code,
        expires=f"{expires:%Y-%m-%d %H:%M}",
    )
    await message.reply_text(text)


# /members --------------------------------------------------------------------------------------


async def describe(context: Context, membership: Membership) -> str:
    """One membership as HTML: role, where, the member's Telegram id."""
    parts = [html.escape(role_name(context, membership.role))]
    if membership.department:
        parts.append(html.escape(department_name(context, membership.department)))
    elif membership.enterprise_id is not None:
        enterprise = await context.db.read.enterprises.get(membership.enterprise_id)
        name = f"{enterprise.name} (#{enterprise.id})" if enterprise else ""
        parts.append(html.escape(name or f"#{membership.enterprise_id}"))
    elif membership.role is Role.SUPERVISOR:
        parts.append(html.escape(context.gettext("the whole city")))
    parts.append(f"<code>{membership.user_id}</code>")
    return " · ".join(parts)


async def members_page(context: Context, offset: int) -> tuple[str, InlineKeyboardMarkup | None]:
    _ = context.gettext
    memberships = await context.db.read.users.all_memberships()
    if not memberships:
        return _("Nobody holds a staff role yet. Make an invite with /invite."), None
    offset = max(0, min(offset, (len(memberships) - 1) // MEMBERS_PAGE * MEMBERS_PAGE))
    shown = memberships[offset : offset + MEMBERS_PAGE]
    lines = [
        _("Staff members ({first}–{last} of {total}): role · where · Telegram id").format(
            first=offset + 1, last=offset + len(shown), total=len(memberships)
        )
    ]
    buttons = []
    for number, membership in enumerate(shown, start=offset + 1):
        lines.append(f"{number}. {await describe(context, membership)}")
        buttons.append(
            InlineKeyboardButton(
                _("Remove {number}").format(number=number),
                callback_data=f"{PREFIX}:rm:{membership.id}",
            )
        )
    rows = [buttons[i : i + 4] for i in range(0, len(buttons), 4)]
    nav = []
    if offset > 0:
        previous = max(0, offset - MEMBERS_PAGE)
        nav.append(InlineKeyboardButton(_("« Previous"), callback_data=f"{PREFIX}:mem:{previous}"))
    if offset + MEMBERS_PAGE < len(memberships):
        following = offset + MEMBERS_PAGE
        nav.append(InlineKeyboardButton(_("Next »"), callback_data=f"{PREFIX}:mem:{following}"))
    if nav:
        rows.append(nav)
    return "\n".join(lines), InlineKeyboardMarkup(rows)


async def members(update: Update, context: Context) -> None:
    """List every staff membership with a button to remove each."""
    if await refused(update, context):
        return
    message = update.effective_message
    assert message is not None
    text, markup = await members_page(context, 0)
    await message.reply_text(text, reply_markup=markup)


async def turn_members_page(update: Update, context: Context, offset: int) -> None:
    """Show another page of /members in the same message."""
    query = update.callback_query
    assert query is not None
    await answer(update)
    text, markup = await members_page(context, offset)
    try:
        await query.edit_message_text(text, reply_markup=markup)
    except BadRequest as exc:  # a double press: the page is shown already
        log.info("members page not turned: %s", exc.message)


def own_admin_role(context: Context, membership: Membership) -> bool:
    # Only another admin may remove an admin, so the bot is never left without one.
    return membership.role is Role.ADMIN and membership.user_id == context.account.id


async def ask_to_remove(update: Update, context: Context, membership_id: int) -> None:
    """Ask the admin to confirm removing a membership."""
    _ = context.gettext
    membership = await context.db.read.users.membership(membership_id)
    if membership is None:
        await answer(update, _("This member was already removed."), alert=True)
        return
    if own_admin_role(context, membership):
        await answer(update, own_admin_refusal(context), alert=True)
        return
    await answer(update)
    text = _("Remove {member}? They lose this role at once.").format(
        member=await describe(context, membership)
    )
    markup = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    _("Yes, remove"), callback_data=f"{PREFIX}:rmok:{membership.id}"
                ),
                InlineKeyboardButton(_("Keep"), callback_data=f"{PREFIX}:rmno:{membership.id}"),
            ]
        ]
    )
    await context.bot.send_message(context.account.id, text, reply_markup=markup)


def own_admin_refusal(context: Context) -> str:
    return context.gettext(
        "You cannot remove your own administrator role: ask another administrator to do it, "
        "so the bot is never left without one."
    )


async def remove(update: Update, context: Context, membership_id: int) -> None:
    """Remove a membership the admin confirmed, unless it is gone or their own admin role."""
    _ = context.gettext
    query = update.callback_query
    assert query is not None
    async with context.db.transaction() as tx:
        membership = await tx.users.membership(membership_id)
        if membership is not None and not own_admin_role(context, membership):
            await tx.users.remove_membership(membership_id)
    if membership is None:
        await answer(update, _("This member was already removed."), alert=True)
        return
    if own_admin_role(context, membership):
        await answer(update, own_admin_refusal(context), alert=True)
        return
    log.info("admin %s removed membership %s", context.account.id, membership)
    await answer(update)
    text = _("Removed: {member}.").format(member=await describe(context, membership))
    await query.edit_message_text(text)
    await refresh_menu(context, membership.user_id)


async def keep(update: Update, context: Context, membership_id: int) -> None:
    """Say that nothing was removed."""
    query = update.callback_query
    assert query is not None
    await answer(update)
    await query.edit_message_text(context.gettext("Nothing was removed."))


async def refresh_menu(context: Context, user_id: int) -> None:
    """Give a member who lost a role the command menu of the roles they still have."""
    user = await context.db.read.users.get(user_id)
    if user is None:
        return
    memberships = await context.db.read.users.memberships(user_id)
    account = Account(user, memberships, context.city.city.default_language)
    try:
        await set_chat_commands(context.bot, context.services.catalogs, account)
    except TelegramError as exc:
        log.warning("could not update the command menu of %s: %s", user_id, exc)


async def on_button(update: Update, context: Context) -> None:
    """Check that an admin pressed it, then act on a /members button."""
    if await refused(update, context):
        return
    query = update.callback_query
    assert query is not None
    match = BUTTON.match(query.data or "")
    if match is None:
        await answer(update, context.gettext("This button is no longer valid."), alert=True)
        return
    action, number = match.group(1), int(match.group(2))
    if action == "mem":
        await turn_members_page(update, context, number)
    elif action == "rm":
        await ask_to_remove(update, context, number)
    elif action == "rmok":
        await remove(update, context, number)
    else:
        await keep(update, context, number)


# /enterprises and /addenterprise ----------------------------------------------------------------


def enterprise_line(context: Context, enterprise: Enterprise) -> str:
    return (
        f"#{enterprise.id} <b>{html.escape(enterprise.name)}</b>"
        f" · <code>{html.escape(enterprise.credit_code or '—')}</code>"
        f" · {html.escape(district_name(context, enterprise.district))}"
    )


async def enterprises(update: Update, context: Context) -> None:
    """Find enterprises by a part of the name or the credit code; list the first without one."""
    if await refused(update, context):
        return
    _ = context.gettext
    message = update.effective_message
    assert message is not None
    needle = command_text(update)
    repo = context.db.read.enterprises
    if needle:
        found = await repo.search(needle, limit=ENTERPRISES_SHOWN)
        if not found:
            await message.reply_text(
                _("No enterprise matches {text}. Register one with /addenterprise.").format(
                    text=html.escape(needle)
                )
            )
            return
        title = _("Enterprises matching {text}:").format(text=html.escape(needle))
    else:
        total = await repo.count()
        if total == 0:
            await message.reply_text(
                _(
                    "No enterprises are registered yet. Register one with /addenterprise, "
                    "or import a file: <code>python run_bot.py import-enterprises FILE.csv</code>"
                )
            )
            return
        found = await repo.first_by_name(ENTERPRISES_SHOWN)
        title = context.ngettext(
            "{count} enterprise is registered.", "{count} enterprises are registered.", total
        ).format(count=total)
        if total > len(found):
            title += " " + _(
                "The first {shown} by name; send /enterprises NAME to find one:"
            ).format(shown=len(found))
    lines = [title, "", *(enterprise_line(context, e) for e in found)]
    await message.reply_text("\n".join(lines))


def add_usage(context: Context) -> str:
    _ = context.gettext
    return (
        _(
            "Send the enterprise on one line, its fields separated by |:\n"
            "<code>/addenterprise NAME | CREDIT_CODE | DISTRICT | ADDRESS</code>\n"
            "The district and the address may be left out."
        )
        + "\n\n"
        + _("Districts:")
        + " "
        + district_list(context)
    )


async def enterprise_fields(
    context: Context, fields: list[str]
) -> tuple[str, str, str | None, str | None] | str:
    """Name, credit code, district and address from a `|`-separated line, or what is wrong."""
    _ = context.gettext
    fields += [""] * (4 - len(fields))
    name, code, district_text, address = fields
    code = normalise_credit_code(code)
    problem = credit_code_error(code)
    if problem is not None:
        return html.escape(problem.render(_))
    if len(name) > NAME_MAX:
        return _("The name may have at most {limit} characters.").format(limit=NAME_MAX)
    if len(address) > ADDRESS_MAX:
        return _("The address may have at most {limit} characters.").format(limit=ADDRESS_MAX)
    district = district_code(context.city, district_text) if district_text else None
    if district_text and district is None:
        return (
            _("There is no district {district}.").format(district=html.escape(district_text))
            + "\n\n"
            + _("Districts:")
            + " "
            + district_list(context)
        )
    return name, code, district, address or None


async def add_enterprise(update: Update, context: Context) -> None:
    """Register one enterprise after checking its credit code and district."""
    if await refused(update, context):
        return
    _ = context.gettext
    message = update.effective_message
    assert message is not None
    fields = [" ".join(f.split()) for f in FIELD_SEPARATOR.split(command_text(update))]
    if len(fields) < 2 or len(fields) > 4 or not fields[0] or not fields[1]:
        await message.reply_text(add_usage(context))
        return
    parsed = await enterprise_fields(context, fields)
    if isinstance(parsed, str):
        await message.reply_text(parsed)
        return
    name, code, district, address = parsed
    async with context.db.transaction() as tx:
        existing = await tx.enterprises.by_credit_code(code)
        if existing is None:
            new_id = await tx.enterprises.add(name, code, district, address, context.clock.now())
            enterprise = await tx.enterprises.get(new_id)
    if existing is not None:
        await message.reply_text(
            _("The credit code {code} is already registered as #{id} {name}.").format(
                code=code, id=existing.id, name=html.escape(existing.name)
            )
        )
        return
    assert enterprise is not None
    await message.reply_text(
        _(
            "Enterprise registered:\n{enterprise}\n\n"
            "To invite its safety officer: <code>/invite enterprise {id}</code>"
        ).format(enterprise=enterprise_line(context, enterprise), id=enterprise.id)
    )


async def edit_enterprise(update: Update, context: Context) -> None:
    """Correct an enterprise's name, credit code, district or address."""
    if await refused(update, context):
        return
    _ = context.gettext
    message = update.effective_message
    assert message is not None
    fields = [" ".join(f.split()) for f in FIELD_SEPARATOR.split(command_text(update))]
    usage = _(
        "Send /editenterprise ID | NAME | CREDIT_CODE | DISTRICT | ADDRESS with the enterprise's "
        "id from /enterprises and all its fields as they should be."
    )
    if len(fields) < 3 or not fields[0].lstrip("#").isdigit() or not fields[1] or not fields[2]:
        await message.reply_text(usage)
        return
    enterprise_id = int(fields[0].lstrip("#"))
    parsed = await enterprise_fields(context, fields[1:])
    if isinstance(parsed, str):
        await message.reply_text(parsed)
        return
    name, code, district, address = parsed
    async with context.db.transaction() as tx:
        current = await tx.enterprises.get(enterprise_id)
        other = await tx.enterprises.by_credit_code(code)
        if current is not None and (other is None or other.id == enterprise_id):
            await tx.enterprises.update(enterprise_id, name, code, district, address)
        updated = await tx.enterprises.get(enterprise_id)
    if current is None:
        await message.reply_text(
            _("There is no enterprise with id {id}. Find it with /enterprises NAME.").format(
                id=enterprise_id
            )
        )
        return
    if other is not None and other.id != enterprise_id:
        await message.reply_text(
            _("The credit code {code} is already registered as #{id} {name}.").format(
                code=code, id=other.id, name=html.escape(other.name)
            )
        )
        return
    assert updated is not None
    await message.reply_text(
        _("Enterprise updated:\n{enterprise}").format(enterprise=enterprise_line(context, updated))
    )


async def departments(update: Update, context: Context) -> None:
    """List the city's departments with their officers, supervisors and group chat."""
    if await refused(update, context):
        return
    _ = context.gettext
    message = update.effective_message
    assert message is not None
    lines = [
        _("Departments of {city}:").format(
            city=html.escape(context.city.city.name.get(context.tr.language))
        )
    ]
    for department in context.city.departments:
        officers = await context.db.read.users.members("officer", department=department.code)
        supervisors = await context.db.read.users.members("supervisor", department=department.code)
        chat_id = await context.db.read.departments.group_chat(department.code)
        chat_id = chat_id if chat_id is not None else department.group_chat_id
        group = (
            _("group chat {id}").format(id=chat_id) if chat_id is not None else _("no group chat")
        )
        lines.append(
            f"• <code>{department.code}</code> "
            + html.escape(department.name.get(context.tr.language))
            + " · "
            + _("officers {officers}, supervisors {supervisors}, {group}").format(
                officers=len(officers), supervisors=len(supervisors), group=group
            )
        )
    lines.append("")
    lines.append(
        _(
            "Departments and routing are set in the city file; check a changed file with "
            "run_bot.py check-config before restarting the bot. Invite officers with "
            "/invite officer CODE. To give a department a group chat, add the bot to the group "
            "and send /setgroup CODE there."
        )
    )
    await message.reply_text("\n".join(lines))


async def set_group(update: Update, context: Context) -> None:
    """Bind the group this is sent in as a department's group chat (or unbind it)."""
    _ = context.gettext
    message = update.effective_message
    chat = update.effective_chat
    assert message is not None
    assert chat is not None
    if not context.has_account or not context.account.has(Role.ADMIN):
        await message.reply_text(NotAllowed().render(_))
        return
    unbind = bool(message.text and message.text.startswith("/unsetgroup"))
    code = (context.args or [""])[0].strip().lower()
    department = context.city.department(code)
    if department is None:
        await message.reply_text(
            _("Send /setgroup CODE in the group, with one of: {codes}").format(
                codes=department_list(context)
            )
        )
        return
    name = html.escape(department.name.get(context.tr.language))
    async with context.db.transaction() as tx:
        if unbind:
            await tx.departments.unbind_group(department.code)
        else:
            await tx.departments.bind_group(
                department.code, chat.id, context.account.id, context.clock.now()
            )
    if unbind:
        await message.reply_text(
            _("{department} no longer sends its cases to a group chat.").format(department=name)
        )
    else:
        await message.reply_text(
            _(
                "This group now gets the new cases, reminders and weekly digest of {department}. "
                "Officers act on the buttons here as in their own chats."
            ).format(department=name)
        )


def handlers() -> list[BaseHandler[Update, Context, object]]:
    private = filters.ChatType.PRIVATE
    return [
        CommandHandler("invite", invite, private),
        CommandHandler("members", members, private),
        CommandHandler("enterprises", enterprises, private),
        CommandHandler("addenterprise", add_enterprise, private),
        CommandHandler("editenterprise", edit_enterprise, private),
        CommandHandler("departments", departments, private),
        CommandHandler(["setgroup", "unsetgroup"], set_group, filters.ChatType.GROUPS),
        # Every admin button, well-formed or not: a non-admin is refused, never routed further.
        CallbackQueryHandler(on_button, pattern=f"^{PREFIX}:"),
    ]
