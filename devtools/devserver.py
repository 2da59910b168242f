"""`make dev`: the whole API on this machine, with a demo tenant to call it as."""

from __future__ import annotations

import json
import os
import shlex
from dataclasses import dataclass
from uuid import UUID

from devtools.auth import issue_token
from devtools.gateway import serve
from devtools.localenv import LocalMeta, configure_local_meta, configure_local_websocket, prepare_local_environment
from devtools.request_log import RAW_LOGS_VARIABLE, RequestLog

DEMO_TENANT = "Demo Tenant"
DEMO_AGENT_EMAIL = "agent@demo.threadline.local"
DEMO_CONNECTION_ID = "wa_demo"
# The phone number id of Meta's documentation examples, which events/whatsapp-webhook-*.json use too.
DEMO_PHONE_NUMBER_ID = "106540352242922"


@dataclass(frozen=True)
class Demo:
    tenant_id: UUID
    agent_id: UUID
    connection_id: str
    api_secret: str


def ensure_demo(database_url: str) -> Demo:
    """Create the demo tenant, agent and WhatsApp connection on first run. The connection's secret is stored
    only as a digest, so each start issues a fresh one to print."""
    from threadline.db.connection import admin_connection
    from threadline.db.repositories.connections import find_connection_for_auth
    from threadline.db.repositories.tenants import find_tenant_by_name, find_user_by_email, insert_tenant, insert_user
    from threadline.domain.intake.connections import create_connection, rotate_api_secret

    with admin_connection(database_url) as conn:
        tenant = find_tenant_by_name(conn, DEMO_TENANT) or insert_tenant(conn, DEMO_TENANT)
        agent = find_user_by_email(conn, tenant.id, DEMO_AGENT_EMAIL) or insert_user(
            conn, tenant_id=tenant.id, name="Demo Agent", email=DEMO_AGENT_EMAIL
        )
        if find_connection_for_auth(conn, DEMO_CONNECTION_ID) is None:
            api_secret = create_connection(
                conn,
                tenant_id=tenant.id,
                platform="whatsapp",
                connection_id=DEMO_CONNECTION_ID,
                phone_number_id=DEMO_PHONE_NUMBER_ID,
            ).api_secret
        else:
            api_secret = rotate_api_secret(conn, DEMO_CONNECTION_ID)
    return Demo(tenant_id=tenant.id, agent_id=agent.id, connection_id=DEMO_CONNECTION_ID, api_secret=api_secret)


def _instructions(base_url: str, demo: Demo, token: str) -> str:
    ingest_body = json.dumps(
        {
            "platform": "whatsapp",
            "connection_id": demo.connection_id,
            "conversations": [
                {
                    "external_conversation_id": "chat_demo_1",
                    "participant_identifier": "+15551234567",
                    "participant_name": "Jane Customer",
                    "messages": [
                        {
                            "id": "msg_demo_1",
                            "direction": "inbound",
                            "type": "text",
                            "content": "Hi! Is my order on its way?",
                            "sent_at": "2026-02-01T10:30:00Z",
                        }
                    ],
                }
            ],
        }
    )
    return f"""
Threadline is serving template.yaml's routes on {base_url}  (Ctrl-C to stop)

  tenant         {demo.tenant_id}
  agent          {demo.agent_id}
  connection_id  {demo.connection_id}
  x-api-key      {demo.api_secret}   (new each start; only its digest is stored)
  bearer token   {token}

Push a conversation the way a connector does:

  curl -s -X POST {base_url}/functions/v1/messaging-ingest \\
    -H 'Content-Type: application/json' -H 'x-api-key: {demo.api_secret}' \\
    -d {shlex.quote(ingest_body)}

Agent routes take:  -H 'Authorization: Bearer {token}'
Webhooks:           .venv/bin/python -m devtools.webhook_receiver --port 8765   (then POST /v1/webhooks with
                    {{"url": "http://127.0.0.1:8765/hooks", "events": ["*"]}}: deliveries go out from this process)
More tokens:        .venv/bin/threadline token --tenant {demo.tenant_id} --user {demo.agent_id}
"""


def _meta_lines(meta: LocalMeta) -> str:
    rule = "!" * 100 if meta.sandbox is not None else "-" * 100
    lines = [rule, meta.notice]
    if meta.webhook_secrets:
        lines.append("Local webhook secrets (sign webhook bodies with the app secret, as Meta does):")
        lines.extend(f"  {name}={value}" for name, value in meta.webhook_secrets.items())
    lines.append(rule)
    return "\n".join(lines)


def _websocket_lines(websocket_url: str, token: str | None) -> str:
    connect_url = (
        f"'{websocket_url}/?token={token}'"
        if token
        else (f'"{websocket_url}/?token=$(.venv/bin/threadline token --tenant TENANT_ID | jq -r .token)"')
    )
    return f"""Real-time events (WebSocket API) on {websocket_url}  (WS_PORT changes the port)

  websocat {connect_url}
  then send  {{"action": "subscribe_conversation", "conversation_id": 1}}
  or         {{"action": "subscribe_session", "session_uuid": "wses_..."}}
  and every message written to it arrives as a frame.
"""


def _announce(line: str) -> None:
    print(line, flush=True)


def _request_log_lines(raw: bool) -> str:
    if raw:
        return "Raw logs: each handler's Powertools JSON (logs and EMF metrics) as it comes, and a line per request."
    return (
        "One line per request (function, method, path, status, ms); errors and warnings print their logs below it.\n"
        f"The handlers' raw Powertools JSON (logs, EMF metrics): threadline serve --raw-logs, or {RAW_LOGS_VARIABLE}=1."
    )


def run_dev_server(*, port: int, database_url: str, with_demo: bool, raw_logs: bool = False) -> None:
    # First, so that what the handlers print goes through it: one line per request instead of their raw JSON.
    with RequestLog(raw=raw_logs) as request_log:
        _serve(port=port, database_url=database_url, with_demo=with_demo, request_log=request_log)


def _serve(*, port: int, database_url: str, with_demo: bool, request_log: RequestLog) -> None:
    # Before the template's environment is exported: only the developer's own Meta settings may opt out of the sandbox.
    meta = configure_local_meta(default_phone_number_id=DEMO_PHONE_NUMBER_ID, announce=_announce)
    # Likewise session replies (process=true): a local fake Bedrock with a canned answer unless BEDROCK_MODEL_ID or
    # BEDROCK_ENDPOINT_URL is set. Its server thread is a daemon: it ends with this process.
    from devtools.fake_bedrock import configure_local_bedrock

    bedrock = configure_local_bedrock(announce=_announce)
    print("\n".join(["!" * 100 if bedrock.sandbox else "-" * 100, bedrock.notice]), flush=True)
    prepare_local_environment(database_url)
    # Webhook deliveries: the in-process queue and dispatcher thread standing in for SQS and DeliveryDispatchFunction.
    from devtools.local_dispatcher import start_local_dispatcher

    dispatcher = start_local_dispatcher()
    # Media: a local S3 (moto's server) and the copy thread standing in for the copy queue and CopyMediaFunction.
    from devtools.local_media import start_local_media

    media = start_local_media()
    gateway = serve(
        port,
        websocket_port=int(os.environ["WS_PORT"]) if os.environ.get("WS_PORT") else None,
        request_log=request_log,
    )
    if gateway.websocket_url is not None:
        configure_local_websocket(gateway.base_url)  # publishers post frames to this gateway's management API
    print(_meta_lines(meta), flush=True)
    print(media.notice, flush=True)
    token: str | None = None
    if with_demo:
        demo = ensure_demo(database_url)
        token = issue_token(tenant_id=str(demo.tenant_id), user_id=str(demo.agent_id), ttl_seconds=12 * 3600)
        print(_instructions(gateway.base_url, demo, token), flush=True)
    else:
        print(f"Threadline is serving template.yaml's routes on {gateway.base_url}", flush=True)
    if gateway.websocket_url is not None:
        print(_websocket_lines(gateway.websocket_url, token), flush=True)
    print(_request_log_lines(request_log.raw), flush=True)
    try:
        gateway.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        gateway.server_close()
        dispatcher.stop()
        media.stop()
        if meta.sandbox is not None:
            meta.sandbox.stop()
