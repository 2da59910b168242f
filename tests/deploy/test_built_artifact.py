"""What ships is what is tested: every function of template.yaml, loaded from its directory in the build output
with nothing importable but that directory and the built layer (a `python3.13 -S` process, as Lambda's runtime
sees them), answers its sample event from events/ against the embedded PostgreSQL.

The processes reuse bench/coldstart.py's pieces: the runtime interpreter, the sample event of each function (a
function added to the template without one fails here, naming it) and the deployed-looking environment. The
database is the test database, reached as threadline_app; Meta is the fake Graph API."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from bench.coldstart import DEPLOYED_VALUES, LAMBDA_VARIABLES, sample_event
from devtools.issuer import LocalIssuer
from devtools.lambda_runtime import runtime_python
from devtools.template import Function, load_template

PROBE = (Path(__file__).resolve().parent / "artifact_probe.py").read_text("utf-8")
# A REQUEST authorizer refuses a connection by raising "Unauthorized", as API Gateway expects; the sample event's
# token names a key the issuer does not publish.
REFUSES_BY_RAISING = {"WebSocketAuthorizerFunction": "Exception: Unauthorized"}


def invoke_built(function: Function, built: Path, scratch: Path, variables: dict[str, str]) -> dict[str, Any]:
    code = built / function.logical_id
    [layer] = [path / "python" for path in built.iterdir() if (path / "python" / "threadline").is_dir()]
    probe = {
        "module_file": str(code / function.module_file.relative_to(function.code_path)),
        "handler": function.handler_name,
        "event_file": str(sample_event(function, scratch)),
    }
    environment = function.environment | LAMBDA_VARIABLES | variables
    environment |= {
        "AWS_LAMBDA_FUNCTION_NAME": function.logical_id,
        "LAMBDA_TASK_ROOT": str(code),
        "PYTHONPATH": f"{code}:{layer}",  # what Lambda puts on sys.path: the task root, then /opt/python
        "POWERTOOLS_TRACE_DISABLED": "true",  # no X-Ray daemon here
        "ARTIFACT_PROBE": json.dumps(probe),
    }
    completed = subprocess.run(
        [runtime_python(), "-S", "-c", PROBE],
        env=environment,
        cwd=code,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    lines = [line for line in completed.stdout.splitlines() if line.startswith("ARTIFACT-RESULT ")]
    assert completed.returncode == 0 and lines, f"{function.logical_id} did not run:\n{completed.stderr[-3000:]}"
    result: dict[str, Any] = json.loads(lines[-1].removeprefix("ARTIFACT-RESULT "))
    return result


# The migrations custom resource needs CloudFormation's ResponseURL and Secrets Manager: its built artifact runs in
# the emulator instead (test_rehearsal.py), where the deploy fails unless it migrates.
FUNCTIONS = [function for name, function in load_template().functions.items() if name != "MigrateFunction"]


SAMPLE_TENANT = "00000000-0000-4000-8000-000000000001"  # the tenant the sample events' authorizer context names


@pytest.fixture(scope="module")
def issuer() -> Any:
    with LocalIssuer() as running:
        yield running


@pytest.mark.parametrize("function", FUNCTIONS, ids=lambda function: function.logical_id)
def test_each_built_function_answers_its_sample_event_with_only_what_it_ships(
    function, built_stack, database_url, admin, fake_graph, issuer, tmp_path
):
    import os

    from devtools.postgres import LOCAL_APP_ROLE_PASSWORD

    admin.execute(
        "INSERT INTO tenants (id, name) VALUES (%s, 'Sample events') ON CONFLICT (id) DO NOTHING", (SAMPLE_TENANT,)
    )
    variables = {
        "JWT_ISSUER": DEPLOYED_VALUES["JWT_ISSUER"],
        "JWT_AUDIENCE": DEPLOYED_VALUES["JWT_AUDIENCE"],
        "JWT_JWKS_URL": f"{issuer.issuer}/.well-known/jwks.json",
        "DATABASE_URL": database_url,
        "DB_PASSWORD": LOCAL_APP_ROLE_PASSWORD,
        "META_GRAPH_URL": fake_graph.base_url,
        "META_ACCESS_TOKEN": os.environ["META_ACCESS_TOKEN"],
        "META_APP_SECRET": "artifact-test-app-secret",  # the sample webhook is signed by no one: refused, not a 500
        "META_VERIFY_TOKEN": "artifact-test-verify-token",
        "BEDROCK_MODEL_ID": "",  # replies off: no model is reached
        "MEDIA_BUCKET": "artifact-test-media",  # the sample copy job names no stored message: nothing is fetched
        "HOME": os.environ.get("HOME", "/tmp"),
    }
    result = invoke_built(function, built_stack, tmp_path, variables)

    imported_from = [path for path in result["loaded_from"] if path]
    outside = [path for path in imported_from if not path.startswith(str(built_stack)) and "/lib/python3" not in path]
    assert not outside, f"imported from outside the build: {outside}"
    assert not any("site-packages" in path for path in imported_from), "the interpreter's site-packages leaked in"
    if function.logical_id in REFUSES_BY_RAISING:
        assert result.get("raised") == REFUSES_BY_RAISING[function.logical_id]
        return
    assert "raised" not in result, result["raised"]
    answer = result["returned"]
    if isinstance(answer, dict) and "statusCode" in answer:
        assert answer["statusCode"] < 500, answer
        json.loads(answer.get("body") or "null")
