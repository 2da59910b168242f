"""The environment the functions get locally: the template's variables plus what only exists here."""

from __future__ import annotations

import base64
import os
import sys
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path

from devtools.fake_graph import FakeGraphApi
from devtools.paths import LOCAL_STATE
from devtools.postgres import LOCAL_APP_ROLE_PASSWORD, ensure_database
from devtools.template import load_template

# Local stand-ins for the webhook's secrets, so signed webhook calls can be tried without a Meta app.
LOCAL_META_APP_SECRET = "local-meta-app-secret"  # noqa: S105 - development only, printed on purpose
LOCAL_META_VERIFY_TOKEN = "local-meta-verify-token"  # noqa: S105
SANDBOX_ACCESS_TOKEN = "sandbox"  # noqa: S105 - the sandbox only checks that a token is present
META_GRAPH_DEFAULT_URL = "https://graph.facebook.com"


def local_signing_key_file() -> str:
    """The development key that seals signing secrets at rest (AWS reads it from Secrets Manager), created on first
    use under .local/ (ignored by git)."""
    path = LOCAL_STATE / "signing-key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(base64.b64encode(os.urandom(32)).decode("ascii"))
        path.chmod(0o600)
    return str(path)


def local_overrides(database_url: str) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url,
        "SIGNING_KEY_FILE": os.environ.get("SIGNING_KEY_FILE") or local_signing_key_file(),
        # Receivers on this machine (a tiny python receiver, the tests' servers) are allowed, over http too; in AWS
        # this is never set, and loopback, private and metadata addresses are refused. WEBHOOK_ALLOW_LOOPBACK_HTTP=
        # (empty) or =false in the environment runs make dev under the AWS rule.
        "WEBHOOK_ALLOW_LOOPBACK_HTTP": os.environ.get("WEBHOOK_ALLOW_LOOPBACK_HTTP", "true"),
        "DB_PASSWORD": LOCAL_APP_ROLE_PASSWORD,
        # No X-Ray daemon locally; metrics still print their EMF lines as in CloudWatch.
        "POWERTOOLS_TRACE_DISABLED": "true",
        "AWS_REGION": os.environ.get("AWS_REGION", "us-east-1"),
        "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
    }


def export_function_environment() -> None:
    """Every function's template environment (Powertools settings, tenant claim, ...), for in-process handlers.
    Powertools reads these when a handler module is imported, so this must run before any import of one."""
    os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
    for function in load_template().functions.values():
        for name, value in function.environment.items():
            os.environ.setdefault(name, value)


def prepare_local_environment(database_url: str | None = None) -> str:
    """Export the template environment and the local overrides; return the database URL."""
    database_url = database_url or ensure_database()
    os.environ.update(local_overrides(database_url))
    export_function_environment()
    return database_url


@dataclass
class LocalMeta:
    """Where local WhatsApp sends go, and the webhook secrets to sign local webhook calls with."""

    graph_url: str
    sandbox: FakeGraphApi | None
    notice: str  # the line `make dev` prints about it
    # Local defaults this function set (printed for webhook trials); empty when the developer configured their own.
    webhook_secrets: dict[str, str] = field(default_factory=dict)


def configure_local_meta(
    environ: MutableMapping[str, str] | None = None,
    *,
    default_phone_number_id: str | None = None,
    announce: Callable[[str], None] | None = None,
) -> LocalMeta:
    """Point the Meta client somewhere sensible on this machine: with none of META_GRAPH_URL, META_ACCESS_TOKEN and
    META_SECRET_ARN set, at an in-process fake Graph API (the sandbox: nothing reaches Meta); otherwise at what the
    developer configured, untouched. Call before the template's environment is exported, so only the developer's own
    settings count. The caller stops `sandbox` when done."""
    env = os.environ if environ is None else environ
    configured = {name: env.get(name) for name in ("META_GRAPH_URL", "META_ACCESS_TOKEN", "META_SECRET_ARN")}
    sandbox: FakeGraphApi | None = None
    if not any(configured.values()):
        # Any media id a hand-signed notification names gets a small sample image, so media copy end to end.
        sandbox = FakeGraphApi(announce=announce, demo_templates=True, invent_media=True).start()
        env["META_GRAPH_URL"] = sandbox.base_url
        env["META_ACCESS_TOKEN"] = SANDBOX_ACCESS_TOKEN
        if default_phone_number_id and not env.get("META_PHONE_NUMBER_ID"):
            env["META_PHONE_NUMBER_ID"] = default_phone_number_id
        graph_url = sandbox.base_url
        notice = (
            f"SANDBOX: WhatsApp sends go to a local fake Graph API at {graph_url}, nothing reaches Meta "
            "(set META_GRAPH_URL and META_ACCESS_TOKEN to use a real endpoint)"
        )
    else:
        graph_url = configured["META_GRAPH_URL"] or META_GRAPH_DEFAULT_URL
        if configured["META_ACCESS_TOKEN"]:
            credentials = "with META_ACCESS_TOKEN"
        elif configured["META_SECRET_ARN"]:
            credentials = "with the token in META_SECRET_ARN (Secrets Manager)"
        else:
            credentials = "WITHOUT an access token: sends will fail until META_ACCESS_TOKEN is set"
        notice = f"WhatsApp sends go to {graph_url} {credentials}"
    webhook_secrets: dict[str, str] = {}
    if not env.get("META_SECRET_ARN"):  # an explicit variable would shadow the secret's own values
        for name, value in (("META_APP_SECRET", LOCAL_META_APP_SECRET), ("META_VERIFY_TOKEN", LOCAL_META_VERIFY_TOKEN)):
            if not env.get(name):
                env[name] = webhook_secrets[name] = value
    # Only when a client already exists: importing it here would create Powertools' Logger before the template's
    # POWERTOOLS_* settings are exported.
    client_module = sys.modules.get("threadline.meta.client")
    if client_module is not None:
        client_module.reset_meta_client()  # the client and its settings are cached per process; what they read just changed
    return LocalMeta(graph_url=graph_url, sandbox=sandbox, notice=notice, webhook_secrets=webhook_secrets)


def _has_aws_credentials(env: MutableMapping[str, str]) -> bool:
    """Whether boto3 could find credentials without asking an instance-metadata endpoint (which would stall)."""
    if env.get("AWS_ACCESS_KEY_ID") or env.get("AWS_PROFILE") or env.get("AWS_WEB_IDENTITY_TOKEN_FILE"):
        return True
    if env.get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") or env.get("AWS_CONTAINER_CREDENTIALS_FULL_URI"):
        return True
    aws_folder = Path(env.get("HOME", str(Path.home()))) / ".aws"
    return (aws_folder / "credentials").exists() or (aws_folder / "config").exists()


def configure_local_websocket(management_url: str, environ: MutableMapping[str, str] | None = None) -> None:
    """Point the real-time publishers at the local gateway's management API. boto3 signs every request; the local
    gateway does not check signatures, so without any AWS credentials placeholder ones are set for this process."""
    from threadline.realtime.publisher import MANAGEMENT_URL_VARIABLE, reset_management_client

    env = os.environ if environ is None else environ
    env[MANAGEMENT_URL_VARIABLE] = management_url
    if not _has_aws_credentials(env):
        env["AWS_ACCESS_KEY_ID"] = "local"
        env["AWS_SECRET_ACCESS_KEY"] = "local"  # noqa: S105 - a placeholder: nothing checks it
    reset_management_client()
