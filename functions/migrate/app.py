"""CloudFormation custom resource `Migrations`: applies the layer's SQL migrations on every deploy.

It connects straight to the instance (not RDS Proxy) as the RDS-managed master user, who owns the schema, and sets
threadline_app's password from the secret RDS Proxy logs in with (for an existing database: its owner's secret and the
application role's, ExistingDbOwnerSecretArn and ExistingDbAppSecretArn). It always answers CloudFormation, so a failing
migration fails the deploy instead of leaving it waiting for the custom resource's timeout.
"""

from __future__ import annotations

import json
import os
import urllib.request
from typing import Any

import psycopg
from aws_lambda_powertools.utilities.parameters import get_secret
from aws_lambda_powertools.utilities.typing import LambdaContext

from threadline.db.migrations import apply_migrations
from threadline.observability import logger

PHYSICAL_RESOURCE_ID = "threadline-migrations"
_MAX_REASON_CHARS = 1000  # the whole response body must stay under CloudFormation's 4 KB


def run_migrations() -> list[str]:
    master = get_secret(os.environ["MASTER_SECRET_ARN"], transform="json")
    app_role = get_secret(os.environ["APP_SECRET_ARN"], transform="json")
    with psycopg.connect(
        host=os.environ["DB_HOST"],
        port=int(os.environ.get("DB_PORT", "5432")),
        dbname=os.environ.get("DB_NAME", "threadline"),
        user=master["username"],
        password=master["password"],
        # An existing database may say otherwise (ExistingDbSslMode); the stack's own RDS always requires TLS.
        sslmode=os.environ.get("DB_SSLMODE", "require"),
        connect_timeout=10,
        application_name="threadline-migrate",
    ) as conn:
        return apply_migrations(conn, app_role_password=app_role["password"])


def send_response(event: dict[str, Any], status: str, *, reason: str = "", data: dict[str, str] | None = None) -> None:
    body = json.dumps(
        {
            "Status": status,
            "Reason": reason[:_MAX_REASON_CHARS],
            # Never changes once created: a new id would make CloudFormation delete the "old" resource.
            "PhysicalResourceId": event.get("PhysicalResourceId", PHYSICAL_RESOURCE_ID),
            "StackId": event["StackId"],
            "RequestId": event["RequestId"],
            "LogicalResourceId": event["LogicalResourceId"],
            "Data": data or {},
        }
    ).encode()
    # The presigned S3 URL is signed without a content type, so none may be sent.
    request = urllib.request.Request(  # noqa: S310 - CloudFormation's own presigned ResponseURL
        event["ResponseURL"], data=body, method="PUT", headers={"Content-Type": "", "Content-Length": str(len(body))}
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        logger.info("Answered CloudFormation", extra={"status": status, "http_status": response.status})


@logger.inject_lambda_context(log_event=False)  # the event holds the presigned ResponseURL
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> None:
    request_type = event["RequestType"]
    try:
        # Delete keeps the database as it is: the instance itself is snapshotted by its DeletionPolicy.
        applied = [] if request_type == "Delete" else run_migrations()
    except Exception as error:
        logger.exception("Migrations failed", extra={"request_type": request_type})
        reason = f"{type(error).__name__}: {error} (log stream {context.log_stream_name})"
        send_response(event, "FAILED", reason=reason)
        return
    logger.info("Migrations done", extra={"request_type": request_type, "applied": applied})
    send_response(event, "SUCCESS", data={"Applied": ",".join(applied) or "none"})
