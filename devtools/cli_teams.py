"""`threadline team ...` and `threadline tenant configure`: teams, their members, and auto-assignment settings
(tenant-wide and per team). Registered by devtools.cli; runs as the schema owner, like every CLI command."""

from __future__ import annotations

import argparse
import json
from typing import Any

from devtools.cli_errors import CliError, uuid_argument
from threadline.vocabulary import READ_RECEIPTS


def on_off(value: str) -> bool:
    if value not in ("on", "off"):
        raise argparse.ArgumentTypeError(f"on or off, not {value!r}")
    return value == "on"


def _cap(value: str) -> int | None:
    """A positive number of open conversations per agent, or `none` for no cap."""
    if value.lower() == "none":
        return None
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"a positive integer or none, not {value!r}")
    return int(value)


def _add_assignment_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--auto-assign", type=on_off, metavar="on|off")
    parser.add_argument("--max-open-per-agent", type=_cap, default=argparse.SUPPRESS, metavar="N|none")


def add_tenant_configure_command(tenant: Any) -> None:
    configure = tenant.add_parser("configure", help="auto-assignment, read-receipt and deleted-message settings")
    configure.add_argument("tenant_id", type=uuid_argument)
    _add_assignment_options(configure)
    configure.add_argument("--read-receipts", choices=READ_RECEIPTS)
    configure.add_argument(
        "--keep-revoked-content",
        type=on_off,
        metavar="on|off",
        help="keep what a customer's deleted WhatsApp message said, for audit (on by default)",
    )
    configure.set_defaults(run=cmd_tenant_configure)


def add_team_commands(commands: Any) -> None:
    team = commands.add_parser("team", help="teams of agents").add_subparsers(dest="action", required=True)
    create = team.add_parser("create")
    create.add_argument("--tenant", required=True, type=uuid_argument)
    create.add_argument("--name", required=True)
    create.set_defaults(run=cmd_team_create)
    add_member = team.add_parser("add-member")
    add_member.add_argument("team_id", type=uuid_argument)
    add_member.add_argument("user_id", type=uuid_argument)
    add_member.set_defaults(run=cmd_team_add_member)
    configure = team.add_parser("configure", help="the team's own auto-assignment settings")
    configure.add_argument("team_id", type=uuid_argument)
    _add_assignment_options(configure)
    configure.set_defaults(run=cmd_team_configure)


def _print(payload: Any) -> None:
    print(json.dumps(payload, indent=2, default=str))


def _cap_change(args: argparse.Namespace) -> tuple[int | None, bool]:
    """(new cap, clear it): an absent option changes nothing, `none` removes the cap."""
    if not hasattr(args, "max_open_per_agent"):
        return None, False
    return args.max_open_per_agent, args.max_open_per_agent is None


def cmd_tenant_configure(args: argparse.Namespace, database_url: str) -> None:
    from threadline.db.connection import admin_connection
    from threadline.db.repositories.assignment import set_tenant_assignment

    cap, clear_cap = _cap_change(args)
    with admin_connection(database_url) as conn:
        settings = set_tenant_assignment(
            conn,
            args.tenant_id,
            auto_assign=args.auto_assign,
            max_open_per_agent=cap,
            clear_cap=clear_cap,
            read_receipts=args.read_receipts,
            keep_revoked_content=args.keep_revoked_content,
        )
    if settings is None:
        raise CliError(f"No tenant {args.tenant_id}")
    _print(settings)


def cmd_team_create(args: argparse.Namespace, database_url: str) -> None:
    from threadline.db.connection import admin_connection
    from threadline.db.repositories.assignment import insert_team

    with admin_connection(database_url) as conn:
        _print(insert_team(conn, tenant_id=args.tenant, name=args.name))


def cmd_team_add_member(args: argparse.Namespace, database_url: str) -> None:
    from threadline.db.connection import admin_connection
    from threadline.db.repositories.assignment import insert_team_member

    with admin_connection(database_url) as conn:
        member = insert_team_member(conn, team_id=args.team_id, user_id=args.user_id)
    if member is None:
        raise CliError(f"No team {args.team_id}")
    _print(member)


def cmd_team_configure(args: argparse.Namespace, database_url: str) -> None:
    from threadline.db.connection import admin_connection
    from threadline.db.repositories.assignment import set_team_assignment

    cap, clear_cap = _cap_change(args)
    with admin_connection(database_url) as conn:
        settings = set_team_assignment(
            conn, args.team_id, auto_assign=args.auto_assign, max_open_per_agent=cap, clear_cap=clear_cap
        )
    if settings is None:
        raise CliError(f"No team {args.team_id}")
    _print(settings)
