"""The migrations custom resource always answers CloudFormation: SUCCESS on Delete or once migrated, FAILED (with a
reason) when migrating fails, so a deploy fails instead of hanging. Secrets come from moto; the database is a real
one of the test server, reached as the function reaches the instance."""

from __future__ import annotations

import importlib.util
import json
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any

import psycopg
import pytest
from aws_lambda_powertools.utilities import parameters
from moto import mock_aws

from threadline.db.migrations import apply_migrations, available_migrations

REPO_ROOT = Path(__file__).resolve().parents[2]


def _load_handler_module() -> ModuleType:
    # A unique module name, so the many functions/*/app.py never shadow each other in sys.modules.
    spec = importlib.util.spec_from_file_location("migrate_app", REPO_ROOT / "functions" / "migrate" / "app.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


migrate_app = _load_handler_module()


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class ResponseRecorder:
    url: str
    requests: list[RecordedRequest] = field(default_factory=list)


@pytest.fixture
def cloudformation_response_url(monkeypatch: pytest.MonkeyPatch) -> Iterator[ResponseRecorder]:
    """A local stand-in for the presigned S3 ResponseURL that records every request it receives."""
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    received: list[RecordedRequest] = []

    class Handler(BaseHTTPRequestHandler):
        def do_PUT(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append(RecordedRequest("PUT", self.path, dict(self.headers), json.loads(body)))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:  # keep pytest output quiet
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield ResponseRecorder(f"http://127.0.0.1:{server.server_port}/cfn-response?X-Amz-Signature=test", received)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture(autouse=True)
def _fresh_parameters_cache() -> Iterator[None]:
    parameters.clear_caches()
    parameters.base.DEFAULT_PROVIDERS.clear()  # providers hold boto3 clients: build them inside each test's mocks
    yield
    parameters.clear_caches()
    parameters.base.DEFAULT_PROVIDERS.clear()


@dataclass(frozen=True)
class FakeLambdaContext:
    function_name: str = "threadline-migrate"
    memory_limit_in_mb: int = 1024
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:threadline-migrate"
    aws_request_id: str = "52fdfc07-2182-154f-163f-5f0f9a621d72"
    log_stream_name: str = "2025/01/01/[$LATEST]abcdef"


def custom_resource_event(request_type: str, response_url: str, **extra: Any) -> dict[str, Any]:
    return {
        "RequestType": request_type,
        "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:threadline-migrate",
        "ResponseURL": response_url,
        "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/threadline-dev/5b6f7a40-0000-0000-0000-000000",
        "RequestId": "b1a2c3d4-0000-0000-0000-000000000001",
        "LogicalResourceId": "Migrations",
        "ResourceType": "Custom::Migrations",
        "ResourceProperties": {"ServiceToken": "arn:aws:lambda:...", "MigrationsVersion": "abc123"},
        **extra,
    }


def test_delete_answers_success_without_touching_the_database(
    cloudformation_response_url: ResponseRecorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a Delete request for an existing migrations resource (no secrets or database are reachable)
    monkeypatch.delenv("MASTER_SECRET_ARN", raising=False)
    event = custom_resource_event(
        "Delete", cloudformation_response_url.url, PhysicalResourceId=migrate_app.PHYSICAL_RESOURCE_ID
    )

    # When CloudFormation invokes the handler
    migrate_app.lambda_handler(event, FakeLambdaContext())

    # Then exactly one SUCCESS is PUT to the ResponseURL, echoing the request's ids
    [request] = cloudformation_response_url.requests
    assert request.method == "PUT"
    assert request.path == "/cfn-response?X-Amz-Signature=test"
    assert request.headers.get("Content-Type", "") == ""
    assert request.body == {
        "Status": "SUCCESS",
        "Reason": "",
        "PhysicalResourceId": migrate_app.PHYSICAL_RESOURCE_ID,
        "StackId": event["StackId"],
        "RequestId": event["RequestId"],
        "LogicalResourceId": "Migrations",
        "Data": {"Applied": "none"},
    }


def test_create_answers_failed_with_the_reason_when_the_secrets_cannot_be_read(
    cloudformation_response_url: ResponseRecorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a Create request whose secrets do not exist
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("MASTER_SECRET_ARN", "threadline/master-missing")
    monkeypatch.setenv("APP_SECRET_ARN", "threadline/app-missing")
    monkeypatch.setenv("DB_HOST", "db.invalid")
    event = custom_resource_event("Create", cloudformation_response_url.url)

    # When CloudFormation invokes the handler
    with mock_aws():
        migrate_app.lambda_handler(event, FakeLambdaContext())

    # Then FAILED is PUT with a reason naming the error, so the deploy fails instead of waiting
    [request] = cloudformation_response_url.requests
    assert request.body["Status"] == "FAILED"
    assert request.body["Reason"].startswith("GetParameterError: ")
    assert "ResourceNotFoundException" in request.body["Reason"]
    assert "(log stream 2025/01/01/[$LATEST]abcdef)" in request.body["Reason"]
    assert request.body["PhysicalResourceId"] == migrate_app.PHYSICAL_RESOURCE_ID
    assert (request.body["StackId"], request.body["RequestId"], request.body["LogicalResourceId"]) == (
        event["StackId"],
        event["RequestId"],
        "Migrations",
    )
    assert request.body["Data"] == {}


def _point_the_function_at(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Secrets (in moto) and DB_* variables naming `database_url`'s server, as the template wires the instance."""
    import boto3

    from devtools.postgres import LOCAL_APP_ROLE_PASSWORD

    server = psycopg.conninfo.conninfo_to_dict(database_url)
    secrets = boto3.client("secretsmanager", region_name="us-east-1")
    master = {"username": server.get("user", "postgres"), "password": server.get("password") or "unused-trusted"}
    secrets.create_secret(Name="threadline/master", SecretString=json.dumps(master))
    # The shared test server's app role keeps the password every other test logs in with.
    app_role = {"username": "threadline_app", "password": LOCAL_APP_ROLE_PASSWORD}
    secrets.create_secret(Name="threadline/app", SecretString=json.dumps(app_role))
    monkeypatch.setenv("MASTER_SECRET_ARN", "threadline/master")
    monkeypatch.setenv("APP_SECRET_ARN", "threadline/app")
    monkeypatch.setenv("DB_HOST", str(server.get("host", "localhost")))
    monkeypatch.setenv("DB_PORT", str(server.get("port", "5432")))
    monkeypatch.setenv("DB_NAME", str(server["dbname"]))


def test_create_applies_the_migrations_and_answers_success_with_their_versions(
    cloudformation_response_url: ResponseRecorder, monkeypatch: pytest.MonkeyPatch, empty_database: str
) -> None:
    # Given an empty database reachable with the master secret
    event = custom_resource_event("Create", cloudformation_response_url.url)
    with mock_aws():
        _point_the_function_at(empty_database, monkeypatch)

        # When CloudFormation invokes the handler
        migrate_app.lambda_handler(event, FakeLambdaContext())

    # Then every migration the layer ships is applied and named in the SUCCESS answer
    [request] = cloudformation_response_url.requests
    assert request.body["Status"] == "SUCCESS", request.body["Reason"]
    shipped = [migration.version for migration in available_migrations()]
    assert request.body["Data"] == {"Applied": ",".join(shipped)}
    with psycopg.connect(empty_database) as conn:
        assert [row[0] for row in conn.execute("SELECT version FROM schema_migrations ORDER BY version")] == shipped


def test_update_fails_the_deploy_naming_an_applied_migration_whose_file_changed(
    cloudformation_response_url: ResponseRecorder,
    monkeypatch: pytest.MonkeyPatch,
    empty_database: str,
    tmp_path: Path,
) -> None:
    # Given a database migrated from a 0003 whose text differs from the one the layer now ships
    folder = tmp_path / "migrations"
    shutil.copytree(REPO_ROOT / "layers/threadline/threadline/db/migrations", folder)
    applied_then = folder / "0003_window_expiry.sql"
    applied_then.write_text(applied_then.read_text() + "\n-- the text as it was when this database applied it\n")
    with psycopg.connect(empty_database) as conn:
        apply_migrations(conn, migrations=available_migrations(folder))
    event = custom_resource_event("Update", cloudformation_response_url.url, PhysicalResourceId="threadline-migrations")

    # When the deploy's custom resource runs the shipped migrations against it
    with mock_aws():
        _point_the_function_at(empty_database, monkeypatch)
        migrate_app.lambda_handler(event, FakeLambdaContext())

    # Then the deploy fails with a reason naming the changed file
    [request] = cloudformation_response_url.requests
    assert request.body["Status"] == "FAILED"
    assert request.body["Reason"].startswith("AppliedMigrationChanged: ")
    assert "0003_window_expiry.sql" in request.body["Reason"]
    assert "(log stream 2025/01/01/[$LATEST]abcdef)" in request.body["Reason"]
