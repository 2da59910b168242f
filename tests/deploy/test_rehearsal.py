"""The deployment rehearsal (`make deploy-local`, devtools/rehearsal.py) as a test: the built stack deployed by
`sam deploy` to MiniStack in the existing-network-and-database shape answers through the emulator's API Gateway,
then everything is torn down. About a minute on this machine (build cached: ~50 s)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from devtools.paths import LOCAL_STATE
from devtools.rehearsal import (
    META_ACCESS_TOKEN,
    PHONE_NUMBER_ID,
    Rehearsal,
    Scenario,
    account,
    applied_migrations,
    deploy,
    deployed_resources,
    expected_resources,
    run_scenario,
    this_machines_architecture,
)
from devtools.template import load_template
from threadline.db.migrations import available_migrations


@pytest.fixture(scope="module")
def rehearsed(built_stack) -> Iterator[tuple[Rehearsal, dict[str, Any], list[str], Scenario]]:
    state = LOCAL_STATE / "deploy-test"
    with account(state, this_machines_architecture()) as rehearsal:
        resources = deploy(rehearsal, lambda line: None)
        migrations = applied_migrations(rehearsal)  # before the CLI runs: the custom resource's doing
        scenario = run_scenario(rehearsal, lambda line: None)
        yield rehearsal, resources, migrations, scenario
    # Torn down: the emulator (and every function process it ran) stopped, the database server's data gone.
    assert rehearsal.emulator.process.poll() is not None
    assert not rehearsal.database.pgdata.exists() and not state.exists()


def test_the_stack_holds_every_resource_the_template_creates_for_this_shape(rehearsed):
    rehearsal, resources, _, _ = rehearsed

    assert expected_resources(rehearsal.parameters) <= deployed_resources(resources)
    assert not {"AWS::EC2::VPC", "AWS::RDS::DBInstance"} & {r["ResourceType"] for r in resources.values()}


def test_the_migrations_custom_resource_migrated_the_existing_database_in_the_emulator(rehearsed):
    _, resources, migrations, _ = rehearsed

    assert resources["MigrationsInExistingNetwork"]["ResourceStatus"] == "CREATE_COMPLETE"
    assert migrations == [migration.version for migration in available_migrations()]


def test_every_template_route_reaches_its_functions_alias(rehearsed):
    rehearsal, resources, _, _ = rehearsed
    routes = rehearsal.emulator.client("apigatewayv2").get_routes(ApiId=rehearsal.api_id)["Items"]
    integrations = {
        item["IntegrationId"]: item["IntegrationUri"]
        for item in rehearsal.emulator.client("apigatewayv2").get_integrations(ApiId=rehearsal.api_id)["Items"]
    }

    deployed = {route["RouteKey"]: integrations[route["Target"].removeprefix("integrations/")] for route in routes}
    for route in load_template().routes:
        alias = resources[f"{route.function}Aliaslive"]["PhysicalResourceId"]
        assert deployed[route.route_key].endswith(f"functions/{alias}/invocations"), route.route_key
    assert {r["RouteKey"] for r in routes if r.get("AuthorizationType") == "JWT"} == {
        route.route_key for route in load_template().routes if route.authorized
    }


def test_a_connector_ingests_a_conversation_for_a_connection_made_with_the_cli(rehearsed):
    _, _, _, scenario = rehearsed

    assert scenario.ingest.status == 200
    assert scenario.ingest.body["results"] == [
        {"conversation_id": 1, "external_conversation_id": "rehearsal-chat", "messages_added": 1, "status": "created"}
    ]


def test_an_agent_lists_it_with_a_bearer_token_the_jwt_authorizer_checked(rehearsed):
    _, _, _, scenario = rehearsed

    assert scenario.unauthorized.status == 401 and scenario.unauthorized.body == {"message": "Unauthorized"}
    assert scenario.listed.status == 200
    [conversation] = scenario.listed.body["conversations"]
    assert conversation["contact"]["identifier"] == "+15550100200"
    assert conversation["last_message_preview"] == "Hello?" and conversation["window"]["status"] == "open"


def test_a_reply_goes_to_meta_with_the_token_from_the_meta_secret(rehearsed):
    rehearsal, _, _, scenario = rehearsed

    assert scenario.sent.status == 200 and scenario.sent.body["success"] is True
    [request] = rehearsal.graph.send_requests
    assert request.phone_number_id == PHONE_NUMBER_ID
    assert request.headers["authorization"] == f"Bearer {META_ACCESS_TOKEN}"
    assert scenario.sent.body["meta_id"] == scenario.sent.body["message"]["meta_id"]
