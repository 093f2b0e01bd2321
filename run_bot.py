#!/usr/bin/env python3
"""Shaozi's command line: run the bot, migrate, make invites, back up, import enterprises,
manage Open311 partner keys, check a city file."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bot import commands
from bot.city import CityConfig, CityConfigError, load_city
from bot.enterprises import EnterpriseFileError
from bot.invites import InviteSpec
from bot.settings import Settings, SettingsError, load_settings
from bot.tg.app import InstallHandlers
from bot.tg.run import run
from bot.vocabulary.roles import INVITABLE, Role

NO_TOKEN = """\
No bot token: set SHAOZI_TOKEN in the environment or in a .env file.
To get one, open Telegram, talk to @BotFather, send /newbot and follow the steps;
it answers with a token like 123456789:AAE... . Then run, for example:
    SHAOZI_TOKEN=123456789:AAE... python run_bot.py"""


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="run_bot.py", description=__doc__)
    sub = top.add_subparsers(dest="command", metavar="COMMAND")
    sub.add_parser("run", help="run the bot (default): long polling, or a webhook if configured")
    sub.add_parser("migrate", help="create or upgrade the database, then exit")
    inv = sub.add_parser("invite", help="print a one-time invite code for a role")
    inv.add_argument("--role", required=True, choices=[r.value for r in INVITABLE])
    where = inv.add_mutually_exclusive_group()
    where.add_argument("--department", metavar="CODE", help="the department (officer, supervisor)")
    where.add_argument("--enterprise", metavar="ID", type=int, help="the enterprise's id")
    bak = sub.add_parser(
        "backup",
        help="copy the live database to PATH (SQLite online backup; pg_dump's custom format"
        " for PostgreSQL, restored with pg_restore)",
    )
    bak.add_argument("path", type=Path)
    imp = sub.add_parser(
        "import-enterprises",
        help="add or update enterprises from a CSV file (UTF-8): all rows or none",
        description="Columns: name/名称, credit_code/统一社会信用代码 (required), "
        "district/区 (a district code or name), address/地址. An enterprise whose credit code "
        "is already stored is updated; an empty district or address keeps the stored one.",
    )
    imp.add_argument("file", type=Path)
    imp.add_argument(
        "--list", action="store_true", help="print id, credit code and name of each one imported"
    )
    box = sub.add_parser(
        "sandbox",
        help="try the bot without a token: a local fake Telegram and a chat page in the browser",
        description="Runs the real bot against a local fake Bot API (nothing reaches Telegram) "
        "and serves a page on 127.0.0.1 where you chat as a citizen, an officer, an enterprise "
        "contact, a supervisor and an admin of the sample city.",
    )
    box.add_argument("--port", type=int, default=8765, help="port on 127.0.0.1 (default 8765)")
    box.add_argument(
        "--data", type=Path, metavar="DIR", help="keep the database and photos here (default: temp)"
    )
    box.add_argument(
        "--language",
        choices=["zh-hans", "zh-hant", "en"],
        default="zh-hans",
        help="the sandbox users' Telegram language (default zh-hans)",
    )
    key = sub.add_parser("apikey", help="partner keys of the Open311 API: add, list, revoke")
    keys = key.add_subparsers(dest="apikey", metavar="ACTION", required=True)
    add = keys.add_parser("add", help="a new key for a partner; prints it alone on the last line")
    add.add_argument("name", help="the partner's name (its cases' channel)")
    add.add_argument("--webhook", metavar="URL", help="where the partner's events are POSTed")
    add.add_argument(
        "--all-cases",
        action="store_true",
        help="send the webhook events of every case, not only the partner's own",
    )
    keys.add_parser("list", help="every partner, its webhook and whether it is revoked")
    rev = keys.add_parser("revoke", help="revoke a partner's key")
    rev.add_argument("name")
    chk = sub.add_parser("check-config", help="validate a city configuration file")
    chk.add_argument("file", type=Path, nargs="?", help="default: SHAOZI_CITY")
    return top


def fail(lines: list[str], code: int = 2) -> int:
    for line in lines:
        print(f"error: {line}", file=sys.stderr)
    return code


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    command = args.command or "run"
    try:
        settings: Settings = load_settings()
    except SettingsError as exc:
        return fail(exc.lines)
    commands.configure_logging(settings)
    city_path = args.file if command == "check-config" and args.file else settings.city
    try:
        city: CityConfig = load_city(city_path)
    except CityConfigError as exc:
        return fail([f"{exc.path}: {line}" for line in exc.lines])
    try:
        if command == "run":
            if settings.token is None:
                print(NO_TOKEN, file=sys.stderr)
                return 2
            run(settings, city, install_handlers())
        elif command == "sandbox":
            from sandbox.server import run_sandbox

            run_sandbox(
                city,
                install_handlers(),
                port=args.port,
                data_dir=args.data,
                timezone=settings.timezone,
                language=args.language,
            )
        elif command == "migrate":
            applied = commands.migrate(settings)
            print(f"database {settings.database_label}: applied {len(applied)} migration(s)")
        elif command == "invite":
            spec = InviteSpec(Role(args.role), args.department, args.enterprise)
            code = commands.invite(settings, city, spec)
            print(f"one-time invite for the {args.role} role (valid 7 days); send /join CODE:")
            print(code)
        elif command == "backup":
            commands.backup_database(settings, args.path)
            print(f"backed up {settings.database_label} to {args.path}")
        elif command == "import-enterprises":
            result = commands.import_enterprises(settings, city, args.file)
            print(
                f"imported {result.total} enterprise(s): {result.new} new, {result.updated} updated"
            )
            if args.list:
                for enterprise in result.enterprises:
                    print(f"{enterprise.id}\t{enterprise.credit_code}\t{enterprise.name}")
        elif command == "apikey":
            apikey(settings, args)
        elif command == "check-config":
            print(
                f"{city_path}: OK ({len(city.departments)} departments, "
                f"{len(city.districts)} districts, {len(city.categories)} categories)"
            )
    except commands.CommandError as exc:
        return fail([str(exc)])
    except EnterpriseFileError as exc:
        return fail(exc.problems)
    return 0


def apikey(settings: Settings, args: argparse.Namespace) -> None:
    if args.apikey == "add":
        key = commands.apikey_add(settings, args.name, args.webhook, args.all_cases)
        print(f"API key for {args.name} (shown once; send it as api_key):")
        print(key)
    elif args.apikey == "list":
        for partner in commands.apikey_list(settings):
            state = f"revoked {partner.revoked_at:%Y-%m-%d}" if partner.revoked_at else "live"
            scope = "all cases" if partner.all_cases else "own cases"
            hook = f"{partner.webhook_url} ({scope})" if partner.webhook_url else "no webhook"
            print(f"{partner.name}\t{state}\t{hook}")
    else:
        commands.apikey_revoke(settings, args.name)
        print(f"revoked the key of {args.name}")


def install_handlers() -> InstallHandlers:
    import handlers

    return handlers.install


if __name__ == "__main__":
    sys.exit(main())
