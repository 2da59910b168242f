"""The two account shapes template.yaml deploys (docs/guides/deploying.md), read from what CloudFormation would create
for their parameters (the SAM transform, then the conditions): the stack's own network and database, or an existing
network and PostgreSQL, reached with the application role's password or through an existing RDS Proxy."""

from __future__ import annotations

from functools import cache
from typing import Any

import pytest

from devtools.cfn import deployed_template

REQUIRED = {"JwtIssuer": "https://issuer.example.com/", "JwtAudience": "threadline"}
EXISTING = REQUIRED | {
    "ExistingSubnetIds": "subnet-0aaa,subnet-0bbb",
    "ExistingSecurityGroupIds": "sg-0ccc",
    "ExistingDbHost": "postgres.internal.example",
    "ExistingDbPort": "6432",
    "ExistingDbName": "inbox",
    "ExistingDbAppSecretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:inbox/app-AbCdEf",
    "ExistingDbOwnerSecretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:inbox/owner-AbCdEf",
}
CREATED_ONLY_BY_THE_DEFAULT = {
    "AWS::EC2::VPC",
    "AWS::EC2::Subnet",
    "AWS::EC2::NatGateway",
    "AWS::EC2::EIP",
    "AWS::EC2::VPCEndpoint",
    "AWS::EC2::SecurityGroup",
    "AWS::RDS::DBInstance",
    "AWS::RDS::DBProxy",
    "AWS::RDS::DBProxyTargetGroup",
}


@cache
def _deployed(items: tuple[tuple[str, str], ...]) -> dict[str, Any]:
    return deployed_template(dict(items))


def deployed(parameters: dict[str, str]) -> dict[str, Any]:
    return _deployed(tuple(sorted(parameters.items())))


def functions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: resource["Properties"]
        for name, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Lambda::Function"
    }


def resource_types(template: dict[str, Any]) -> set[str]:
    return {resource["Type"] for resource in template["Resources"].values()}


def test_the_default_creates_its_own_network_and_database_and_reaches_it_through_rds_proxy():
    template = deployed(REQUIRED)

    assert resource_types(template) >= CREATED_ONLY_BY_THE_DEFAULT
    for name, function in functions(template).items():
        variables = function["Environment"]["Variables"]
        assert function["Architectures"] == ["arm64"], name
        assert variables["DB_IAM_AUTH"] == "true", name
        assert "DB_PASSWORD_SECRET_ARN" not in variables and "DB_SSLMODE" not in variables, name
        assert {"Ref": "PrivateSubnetA"} in function["VpcConfig"]["SubnetIds"], name
    assert set(template["Outputs"]) >= {"DbProxyEndpoint", "DbInstanceEndpoint"}


def test_an_existing_network_and_database_create_neither_and_the_functions_use_them():
    template = deployed(EXISTING)

    assert not resource_types(template) & CREATED_ONLY_BY_THE_DEFAULT
    for name, function in functions(template).items():
        variables = function["Environment"]["Variables"]
        assert function["VpcConfig"] == {"SecurityGroupIds": ["sg-0ccc"], "SubnetIds": ["subnet-0aaa", "subnet-0bbb"]}
        assert (variables["DB_HOST"], variables["DB_PORT"], variables["DB_NAME"]) == (
            "postgres.internal.example",
            "6432",
            "inbox",
        ), name
        assert variables["DB_IAM_AUTH"] == "false", name
        assert variables["DB_PASSWORD_SECRET_ARN"] == EXISTING["ExistingDbAppSecretArn"], name
        assert variables["DB_SSLMODE"] == "require", name
    assert "DbProxyEndpoint" not in template["Outputs"]


def test_without_a_proxy_the_functions_may_read_only_the_application_roles_secret():
    policy = deployed(EXISTING)["Resources"]["DbConnectPolicy"]["Properties"]["PolicyDocument"]

    assert policy["Statement"] == [
        {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": EXISTING["ExistingDbAppSecretArn"]}
    ]


def test_through_an_existing_rds_proxy_the_functions_use_iam_tokens_for_that_proxy():
    template = deployed(EXISTING | {"ExistingDbProxyResourceId": "prx-0123456789abcdef0"})

    for name, function in functions(template).items():
        assert function["Environment"]["Variables"]["DB_IAM_AUTH"] == "true", name
        assert "DB_PASSWORD_SECRET_ARN" not in function["Environment"]["Variables"], name
    [statement] = template["Resources"]["DbConnectPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Action"] == "rds-db:connect"
    assert statement["Resource"]["Fn::Sub"][1] == {"ProxyResourceId": "prx-0123456789abcdef0"}


def test_the_migrations_run_as_the_existing_databases_owner_and_set_the_roles_password_from_its_secret():
    template = deployed(EXISTING | {"ExistingDbOwnerHost": "postgres-primary.internal.example"})

    variables = functions(template)["MigrateFunction"]["Environment"]["Variables"]
    assert variables["DB_HOST"] == "postgres-primary.internal.example"
    assert variables["MASTER_SECRET_ARN"] == EXISTING["ExistingDbOwnerSecretArn"]
    assert variables["APP_SECRET_ARN"] == EXISTING["ExistingDbAppSecretArn"]
    custom_resources = [name for name, r in template["Resources"].items() if r["Type"] == "Custom::Migrations"]
    assert custom_resources == ["MigrationsInExistingNetwork"]
    assert "DependsOn" not in template["Resources"]["MigrationsInExistingNetwork"]


@pytest.mark.parametrize("architecture", ["arm64", "x86_64"])
def test_the_functions_and_the_layer_share_the_chosen_architecture(architecture):
    template = deployed(REQUIRED | {"Architecture": architecture})

    assert {tuple(function["Architectures"]) for function in functions(template).values()} == {(architecture,)}
    [layer] = [r["Properties"] for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::LayerVersion"]
    assert layer["CompatibleArchitectures"] == [architecture]
