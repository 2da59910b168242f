"""Reads template.yaml: the functions, their HttpApi routes, the WebSocket API's routes, and their environment.

The local gateway serves exactly the routes declared here, so the template stays the single route table.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from devtools.cfn import evaluate_conditions, parameter_values, template_document
from devtools.paths import REPO_ROOT, TEMPLATE_PATH


@dataclass(frozen=True)
class Route:
    function: str
    method: str
    path: str
    authorized: bool

    @property
    def route_key(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def parameter_names(self) -> list[str]:
        return re.findall(r"{([^}+]+)\+?}", self.path)

    def match(self, method: str, path: str) -> dict[str, str] | None:
        if self.method not in (method, "ANY"):
            return None
        pattern = (
            "^" + re.sub(r"{([^}+]+)(\+?)}", lambda m: f"(?P<{m[1]}>{'.+' if m[2] else '[^/]+'})", self.path) + "$"
        )
        found = re.match(pattern, path)
        return found.groupdict() if found else None


@dataclass(frozen=True)
class Function:
    logical_id: str
    code_path: Path
    handler: str
    environment: dict[str, str] = field(default_factory=dict)

    @property
    def module_file(self) -> Path:
        return self.code_path / (self.handler.rsplit(".", 1)[0].replace(".", "/") + ".py")

    @property
    def handler_name(self) -> str:
        return self.handler.rsplit(".", 1)[1]


@dataclass(frozen=True)
class WebSocketRoute:
    route_key: str  # $connect, $disconnect, $default or an action's name
    function: str
    authorized: bool  # a Lambda authorizer guards it ($connect only, in API Gateway)
    responds: bool = False  # two-way: the handler's body is sent back to the client (RouteResponseSelectionExpression)


@dataclass(frozen=True)
class WebSocketApi:
    route_selection_expression: str
    routes: dict[str, WebSocketRoute]

    def select_route(self, body: str) -> WebSocketRoute | None:
        """API Gateway's route selection for a message: the value the selection expression names in the JSON body
        when a route has that key, else $default (None when there is no $default either)."""
        field_name = self.route_selection_expression.removeprefix("$request.body.")
        try:
            message = json.loads(body)
        except (ValueError, RecursionError):  # a frame nested thousands deep is $default's to refuse, as in AWS
            message = None
        selected = message.get(field_name) if isinstance(message, dict) else None
        if isinstance(selected, str) and selected in self.routes and not selected.startswith("$"):
            return self.routes[selected]
        return self.routes.get("$default")


@dataclass(frozen=True)
class Template:
    functions: dict[str, Function]
    routes: list[Route]
    websocket: WebSocketApi | None = None


def _resolve(value: Any, parameters: dict[str, Any], conditions: dict[str, bool]) -> str | None:
    """A literal, a !Ref to a parameter with a default, or an !If between them (decided for the default
    parameters); anything that only exists in AWS resolves to None."""
    if isinstance(value, str | int | float | bool):
        return str(value).lower() if isinstance(value, bool) else str(value)
    if isinstance(value, dict) and set(value) == {"Ref"} and value["Ref"] in parameters:
        default = parameters[value["Ref"]].get("Default")
        return None if default is None else str(default)
    if isinstance(value, dict) and set(value) == {"Fn::If"}:
        condition, when_true, when_false = value["Fn::If"]
        return _resolve(when_true if conditions[condition] else when_false, parameters, conditions)
    return None


def _environment(properties: dict[str, Any], parameters: dict[str, Any], conditions: dict[str, bool]) -> dict[str, str]:
    variables = (properties.get("Environment") or {}).get("Variables") or {}
    resolved = {name: _resolve(value, parameters, conditions) for name, value in variables.items()}
    return {name: value for name, value in resolved.items() if value is not None}


@lru_cache(maxsize=4)
def load_template(path: Path = TEMPLATE_PATH) -> Template:
    document = template_document(path)
    parameters = document.get("Parameters") or {}
    conditions = evaluate_conditions(document, parameter_values(document, {}, complete=False))
    global_function = (document.get("Globals") or {}).get("Function") or {}
    global_environment = _environment(global_function, parameters, conditions)
    default_authorizer = {
        logical_id: ((resource.get("Properties") or {}).get("Auth") or {}).get("DefaultAuthorizer")
        for logical_id, resource in document["Resources"].items()
        if resource.get("Type") == "AWS::Serverless::HttpApi"
    }
    functions: dict[str, Function] = {}
    routes: list[Route] = []
    for logical_id, resource in document["Resources"].items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        properties = resource.get("Properties") or {}
        functions[logical_id] = Function(
            logical_id=logical_id,
            code_path=REPO_ROOT / properties["CodeUri"],
            handler=properties.get("Handler", global_function.get("Handler", "app.lambda_handler")),
            environment=global_environment | _environment(properties, parameters, conditions),
        )
        for event in (properties.get("Events") or {}).values():
            if event.get("Type") != "HttpApi":
                continue
            event_properties = event.get("Properties") or {}
            api = (event_properties.get("ApiId") or {}).get("Ref")
            authorizer = (event_properties.get("Auth") or {}).get("Authorizer", default_authorizer.get(api))
            routes.append(
                Route(
                    function=logical_id,
                    method=str(event_properties["Method"]).upper(),
                    path=event_properties["Path"],
                    authorized=bool(authorizer) and authorizer != "NONE",
                )
            )
    return Template(functions=functions, routes=most_specific_first(routes), websocket=_websocket_api(document))


def _function_in_uri(uri: Any) -> str | None:
    """`!Sub arn:...:functions/${SomeFunction.Arn}/invocations` -> SomeFunction."""
    text = uri.get("Fn::Sub") if isinstance(uri, dict) else uri
    found = re.search(r"\$\{([A-Za-z0-9]+)\.Arn\}", text) if isinstance(text, str) else None
    return found[1] if found else None


def _referenced(value: Any) -> str | None:
    """The logical id in `!Ref X` or `!Sub integrations/${X}`."""
    if isinstance(value, dict) and "Ref" in value:
        return str(value["Ref"])
    text = value.get("Fn::Sub") if isinstance(value, dict) else None
    found = re.search(r"\$\{([A-Za-z0-9]+)\}", text) if isinstance(text, str) else None
    return found[1] if found else None


def _websocket_api(document: dict[str, Any]) -> WebSocketApi | None:
    """The template's WebSocket API: each route's key and the function its Lambda proxy integration invokes."""
    resources: dict[str, Any] = document["Resources"]
    apis = [
        (logical_id, resource.get("Properties") or {})
        for logical_id, resource in resources.items()
        if resource.get("Type") == "AWS::ApiGatewayV2::Api"
        and (resource.get("Properties") or {}).get("ProtocolType") == "WEBSOCKET"
    ]
    if not apis:
        return None
    api_id, api_properties = apis[0]
    routes: dict[str, WebSocketRoute] = {}
    for resource in resources.values():
        properties = resource.get("Properties") or {}
        if resource.get("Type") != "AWS::ApiGatewayV2::Route" or _referenced(properties.get("ApiId")) != api_id:
            continue
        integration = resources.get(_referenced(properties.get("Target")) or "", {})
        function = _function_in_uri((integration.get("Properties") or {}).get("IntegrationUri"))
        if function is not None:
            route_key = str(properties["RouteKey"])
            routes[route_key] = WebSocketRoute(
                route_key=route_key,
                function=function,
                authorized=properties.get("AuthorizationType") == "CUSTOM",
                responds=bool(properties.get("RouteResponseSelectionExpression")),
            )
    return WebSocketApi(route_selection_expression=str(api_properties["RouteSelectionExpression"]), routes=routes)


def most_specific_first(routes: list[Route]) -> list[Route]:
    """API Gateway prefers the most specific route: literal segments over parameters, parameters over greedy ones."""
    return sorted(routes, key=lambda route: (route.path.count("+}"), len(route.parameter_names), -len(route.path)))
