"""Each function's Powertools resolvers register exactly the routes its HttpApi events send it in template.yaml:
a route declared in one place but not the other answers 404 in AWS (or is never reachable)."""

from __future__ import annotations

import re

import pytest
from aws_lambda_powertools.event_handler.api_gateway import ApiGatewayResolver

from devtools.lambda_runtime import load_module
from devtools.template import load_template

HTTP_FUNCTIONS = sorted({route.function for route in load_template().routes})


def _shape(path: str) -> str:
    """A path with each parameter as `{}`: Powertools writes one as <name>, API Gateway as {name}, and their names
    rightly differ (the template keeps the contracts' `{workspaceId}`, a handler takes `workspace_id`). Both match
    a request by shape alone, and the handler binds its parameters from the path itself."""
    return re.sub(r"<\w+>|\{[^}]+\}", "{}", path)


def resolver_routes(function_name: str) -> set[tuple[str, str]]:
    """(method, path) of every route on every resolver the function's module defines (`app`, `agent_app`, ...)."""
    module = load_module(load_template().functions[function_name])
    resolvers = [value for value in vars(module).values() if isinstance(value, ApiGatewayResolver)]
    assert resolvers, f"{function_name} defines no resolver"
    return {
        (route.method, _shape(route.path))
        for resolver in resolvers
        for route in resolver._static_routes + resolver._dynamic_routes  # Powertools keeps no public route list
    }


def test_every_http_function_is_checked():
    assert {"IngestFunction", "ListMessagesFunction", "CaptureFunction"} <= set(HTTP_FUNCTIONS)


@pytest.mark.parametrize("function_name", HTTP_FUNCTIONS)
def test_the_resolver_routes_equal_the_template_events(function_name):
    template_events = {
        (route.method, _shape(route.path)) for route in load_template().routes if route.function == function_name
    }
    assert resolver_routes(function_name) == template_events


def test_the_agent_messages_resolver_is_part_of_the_comparison():
    assert ("GET", "/api/agent/conversations/{}/messages") in resolver_routes("ListMessagesFunction")


def test_a_route_missing_from_either_side_is_caught():
    # The comparison is only worth something if shapes keep literal segments and methods apart.
    assert _shape("/v1/conversations/<conversation_id>/messages") == _shape("/v1/conversations/{id}/messages")
    assert _shape("/v1/conversations/{id}/messages") != _shape("/v1/conversations/{id}")
    assert _shape("/api/workspace/{workspaceId}/session/{sessionId}/message/user") != _shape(
        "/api/workspace/{workspaceId}/session/{sessionId}/message/assistant"
    )
