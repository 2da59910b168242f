"""The database-connect permission is written once in template.yaml, and every function that reaches PostgreSQL
through RDS Proxy attaches it by reference."""

from __future__ import annotations

import re
from typing import Any

from devtools.template import load_template, template_document

CONNECT_POLICY = "DbConnectPolicy"
# Connects to the instance itself as the master user, with the password from its secret: never through the proxy.
MIGRATE_FUNCTION = "MigrateFunction"


def _statements_granting(value: Any, action: str) -> list[dict[str, Any]]:
    """Every IAM statement anywhere under `value` whose Action is or includes `action`."""
    found = []
    if isinstance(value, dict):
        actions = value.get("Action")
        if value.get("Effect") and (actions == action or (isinstance(actions, list) and action in actions)):
            found.append(value)
        for child in value.values():
            found += _statements_granting(child, action)
    elif isinstance(value, list):
        for child in value:
            found += _statements_granting(child, action)
    return found


def test_rds_db_connect_is_granted_once_for_the_proxys_application_user():
    resources = template_document()["Resources"]

    assert resources[CONNECT_POLICY]["Type"] == "AWS::IAM::ManagedPolicy"
    everywhere = _statements_granting(resources, "rds-db:connect")
    [statement] = _statements_granting(resources[CONNECT_POLICY], "rds-db:connect")
    assert everywhere == [statement]
    resource_arn, substitutions = statement["Resource"]["Fn::Sub"]
    assert resource_arn.endswith(":dbuser:${ProxyResourceId}/threadline_app")
    assert "DbProxy" in str(substitutions["ProxyResourceId"])


def test_every_function_that_uses_the_database_attaches_the_connect_policy_and_no_other_does():
    resources = template_document()["Resources"]
    attached = {
        logical_id
        for logical_id, resource in resources.items()
        if resource["Type"] == "AWS::Serverless::Function"
        and {"Ref": CONNECT_POLICY} in (resource["Properties"].get("Policies") or [])
    }
    # A handler reaches the database through the layer's db, domain or delivery modules.
    uses_the_database = {
        function.logical_id
        for function in load_template().functions.values()
        if re.search(r"^from threadline\.(db|domain|delivery)\b", function.module_file.read_text(), re.MULTILINE)
    } - {MIGRATE_FUNCTION}

    assert {"IngestFunction", "WebSocketFunction", "ExpireWindowsFunction"} <= uses_the_database
    assert "WebSocketAuthorizerFunction" not in uses_the_database  # checks JWTs only
    assert attached == uses_the_database
