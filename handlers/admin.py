"""Admin tools: invites, staff members, enterprises. Every command and button re-checks the role."""

from __future__ import annotations

import html
import logging
import re

from telegram import InlineKeyboardMarkup, Update
from telegram.error import BadRequest, TelegramError
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from bot import accounts, departments, enterprises, invites, members
from bot.buttons import Space, button, decode, pattern
from bot.departments import DepartmentUnknown
from bot.enterprises import DistrictUnknown, EnterpriseUnknown
from bot.errors import NotAllowed, ShaoziError
from bot.invites import InviteSpec
from bot.tg.app import set_chat_commands
from bot.tg.context import Context
from bot.tg.keyboards import keyboard
from bot.vocabulary.models import Enterprise
from bot.vocabulary.roles import INVITABLE, Role
from handlers.common import answer, refused, role_name

log = logging.getLogger(__name__)

# adm:1:mem:OFFSET turns /members to the page from OFFSET; adm:1:rm:ID asks to remove a
# membership, adm:1:rmok:ID removes it, adm:1:rmno:ID keeps it.
PAGE, REMOVE, REMOVE_YES, REMOVE_NO = "mem", "rm", "rmok", "rmno"
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


def invite_spec(context: Context, args: list[str]) -> InviteSpec | str:
    """The invite the admin asked for, or the message saying what is wrong with the words."""
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
        if not number.isdigit():
            return _(EnterpriseUnknown.message).format(id=html.escape(value))
        return InviteSpec(Role.ENTERPRISE, enterprise_id=int(number))
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
    return InviteSpec(role, department=value.lower())


def invite_refusal(context: Context, args: list[str], error: ShaoziError) -> str:
    """Why the core made no invite, naming the department or enterprise as the admin typed it."""
    _ = context.gettext
    typed = html.escape(args[-1])
    if isinstance(error, DepartmentUnknown):
        return (
            _(error.message).format(code=typed)
            + "\n\n"
            + _("Department codes:")
            + "\n"
            + department_list(context)
        )
    if isinstance(error, EnterpriseUnknown):
        return _(error.message).format(id=typed)
    return error.render(_)


def spec_description(context: Context, spec: InviteSpec, enterprise: Enterprise | None) -> str:
    """Who the invite is for, e.g. "department officer of Fire and Rescue" (HTML)."""
    _ = context.gettext
    role = html.escape(role_name(context, spec.role))
    where = None
    if spec.department:
        where = department_name(context, spec.department)
    elif spec.enterprise_id is not None:
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
    args = context.args or []
    spec = invite_spec(context, args)
    if isinstance(spec, str):
        await message.reply_text(spec)
        return
    try:
        issued = await invites.issue(context.services, context.account, spec)
    except ShaoziError as exc:
        await message.reply_text(invite_refusal(context, args, exc))
        return
    expires = issued.expires_at.astimezone(context.services.settings.zone)
    text = _(
        "One-time invite for: {who}\n\n"
        "<code>{code}</code>\n\n"
        "Give it privately to that person only. They send <code>/join {code}</code> to this "
        "bot. The code works once, until {expires}."
    ).format(
        who=spec_description(context, spec, issued.enterprise),
        code=issued.code,
        expires=f"{expires:%Y-%m-%d %H:%M}",
    )
    await message.reply_text(text)


# /members --------------------------------------------------------------------------------------


def describe(context: Context, member: members.Member) -> str:
    """One membership as HTML: who, role, where."""
    membership = member.membership
    parts = [f"<b>{html.escape(members.member_name(membership))}</b>"]
    parts.append(html.escape(role_name(context, membership.role)))
    if membership.department:
        parts.append(html.escape(department_name(context, membership.department)))
    elif membership.enterprise_id is not None:
        company = member.enterprise
        name = f"{company.name} (#{company.id})" if company else ""
        parts.append(html.escape(name or f"#{membership.enterprise_id}"))
    elif membership.role is Role.SUPERVISOR:
        parts.append(html.escape(context.gettext("the whole city")))
    return " · ".join(parts)


def short_name(name: str, limit: int = 24) -> str:
    return name if len(name) <= limit else name[: limit - 1] + "…"


async def members_page(context: Context, offset: int) -> tuple[str, InlineKeyboardMarkup | None]:
    _ = context.gettext
    page = await members.staff_page(context.services, context.account, offset)
    if not page.total:
        return _("Nobody holds a staff role yet. Make an invite with /invite."), None
    lines = [
        _("Staff members ({first}–{last} of {total}): who · role · where").format(
            first=page.offset + 1, last=page.offset + len(page.members), total=page.total
        )
    ]
    buttons = []
    for number, member in enumerate(page.members, start=page.offset + 1):
        lines.append(f"{number}. {describe(context, member)}")
        name = f"{number}. {short_name(members.member_name(member.membership))}"
        label = _("Remove {member}").format(member=name)
        buttons.append(button(label, Space.ADMIN, REMOVE, member.membership.id))
    rows = [buttons[i : i + 4] for i in range(0, len(buttons), 4)]
    nav = []
    if page.previous is not None:
        nav.append(button(_("« Previous"), Space.ADMIN, PAGE, page.previous))
    if page.next is not None:
        nav.append(button(_("Next »"), Space.ADMIN, PAGE, page.next))
    if nav:
        rows.append(nav)
    return "\n".join(lines), keyboard(rows)


async def show_members(update: Update, context: Context) -> None:
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


async def ask_to_remove(update: Update, context: Context, membership_id: int) -> None:
    """Ask the admin to confirm removing a membership."""
    _ = context.gettext
    try:
        member = await members.removable(context.services, context.account, membership_id)
    except ShaoziError as exc:
        await answer(update, exc.render(_), alert=True)
        return
    await answer(update)
    text = _("Remove {member}? They lose this role at once.").format(
        member=describe(context, member)
    )
    confirm = [
        button(_("Yes, remove"), Space.ADMIN, REMOVE_YES, membership_id),
        button(_("Keep"), Space.ADMIN, REMOVE_NO, membership_id),
    ]
    await context.bot.send_message(context.account.id, text, reply_markup=keyboard([confirm]))


async def remove(update: Update, context: Context, membership_id: int) -> None:
    """Remove a membership the admin confirmed, unless it is gone or their own admin role."""
    _ = context.gettext
    query = update.callback_query
    assert query is not None
    try:
        member = await members.remove(context.services, context.account, membership_id)
    except ShaoziError as exc:
        await answer(update, exc.render(_), alert=True)
        return
    await answer(update)
    text = _("Removed: {member}.").format(member=describe(context, member))
    await query.edit_message_text(text)
    await refresh_menu(context, member.membership.user_id)


async def keep(update: Update, context: Context, membership_id: int) -> None:
    """Say that nothing was removed."""
    query = update.callback_query
    assert query is not None
    await answer(update)
    await query.edit_message_text(context.gettext("Nothing was removed."))


async def refresh_menu(context: Context, user_id: int) -> None:
    """Give a member who lost a role the command menu of the roles they still have."""
    account = await accounts.account_of(context.services, user_id)
    if account is None:
        return
    try:
        await set_chat_commands(context.bot, context.services.catalogs, account)
    except TelegramError as exc:
        log.warning("could not update the command menu of %s: %s", user_id, exc)


BUTTONS = {PAGE: turn_members_page, REMOVE: ask_to_remove, REMOVE_YES: remove, REMOVE_NO: keep}


async def on_button(update: Update, context: Context) -> None:
    """Check that an admin pressed it, then act on a /members button."""
    if await refused(update, context):
        return
    query = update.callback_query
    assert query is not None
    pressed = decode(query.data)
    act = BUTTONS.get(pressed.action) if pressed is not None and len(pressed.args) == 1 else None
    number = pressed.number(0) if pressed is not None else None
    if act is None or number is None:
        await answer(update, context.gettext("This button is no longer valid."), alert=True)
        return
    await act(update, context, number)


# /enterprises and /addenterprise ----------------------------------------------------------------


def enterprise_line(context: Context, enterprise: Enterprise) -> str:
    return (
        f"#{enterprise.id} <b>{html.escape(enterprise.name)}</b>"
        f" · <code>{html.escape(enterprise.credit_code or '—')}</code>"
        f" · {html.escape(district_name(context, enterprise.district))}"
    )


async def list_enterprises(update: Update, context: Context) -> None:
    """Find enterprises by a part of the name or the credit code; list the first without one."""
    if await refused(update, context):
        return
    _ = context.gettext
    message = update.effective_message
    assert message is not None
    needle = command_text(update)
    listing = await enterprises.list_enterprises(
        context.services, context.account, needle, ENTERPRISES_SHOWN
    )
    found, total = listing.enterprises, listing.registered
    if total is None:
        if not found:
            await message.reply_text(
                _("No enterprise matches {text}. Register one with /addenterprise.").format(
                    text=html.escape(needle)
                )
            )
            return
        title = _("Enterprises matching {text}:").format(text=html.escape(needle))
    else:
        if total == 0:
            await message.reply_text(
                _(
                    "No enterprises are registered yet. Register one with /addenterprise, "
                    "or import a file: <code>python run_bot.py import-enterprises FILE.csv</code>"
                )
            )
            return
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


def typed_fields(update: Update) -> list[str]:
    """The `|`-separated fields after the command, their spaces tidied."""
    return [" ".join(f.split()) for f in FIELD_SEPARATOR.split(command_text(update))]


def enterprise_refusal(context: Context, error: ShaoziError) -> str:
    """Why an enterprise was not registered or updated (HTML: what the admin typed is escaped)."""
    _ = context.gettext
    text = html.escape(error.render(_))
    if isinstance(error, DistrictUnknown):
        text += "\n\n" + _("Districts:") + " " + district_list(context)
    return text


async def add_enterprise(update: Update, context: Context) -> None:
    """Register one enterprise after checking its credit code and district."""
    if await refused(update, context):
        return
    _ = context.gettext
    message = update.effective_message
    assert message is not None
    fields = typed_fields(update)
    if len(fields) < 2 or len(fields) > 4 or not fields[0] or not fields[1]:
        await message.reply_text(add_usage(context))
        return
    try:
        details = enterprises.check_details(context.city, *fields)
        enterprise = await enterprises.add_enterprise(context.services, context.account, details)
    except ShaoziError as exc:
        await message.reply_text(enterprise_refusal(context, exc))
        return
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
    fields = typed_fields(update)
    usage = _(
        "Send /editenterprise ID | NAME | CREDIT_CODE | DISTRICT | ADDRESS with the enterprise's "
        "id from /enterprises and all its fields as they should be."
    )
    if len(fields) < 3 or not fields[0].lstrip("#").isdigit() or not fields[1] or not fields[2]:
        await message.reply_text(usage)
        return
    enterprise_id = int(fields[0].lstrip("#"))
    try:
        details = enterprises.check_details(context.city, *fields[1:])
        updated = await enterprises.update_enterprise(
            context.services, context.account, enterprise_id, details
        )
    except ShaoziError as exc:
        await message.reply_text(enterprise_refusal(context, exc))
        return
    await message.reply_text(
        _("Enterprise updated:\n{enterprise}").format(enterprise=enterprise_line(context, updated))
    )


async def list_departments(update: Update, context: Context) -> None:
    """List the city's departments with their officers, supervisors and group chat."""
    if await refused(update, context):
        return
    _ = context.gettext
    message = update.effective_message
    assert message is not None
    language = context.tr.language
    lines = [
        _("Departments of {city}:").format(city=html.escape(context.city.city.name.get(language)))
    ]
    for staff in await departments.overview(context.services, context.account):
        chat_id = staff.group_chat
        group = (
            _("group chat {id}").format(id=chat_id) if chat_id is not None else _("no group chat")
        )
        lines.append(
            f"• <code>{staff.department.code}</code> "
            + html.escape(staff.department.name.get(language))
            + " · "
            + _("officers {officers}, supervisors {supervisors}, {group}").format(
                officers=staff.officers, supervisors=staff.supervisors, group=group
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
    if not context.has_account:  # not sent by a user: nobody to check
        await message.reply_text(NotAllowed().render(_))
        return
    unbind = bool(message.text and message.text.startswith("/unsetgroup"))
    code = (context.args or [""])[0].strip().lower()
    services, actor = context.services, context.account
    try:
        if unbind:
            department = await departments.unbind_group(services, actor, code)
        else:
            department = await departments.bind_group(services, actor, code, chat.id)
    except DepartmentUnknown:
        await message.reply_text(
            _("Send /setgroup CODE in the group, with one of: {codes}").format(
                codes=department_list(context)
            )
        )
        return
    except ShaoziError as exc:
        await message.reply_text(exc.render(_))
        return
    name = html.escape(department.name.get(context.tr.language))
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
        CommandHandler("members", show_members, private),
        CommandHandler("enterprises", list_enterprises, private),
        CommandHandler("addenterprise", add_enterprise, private),
        CommandHandler("editenterprise", edit_enterprise, private),
        CommandHandler("departments", list_departments, private),
        CommandHandler(["setgroup", "unsetgroup"], set_group, filters.ChatType.GROUPS),
        # Every admin button, well-formed or not: a non-admin is refused, never routed further.
        CallbackQueryHandler(on_button, pattern=pattern(Space.ADMIN)),
    ]
