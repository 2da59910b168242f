"""`threadline`: the development admin CLI. Every command prints JSON and works against the same database as
`make dev` (the embedded PostgreSQL, or DATABASE_URL when set).

A command either does all it says or nothing: each writes in one transaction, rolled back on any error. Every
error, a mistyped command line included, is one JSON object on stderr, `{"error": "..."}`, with exit status 2.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from pathlib import Path
from typing import Any

from devtools.cli_errors import CliError, JsonArgumentParser, error_message, uuid_argument, write_error
from devtools.cli_teams import on_off
from devtools.postgres import LOCAL_APP_ROLE_PASSWORD, ensure_database, stop_embedded_server
from devtools.request_log import RAW_LOGS_VARIABLE, raw_logs_requested
from threadline.vocabulary import PLATFORMS


def _print(payload: Any) -> None:
    print(json.dumps(payload, indent=2, default=str))


def _admin(database_url: str):  # type: ignore[no-untyped-def]
    from threadline.db.connection import admin_connection

    return admin_connection(database_url)


def migrate(database_url: str) -> list[str]:
    """Apply pending migrations. threadline_app gets the local development password only together with migrations
    this command applies itself (a fresh development database): a database migrated by someone else, such as a
    deployment whose Migrations custom resource set the role's password from its secret, keeps its password."""
    from threadline.db.migrations import apply_migrations

    with _admin(database_url) as conn:
        applied = apply_migrations(conn)
        if applied:
            apply_migrations(conn, app_role_password=LOCAL_APP_ROLE_PASSWORD)
        return applied


def cmd_migrate(args: argparse.Namespace, database_url: str) -> None:
    _print({"applied": migrate(database_url)})


def cmd_tenant_create(args: argparse.Namespace, database_url: str) -> None:
    from threadline.db.repositories.tenants import insert_tenant

    with _admin(database_url) as conn:
        tenant = insert_tenant(conn, args.name)
    _print({"id": tenant.id, "name": tenant.name})


def cmd_user_create(args: argparse.Namespace, database_url: str) -> None:
    from threadline.db.repositories.tenants import insert_user

    with _admin(database_url) as conn:
        user = insert_user(conn, tenant_id=args.tenant, name=args.name, email=args.email)
    _print({"id": user.id, "tenant_id": user.tenant_id, "name": user.name, "email": user.email})


def _reply_rule_limit(value: str) -> int | None:
    """A positive number (of hours, of replies), or `none` for no window / no cap."""
    if value.lower() == "none":
        return None
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"a positive integer or none, not {value!r}")
    return int(value)


def _add_reply_rule_options(parser: argparse.ArgumentParser) -> None:
    # Absent: the channel's default at creation, unchanged on update.
    parser.add_argument("--reply-window-hours", type=_reply_rule_limit, default=argparse.SUPPRESS, metavar="N|none")
    parser.add_argument("--max-replies-per-window", type=_reply_rule_limit, default=argparse.SUPPRESS, metavar="N|none")


def _reply_rule_settings(args: argparse.Namespace) -> dict[str, Any]:
    return {
        name: getattr(args, name) for name in ("reply_window_hours", "max_replies_per_window") if hasattr(args, name)
    }


def _reply_rule_fields(record: Any) -> dict[str, Any]:
    return {"reply_window_hours": record.reply_window_hours, "max_replies_per_window": record.max_replies_per_window}


def _outbound_url(value: str) -> str | None:
    """An https URL for the connection's replies (http on loopback locally), or `none` to remove it."""
    return None if value.lower() == "none" else value


def _allow_local_sealing() -> None:
    # As `make dev`: the development key under .local/ seals signing secrets, and loopback receivers are allowed.
    # Set SIGNING_KEY_FILE (and leave WEBHOOK_ALLOW_LOOPBACK_HTTP unset) to administer another deployment's database.
    from devtools.localenv import local_signing_key_file

    os.environ.setdefault("SIGNING_KEY_FILE", local_signing_key_file())
    os.environ.setdefault("WEBHOOK_ALLOW_LOOPBACK_HTTP", "true")


def _outbound_fields(endpoint: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {"outbound_url": endpoint.outbound_url}
    if endpoint.outbound_secret is not None:
        fields["outbound_secret"] = endpoint.outbound_secret  # shown this once
    if endpoint.previous_secret_expires_at is not None:
        fields["previous_secret_expires_at"] = endpoint.previous_secret_expires_at
    return fields


def cmd_connection_create(args: argparse.Namespace, database_url: str) -> None:
    from threadline.domain.intake.connections import create_connection
    from threadline.domain.replies.connector_callbacks import set_outbound_url

    outbound = getattr(args, "outbound_url", None)
    if outbound is not None:
        _allow_local_sealing()
    with _admin(database_url) as conn:
        created = create_connection(
            conn,
            tenant_id=args.tenant,
            platform=args.platform,
            connection_id=args.connection_id,
            phone_number_id=args.phone_number_id,
            **_reply_rule_settings(args),
        )
        endpoint = set_outbound_url(conn, created.connection.connection_id, outbound) if outbound else None
    _print(
        {
            "connection_id": created.connection.connection_id,
            "platform": created.connection.platform,
            "api_secret": created.api_secret,
            **_reply_rule_fields(created.connection),
            **(_outbound_fields(endpoint) if endpoint is not None else {}),
        }
    )


def cmd_connection_update(args: argparse.Namespace, database_url: str) -> None:
    from threadline.db.repositories.media import set_copy_media
    from threadline.domain.intake.connections import set_waba_id, update_reply_rule
    from threadline.domain.replies.connector_callbacks import set_outbound_url

    if hasattr(args, "outbound_url"):
        _allow_local_sealing()
    with _admin(database_url) as conn:
        record = update_reply_rule(conn, args.connection_id, **_reply_rule_settings(args))
        endpoint = (
            set_outbound_url(conn, args.connection_id, args.outbound_url) if hasattr(args, "outbound_url") else None
        )
        if hasattr(args, "waba_id"):
            record = set_waba_id(conn, args.connection_id, args.waba_id)
        copy_media = set_copy_media(conn, args.connection_id, args.copy_media) if hasattr(args, "copy_media") else None
    _print(
        {
            "connection_id": record.connection_id,
            "platform": record.platform,
            **_reply_rule_fields(record),
            # The WhatsApp Business Account, when the connection records one or this command changed it.
            **({"waba_id": record.waba_id} if hasattr(args, "waba_id") or record.waba_id else {}),
            **(_outbound_fields(endpoint) if endpoint is not None else {}),
            **({"copy_media": copy_media} if copy_media is not None else {}),
        }
    )


def _waba_id(value: str) -> str | None:
    """A WhatsApp Business Account id (digits), or `none` to forget it."""
    if value.lower() == "none":
        return None
    if not value.isdigit() or len(value) > 64:
        raise argparse.ArgumentTypeError(f"a WhatsApp Business Account id (digits) or none, not {value!r}")
    return value


def cmd_templates_sync(args: argparse.Namespace, database_url: str) -> None:
    from devtools.localenv import configure_local_meta, prepare_local_environment
    from threadline.domain.templates.sync import sync_connection_templates

    # As `make dev`: Meta is the local sandbox (which lists a few demo templates) unless configured
    # (META_GRAPH_URL and META_ACCESS_TOKEN).
    meta = configure_local_meta(announce=lambda line: print(line, file=sys.stderr))
    prepare_local_environment(database_url)
    try:
        with _admin(database_url) as conn:
            results = sync_connection_templates(conn, args.connection)
    finally:
        if meta.sandbox is not None:
            meta.sandbox.stop()
    _print({"synced": [result.model_dump() for result in results]})


def cmd_connection_rotate_secret(args: argparse.Namespace, database_url: str) -> None:
    from threadline.domain.replies.connector_callbacks import rotate_outbound_signing_secret

    _allow_local_sealing()
    with _admin(database_url) as conn:
        endpoint = rotate_outbound_signing_secret(conn, args.connection_id)
    _print({"connection_id": endpoint.connection_id, **_outbound_fields(endpoint)})


def cmd_connection_deactivate(args: argparse.Namespace, database_url: str) -> None:
    from threadline.domain.intake.connections import deactivate_connection

    with _admin(database_url) as conn:
        record = deactivate_connection(conn, args.connection_id)
    _print({"connection_id": record.connection_id, "is_active": record.is_active})


def cmd_token(args: argparse.Namespace, database_url: str) -> None:
    from devtools.auth import issue_token

    tenant_claim = os.environ.get("TENANT_CLAIM", "tenant_id")
    _print(
        {
            "token": issue_token(
                tenant_id=str(args.tenant),
                user_id=args.user,
                ttl_seconds=args.ttl,
                tenant_claim=tenant_claim,
            )
        }
    )


def cmd_serve(args: argparse.Namespace, database_url: str) -> None:
    from devtools.devserver import run_dev_server

    run_dev_server(port=args.port, database_url=database_url, with_demo=args.demo, raw_logs=args.raw_logs)


def cmd_invoke(args: argparse.Namespace, database_url: str) -> None:
    from devtools.lambda_runtime import apply_function_environment, invoke
    from devtools.localenv import configure_local_meta, prepare_local_environment
    from devtools.template import load_template

    # As `make dev` does: Meta is the local sandbox unless configured, and the webhook secrets have local values
    # (the sample webhook events are signed with them).
    meta = configure_local_meta(announce=lambda line: print(line, file=sys.stderr))
    prepare_local_environment(database_url)
    functions = load_template().functions
    name = args.function if args.function in functions else _function_by_folder(functions, args.function)
    apply_function_environment(functions[name])
    try:
        event = json.loads(Path(args.event).read_text())
    except ValueError as error:
        raise CliError(f"--event {args.event}: not a JSON event ({error})") from None
    try:
        # As with `sam local invoke`: the function's logs go to stderr, its result alone to stdout.
        with contextlib.redirect_stdout(sys.stderr):
            result = invoke(functions[name], event)
    finally:
        if meta.sandbox is not None:
            meta.sandbox.stop()
    _print(result)


def _function_by_folder(functions: dict[str, Any], name: str) -> str:
    for logical_id, function in functions.items():
        if function.code_path.name == name or logical_id.lower() == f"{name.lower()}function":
            return logical_id
    raise CliError(f"No function {name!r}; known: {', '.join(functions)}")


def cmd_db_stop(args: argparse.Namespace, database_url: str) -> None:
    _print({"stopped": stop_embedded_server()})


def cmd_db_url(args: argparse.Namespace, database_url: str) -> None:
    _print({"database_url": database_url})


def build_parser() -> argparse.ArgumentParser:
    parser = JsonArgumentParser(prog="threadline", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    commands.add_parser("migrate", help="apply pending migrations").set_defaults(run=cmd_migrate)

    tenant = commands.add_parser("tenant").add_subparsers(dest="action", required=True)
    tenant_create = tenant.add_parser("create")
    tenant_create.add_argument("--name", required=True)
    tenant_create.set_defaults(run=cmd_tenant_create)

    from devtools.cli_teams import add_team_commands, add_tenant_configure_command

    add_tenant_configure_command(tenant)

    user = commands.add_parser("user", help="agents").add_subparsers(dest="action", required=True)
    user_create = user.add_parser("create")
    user_create.add_argument("--tenant", required=True, type=uuid_argument)
    user_create.add_argument("--name", required=True)
    user_create.add_argument("--email")
    user_create.set_defaults(run=cmd_user_create)

    connection = commands.add_parser("connection").add_subparsers(dest="action", required=True)
    connection_create = connection.add_parser("create")
    connection_create.add_argument("--tenant", required=True, type=uuid_argument)
    connection_create.add_argument("--platform", required=True, choices=PLATFORMS)
    connection_create.add_argument("--connection-id")
    connection_create.add_argument("--phone-number-id")
    _add_reply_rule_options(connection_create)
    connection_create.add_argument("--outbound-url", type=_outbound_url, default=argparse.SUPPRESS, metavar="URL")
    connection_create.set_defaults(run=cmd_connection_create)
    connection_update = connection.add_parser("update", help="the connection's reply rule and outbound URL")
    connection_update.add_argument("connection_id")
    _add_reply_rule_options(connection_update)
    connection_update.add_argument("--outbound-url", type=_outbound_url, default=argparse.SUPPRESS, metavar="URL|none")
    connection_update.add_argument(
        "--waba-id",
        type=_waba_id,
        default=argparse.SUPPRESS,
        metavar="W|none",
        help="the WhatsApp Business Account whose templates this connection sends",
    )
    # A connector's media_url copied into the media bucket (docs/media.md), instead of listed as given.
    connection_update.add_argument(
        "--copy-media", type=on_off, default=argparse.SUPPRESS, metavar="on|off", help="copy media_url files"
    )
    connection_update.set_defaults(run=cmd_connection_update)
    connection_rotate = connection.add_parser(
        "rotate-secret", help="a new outbound signing secret (the previous one signs too for 24 hours)"
    )
    connection_rotate.add_argument("connection_id")
    connection_rotate.set_defaults(run=cmd_connection_rotate_secret)
    connection_deactivate = connection.add_parser("deactivate")
    connection_deactivate.add_argument("connection_id")
    connection_deactivate.set_defaults(run=cmd_connection_deactivate)

    templates = commands.add_parser("templates", help="WhatsApp message templates").add_subparsers(
        dest="action", required=True
    )
    templates_sync = templates.add_parser(
        "sync", help="read every page of each WhatsApp Business Account's templates from Meta and store them"
    )
    templates_sync.add_argument("--connection", help="only this connection's account (default: every account)")
    templates_sync.set_defaults(run=cmd_templates_sync)

    from devtools.cli_locations import add_location_commands

    add_location_commands(commands)

    from devtools.cli_sessions import add_session_commands

    add_session_commands(commands)
    add_team_commands(commands)

    from devtools.cli_whatsapp import add_whatsapp_commands

    add_whatsapp_commands(commands)

    token = commands.add_parser("token", help="a bearer token the local gateway accepts")
    token.add_argument("--tenant", required=True, type=uuid_argument)
    token.add_argument("--user")
    token.add_argument("--ttl", type=int, default=3600)
    token.set_defaults(run=cmd_token)

    serve = commands.add_parser("serve", help="serve template.yaml's routes locally")
    serve.add_argument("--port", type=int, default=int(os.environ.get("PORT", "3000")))
    serve.add_argument("--demo", action="store_true", help="create the demo tenant on first run and print how to call")
    serve.add_argument(
        "--raw-logs",
        action="store_true",
        default=raw_logs_requested(),
        help="print the handlers' raw Powertools output (JSON logs, EMF metrics) instead of one line per request"
        f" (also {RAW_LOGS_VARIABLE}=1)",
    )
    serve.set_defaults(run=cmd_serve)

    invoke = commands.add_parser("invoke", help="what `sam local invoke` does, in-process")
    invoke.add_argument("function", help="logical id (IngestFunction) or folder name (ingest)")
    invoke.add_argument("--event", required=True)
    invoke.set_defaults(run=cmd_invoke)

    db = commands.add_parser("db").add_subparsers(dest="action", required=True)
    db.add_parser("stop", help="stop the embedded PostgreSQL").set_defaults(run=cmd_db_stop)
    db.add_parser("url", help="print the database URL in use").set_defaults(run=cmd_db_url)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.run is cmd_db_stop:
            args.run(args, "")
            return 0
        database_url = ensure_database()
        if args.command not in ("migrate", "db"):
            migrate(database_url)
        args.run(args, database_url)
    except Exception as error:  # every failure, expected or not, is answered the one documented way
        return write_error(error_message(error))
    return 0


if __name__ == "__main__":
    sys.exit(main())
