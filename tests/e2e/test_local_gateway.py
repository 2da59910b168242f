"""End to end over HTTP: requests sent as curl sends them, through the local gateway, to the real handlers."""

from __future__ import annotations

import json
import socket
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import requests

from devtools.auth import issue_token
from devtools.gateway import LocalGateway
from devtools.template import Route, load_template
from tests.support.paths import EVENTS, REPO_ROOT


def _seed_body(event_file, connector):
    body = json.loads(json.loads((EVENTS / event_file).read_text())["body"])
    body["connection_id"] = connector.connection_id
    return json.dumps(body)


def test_seed_example_1_with_curl(gateway, make_connector):
    connector = make_connector("whatsapp")
    output = subprocess.run(
        [
            "curl",
            "-s",
            "-X",
            "POST",
            f"{gateway.base_url}/functions/v1/messaging-ingest",
            "-H",
            "Content-Type: application/json",
            "-H",
            f"x-api-key: {connector.api_secret}",
            "-d",
            _seed_body("ingest-seed-path.json", connector),
            "-w",
            "\n%{http_code}",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    body, status = output.rsplit("\n", 1)
    assert status == "200"
    answer = json.loads(body)
    assert answer["success"] is True and answer["processed"] == 1
    assert answer["results"][0]["messages_added"] == 2 and answer["results"][0]["status"] == "created"


def test_seed_example_2_on_the_v1_path(gateway, make_connector):
    connector = make_connector("telegram")
    response = requests.post(
        f"{gateway.base_url}/v1/ingest",
        data=_seed_body("ingest-v1.json", connector),
        headers={"Content-Type": "application/json", "x-api-key": connector.api_secret},
        timeout=10,
    )
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert [r["status"] for r in response.json()["results"]] == ["created", "created"]


def test_seed_errors_over_http(gateway, connector):
    url = f"{gateway.base_url}/functions/v1/messaging-ingest"
    missing = requests.post(url, json={"platform": "whatsapp"}, timeout=10)
    assert (missing.status_code, missing.json()) == (401, {"error": "Missing x-api-key header"})
    bad_body = requests.post(url, data="{not json", headers={"x-api-key": connector.api_secret}, timeout=10)
    assert (bad_body.status_code, bad_body.json()) == (400, {"error": "Request body must be valid JSON"})


def test_routes_not_in_the_template_are_api_gateways_404(gateway):
    response = requests.get(f"{gateway.base_url}/functions/v1/messaging-ingest", timeout=10)
    assert (response.status_code, response.json()) == (404, {"message": "Not Found"})
    assert requests.post(f"{gateway.base_url}/nope", timeout=10).status_code == 404


def test_a_burst_of_simultaneous_connections_is_queued_and_every_one_answered():
    """60 clients connect at once, before the gateway accepts any (a page's burst of requests, a load test): the
    listen backlog holds them all until their turn. With socketserver's default backlog of 5, the kernel left every
    connection past the sixth unanswered (or reset it) until the client gave up."""
    burst = 60
    server = LocalGateway(("127.0.0.1", 0))
    serving = threading.Thread(target=server.serve_forever, daemon=True)
    sockets: list[socket.socket] = []
    try:
        with ThreadPoolExecutor(max_workers=burst) as pool:
            connects = [pool.submit(socket.create_connection, server.server_address[:2], 1) for _ in range(burst)]
            for connect in connects:
                sockets.append(connect.result())
            serving.start()

            def ask(client: socket.socket) -> bytes:
                client.sendall(b"GET /nope HTTP/1.1\r\nHost: local\r\nConnection: close\r\n\r\n")
                client.settimeout(10)
                return client.recv(64).split(b"\r\n", 1)[0]

            status_lines = list(pool.map(ask, sockets))
        assert status_lines == [b"HTTP/1.1 404 Not Found"] * burst
    finally:
        for client in sockets:
            client.close()
        if serving.is_alive():
            server.shutdown()
        server.server_close()


def test_every_route_comes_from_the_template(gateway):
    served = {route.route_key for route in gateway.template.routes}
    assert {"POST /functions/v1/messaging-ingest", "POST /v1/ingest"} <= served


def _echo_gateway(*routes: Route) -> LocalGateway:
    template = load_template()
    echo = replace(
        next(iter(template.functions.values())),
        logical_id="EchoFunction",
        code_path=REPO_ROOT / "tests/e2e/echo_function",
    )
    server = LocalGateway(("127.0.0.1", 0), replace(template, functions={"EchoFunction": echo}, routes=list(routes)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_authorized_routes_get_verified_claims_like_api_gateways_jwt_authorizer():
    server = _echo_gateway(Route("EchoFunction", "GET", "/v1/things/{thing_id}", authorized=True))
    try:
        url = f"{server.base_url}/v1/things/42?limit=5&tag=a&tag=b"
        assert requests.get(url, timeout=10).json() == {"message": "Unauthorized"}
        assert requests.get(url, headers={"Authorization": "Bearer not.a.jwt"}, timeout=10).status_code == 401
        expired = issue_token(tenant_id="t-1", ttl_seconds=-10)
        assert requests.get(url, headers={"Authorization": f"Bearer {expired}"}, timeout=10).status_code == 401

        token = issue_token(tenant_id="t-1", user_id="u-1")
        event = requests.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=10).json()
    finally:
        server.shutdown()
        server.server_close()
    assert event["version"] == "2.0" and event["routeKey"] == "GET /v1/things/{thing_id}"
    assert event["pathParameters"] == {"thing_id": "42"}
    assert event["queryStringParameters"] == {"limit": "5", "tag": "a,b"}
    assert event["rawQueryString"] == "limit=5&tag=a&tag=b"
    claims = event["requestContext"]["authorizer"]["jwt"]["claims"]
    assert claims["tenant_id"] == "t-1" and claims["sub"] == "u-1"
    assert isinstance(claims["exp"], str)  # API Gateway hands every claim over as a string


def test_literal_routes_win_over_parameterised_ones():
    server = _echo_gateway(
        Route("EchoFunction", "GET", "/v1/items/{item_id}", authorized=False),
        Route("EchoFunction", "GET", "/v1/items/special", authorized=False),
    )
    try:
        event = requests.get(f"{server.base_url}/v1/items/special", timeout=10).json()
    finally:
        server.shutdown()
        server.server_close()
    assert event["routeKey"] == "GET /v1/items/special"


def test_path_parameters_arrive_decoded_as_api_gateway_hands_them_over():
    server = _echo_gateway(Route("EchoFunction", "GET", "/v1/items/{item_id}", authorized=False))
    try:
        event = requests.get(f"{server.base_url}/v1/items/%C2%B2%20a", timeout=10).json()
    finally:
        server.shutdown()
        server.server_close()
    assert event["pathParameters"] == {"item_id": "² a"}
