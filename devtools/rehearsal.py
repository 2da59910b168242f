"""The deployment rehearsal (`make deploy-local`): what `sam build` produces, deployed by `sam deploy` to a local AWS
emulator (MiniStack, devtools/emulator.py) in the existing-network-and-database shape, then called through the
emulator's API Gateway.

1. `sam build` for this machine's architecture (x86_64 here; arm64 on an arm64 machine) into `.aws-sam/build-<arch>`.
2. "The account": an embedded PostgreSQL that checks passwords (the existing database: an owner role that may
   create roles, and a database it owns), a local token issuer publishing its keys (JwtIssuer), the fake Graph API
   (Meta), and MiniStack with an existing VPC, two subnets and a security group, the owner's and the application
   role's secrets, and a bucket for the artifacts.
3. `sam deploy` of the built template with the existing-network and existing-database parameters. The Migrations
   custom resource runs the migrate function inside the emulator, as in AWS: it logs in as the owner from its
   secret, migrates, and sets threadline_app's password from the application role's secret.
4. Checks that every resource the template creates for these parameters is in the stack, that the migrations ran,
   then calls the HttpApi: ingest one conversation for a connection created through the CLI, list it with a bearer
   token, send a reply through the fake Graph API (its token in the Meta secret).

What is derived from template.yaml (so a new function, queue or route is rehearsed without changing this file):
the resources expected in the stack (devtools/cfn.py), and the HttpApi's routes. What the emulator cannot do is
listed once, in EMULATOR_GAPS, with the reason; docs/guides/deploying.md lists it too.
"""

from __future__ import annotations

import json
import os
import platform
import re
import secrets
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from devtools.cfn import deployed_template
from devtools.emulator import ACCOUNT_ID, CREDENTIALS, REGION, Emulator, free_port, start_emulator
from devtools.fake_graph import FakeGraphApi
from devtools.issuer import LocalIssuer
from devtools.paths import LOCAL_STATE, REPO_ROOT
from devtools.postgres import PasswordServer, start_password_server, stop_password_server
from devtools.template import template_document

STACK_NAME = "threadline-rehearsal"
STAGE = "dev"
DATABASE = "threadline"
OWNER_ROLE = "threadline_owner"
PHONE_NUMBER_ID = "109000000000001"
META_ACCESS_TOKEN = "rehearsal-meta-token"  # noqa: S105 - the fake Graph API's, never Meta's

# What MiniStack (the version devtools/emulator-requirements.txt pins) cannot do, and what the rehearsal does
# about it. docs/guides/deploying.md lists the same.
EMULATOR_GAPS: dict[str, str] = {
    "AWS::ApiGatewayV2::RouteResponse": (
        "no CloudFormation handler (the stack would be refused whole): removed from the deployed template. They "
        "make the WebSocket API's message routes two-way; the WebSocket API is not called by the rehearsal"
    ),
    "HTTP API event path": (
        "MiniStack leaves a named stage out of rawPath and requestContext.http.path, where AWS puts it first "
        "(/dev/v1/ingest; Powertools' resolver strips it), so every route would answer 404: the emulator is started "
        "through devtools/emulator_launch.py, which adds the stage back"
    ),
    "AWS::ApiGatewayV2::Api Body": (
        "an HTTP API's OpenAPI Body (how SAM declares an HttpApi's routes, integrations and JWT authorizer) is not "
        "imported: after the deploy the rehearsal creates them through the emulator's API Gateway v2 API from the "
        "deployed template's own Body, as CloudFormation's import does in AWS"
    ),
}
# Refused too, but only by the stack's own network and database, which this shape does not create.
NOT_IN_THIS_SHAPE = ["AWS::EC2::EIP", "AWS::EC2::NatGateway", "AWS::RDS::DBProxy", "AWS::RDS::DBProxyTargetGroup"]
REMOVED_TYPES = {name for name in EMULATOR_GAPS if name.startswith("AWS::") and " " not in name}


def this_machines_architecture() -> str:
    return "arm64" if platform.machine() in ("aarch64", "arm64") else "x86_64"


def build_dir(architecture: str) -> Path:
    return REPO_ROOT / ".aws-sam" / f"build-{architecture}"


def sam_build(architecture: str) -> Path:
    """`sam build` for `architecture` into its own build directory (`make build`'s arm64 one is left alone)."""
    target = build_dir(architecture)
    command = [str(REPO_ROOT / ".venv" / "bin" / "sam"), "build", "--cached", "--parameter-overrides"]
    command += [f"Architecture={architecture}", "--build-dir", str(target)]
    command += ["--cache-dir", str(REPO_ROOT / ".aws-sam" / f"cache-{architecture}")]
    subprocess.run(command, cwd=REPO_ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return target


@dataclass
class Answer:
    status: int
    body: Any

    def __str__(self) -> str:
        return f"{self.status} {json.dumps(self.body)}"


@dataclass
class Rehearsal:
    """Everything the rehearsal set up, for its steps and for the test that asserts on them."""

    emulator: Emulator
    database: PasswordServer
    issuer: LocalIssuer
    graph: FakeGraphApi
    architecture: str
    parameters: dict[str, str] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)
    api_id: str = ""

    @property
    def owner_url(self) -> str:
        return self.database.url(DATABASE)

    @property
    def api_url(self) -> str:
        return f"{self.emulator.endpoint_url}/_aws/execute-api/{self.api_id}/{STAGE}"

    def call(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Answer:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(  # noqa: S310 - the emulator on 127.0.0.1
            self.api_url + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json", **(headers or {})},
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
                return Answer(response.status, json.loads(response.read() or b"null"))
        except urllib.error.HTTPError as error:
            text = error.read()
            try:
                return Answer(error.code, json.loads(text or b"null"))
            except ValueError:
                return Answer(error.code, text.decode(errors="replace"))


@contextmanager
def account(state_dir: Path, architecture: str) -> Iterator[Rehearsal]:
    """The emulated account and its outside world, torn down afterwards: the emulator stopped (its functions with
    it), the database server stopped and its data removed, the issuer and the fake Graph API closed."""
    shutil.rmtree(state_dir, ignore_errors=True)
    state_dir.mkdir(parents=True)
    with ExitStack() as teardown:
        database = start_password_server(state_dir / "pgdata", free_port())
        teardown.callback(stop_password_server, database.pgdata)
        issuer = teardown.enter_context(LocalIssuer())
        graph = teardown.enter_context(FakeGraphApi())
        # Where Meta's Graph API is, on this machine: the functions inherit it from the emulator's environment
        # (in AWS they use the default, graph.facebook.com, through the NAT gateway).
        emulator = start_emulator(state_dir / "ministack", environment={"META_GRAPH_URL": graph.base_url})
        teardown.callback(emulator.stop)
        yield Rehearsal(emulator, database, issuer, graph, architecture)
    shutil.rmtree(state_dir, ignore_errors=True)


def prepare_database(rehearsal: Rehearsal) -> dict[str, str]:
    """The existing database: an owner role that may create roles (like RDS's master user, not a superuser) and a
    database it owns. Returns the owner's and the application role's secrets' values."""
    owner_password = secrets.token_urlsafe(24)
    with psycopg.connect(rehearsal.database.url(), autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE ROLE {} LOGIN CREATEROLE PASSWORD {}").format(
                sql.Identifier(OWNER_ROLE), sql.Literal(owner_password)
            )
        )
        conn.execute(
            sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(DATABASE), sql.Identifier(OWNER_ROLE))
        )
    return {"owner": owner_password, "app": secrets.token_urlsafe(24)}


def prepare_account(rehearsal: Rehearsal, passwords: dict[str, str]) -> dict[str, str]:
    """The existing network and secrets in the emulator; returns the deployment's parameters."""
    ec2 = rehearsal.emulator.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.80.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=cidr, AvailabilityZone=f"{REGION}{zone}")["Subnet"]["SubnetId"]
        for cidr, zone in (("10.80.0.0/20", "a"), ("10.80.16.0/20", "b"))
    ]
    group = ec2.create_security_group(GroupName="threadline-functions", Description="functions", VpcId=vpc)["GroupId"]
    secretsmanager = rehearsal.emulator.client("secretsmanager")
    owner_secret = secretsmanager.create_secret(
        Name="inbox/owner", SecretString=json.dumps({"username": OWNER_ROLE, "password": passwords["owner"]})
    )["ARN"]
    app_secret = secretsmanager.create_secret(
        Name="inbox/threadline-app", SecretString=json.dumps({"password": passwords["app"]})
    )["ARN"]
    rehearsal.emulator.client("s3").create_bucket(Bucket="threadline-rehearsal-artifacts")
    return {
        "Stage": STAGE,
        "Architecture": rehearsal.architecture,
        "JwtIssuer": rehearsal.issuer.issuer,
        "JwtAudience": rehearsal.issuer.audience,
        "MetaPhoneNumberId": PHONE_NUMBER_ID,
        "ExistingSubnetIds": ",".join(subnets),
        "ExistingSecurityGroupIds": group,
        "ExistingDbHost": "127.0.0.1",
        "ExistingDbPort": str(rehearsal.database.port),
        "ExistingDbName": DATABASE,
        "ExistingDbAppSecretArn": app_secret,
        "ExistingDbOwnerSecretArn": owner_secret,
        # The embedded PostgreSQL build has no TLS; an AWS database keeps the default, require.
        "ExistingDbSslMode": "disable",
    }


def emulator_template(built: Path) -> Path:
    """The built template without the resource types the emulator refuses (EMULATOR_GAPS), refusing to drop one
    that anything else refers to (then the rehearsal would silently test less than it says)."""
    document = template_document(built / "template.yaml")
    removed = {name for name, resource in document["Resources"].items() if resource.get("Type") in REMOVED_TYPES}
    for name in removed:
        del document["Resources"][name]
    text = json.dumps(document)
    for name in removed:
        if f'"{name}"' in text or "${" + name in text:
            raise RuntimeError(f"{name}, which the emulator cannot create, is referenced by the template")
    target = built / "emulator-template.json"
    target.write_text(json.dumps(document, indent=1))
    return target


def emulator_environment(rehearsal: Rehearsal) -> dict[str, str]:
    """The SAM CLI's and the CLI's environment: the emulator as the AWS endpoint, its credentials."""
    environment = {name: value for name, value in os.environ.items() if not name.startswith(("AWS_", "DATABASE_URL"))}
    return environment | CREDENTIALS | {"AWS_ENDPOINT_URL": rehearsal.emulator.endpoint_url, "AWS_REGION": REGION}


def sam_deploy(rehearsal: Rehearsal, template: Path) -> None:
    overrides = [f"{name}={value}" for name, value in rehearsal.parameters.items()]
    command = [str(REPO_ROOT / ".venv" / "bin" / "sam"), "deploy", "--template-file", str(template)]
    command += ["--stack-name", STACK_NAME, "--s3-bucket", "threadline-rehearsal-artifacts", "--region", REGION]
    command += ["--capabilities", "CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND", "--no-confirm-changeset"]
    command += ["--no-fail-on-empty-changeset", "--disable-rollback", "--parameter-overrides", *overrides]
    completed = subprocess.run(
        command, cwd=REPO_ROOT, env=emulator_environment(rehearsal), capture_output=True, text=True, check=False
    )
    if completed.returncode != 0:
        raise RuntimeError(
            f"sam deploy failed:\n{completed.stdout[-4000:]}\n{completed.stderr[-4000:]}\n{failed_resources(rehearsal)}"
        )


def failed_resources(rehearsal: Rehearsal) -> list[str]:
    try:
        events = rehearsal.emulator.client("cloudformation").describe_stack_events(StackName=STACK_NAME)
    except Exception:  # no stack at all: sam deploy's own output says why
        return []
    return [
        f"{event['LogicalResourceId']} ({event['ResourceType']}): {event.get('ResourceStatusReason')}"
        for event in events["StackEvents"]
        if event["ResourceStatus"].endswith("FAILED")
    ]


def stack_resources(rehearsal: Rehearsal) -> dict[str, dict[str, Any]]:
    cloudformation = rehearsal.emulator.client("cloudformation")
    listed = cloudformation.describe_stack_resources(StackName=STACK_NAME)["StackResources"]
    return {resource["LogicalResourceId"]: resource for resource in listed}


# SAM names layer versions and published function versions by a hash of their content (the code's S3 location).
_CONTENT_NAMED = re.compile(r"^(?P<name>.+?)[0-9a-f]{10}$")
_CONTENT_NAMED_TYPES = {"AWS::Lambda::LayerVersion", "AWS::Lambda::Version"}


def resource_key(logical_id: str, resource_type: str) -> str:
    """A resource's logical id with SAM's content hash taken off, so a template and its deployment compare."""
    found = _CONTENT_NAMED.match(logical_id) if resource_type in _CONTENT_NAMED_TYPES else None
    return f"{found['name'] if found else logical_id} ({resource_type})"


def expected_resources(parameters: dict[str, str]) -> set[str]:
    """Every resource CloudFormation creates from template.yaml for these parameters, less what the emulator cannot
    create (resource_key form)."""
    template = deployed_template(parameters)
    return {
        resource_key(name, resource["Type"])
        for name, resource in template["Resources"].items()
        if resource["Type"] not in REMOVED_TYPES
    }


def deployed_resources(resources: dict[str, dict[str, Any]]) -> set[str]:
    return {
        resource_key(name, resource["ResourceType"])
        for name, resource in resources.items()
        if resource["ResourceStatus"] in ("CREATE_COMPLETE", "UPDATE_COMPLETE")
    }


def _sub(text: str, resources: dict[str, dict[str, Any]]) -> str:
    """`Fn::Sub` over the deployed stack: pseudo parameters and each `${Resource}`'s physical id (its Ref)."""
    values = {"AWS::Partition": "aws", "AWS::Region": REGION, "AWS::AccountId": ACCOUNT_ID}
    values |= {name: resource["PhysicalResourceId"] for name, resource in resources.items()}
    for name, value in values.items():
        text = text.replace("${" + name + "}", value)
    if "${" in text:
        raise RuntimeError(f"cannot resolve {text}")
    return text


def import_http_api(rehearsal: Rehearsal, resources: dict[str, dict[str, Any]]) -> list[str]:
    """What CloudFormation does with an HttpApi's Body in AWS (EMULATOR_GAPS): its JWT authorizers, and for each path
    and method a route with a Lambda proxy integration. Read from the deployed template; returns the route keys."""
    api_id = resources["HttpApi"]["PhysicalResourceId"]
    template = deployed_template(rehearsal.parameters)
    body = template["Resources"]["HttpApi"]["Properties"]["Body"]
    apigateway = rehearsal.emulator.client("apigatewayv2")
    authorizers: dict[str, str] = {}
    for name, scheme in (body.get("components") or {}).get("securitySchemes", {}).items():
        authorizer = scheme["x-amazon-apigateway-authorizer"]
        jwt_configuration = authorizer["jwtConfiguration"]
        authorizers[name] = apigateway.create_authorizer(
            ApiId=api_id,
            Name=name,
            AuthorizerType="JWT",
            IdentitySource=[authorizer["identitySource"]],
            JwtConfiguration={"Issuer": jwt_configuration["issuer"], "Audience": jwt_configuration["audience"]},
        )["AuthorizerId"]
    route_keys = []
    for path, methods in body["paths"].items():
        for method, operation in methods.items():
            integration = operation["x-amazon-apigateway-integration"]
            integration_id = apigateway.create_integration(
                ApiId=api_id,
                IntegrationType="AWS_PROXY",
                IntegrationUri=_sub(integration["uri"]["Fn::Sub"], resources),
                PayloadFormatVersion=integration["payloadFormatVersion"],
            )["IntegrationId"]
            [security] = operation.get("security") or [{"NONE": []}]
            [scheme] = security
            route_key = f"{method.upper()} {path}"
            extra = {"AuthorizationType": "JWT", "AuthorizerId": authorizers[scheme]} if scheme in authorizers else {}
            apigateway.create_route(ApiId=api_id, RouteKey=route_key, Target=f"integrations/{integration_id}", **extra)
            route_keys.append(route_key)
    return route_keys


def applied_migrations(rehearsal: Rehearsal) -> list[str]:
    with psycopg.connect(rehearsal.owner_url) as conn:
        return [row[0] for row in conn.execute("SELECT version FROM schema_migrations ORDER BY version")]


def cli(rehearsal: Rehearsal, *arguments: str) -> dict[str, Any]:
    """The admin CLI against the existing database, as its owner (it writes in one transaction, prints JSON)."""
    environment = emulator_environment(rehearsal) | {"DATABASE_URL": rehearsal.owner_url}
    completed = subprocess.run(
        [str(REPO_ROOT / ".venv" / "bin" / "threadline"), *arguments],
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    )
    answer: dict[str, Any] = json.loads(completed.stdout)
    return answer


@dataclass
class Scenario:
    tenant_id: str
    connection: dict[str, Any]
    ingest: Answer
    listed: Answer
    unauthorized: Answer
    sent: Answer


def run_scenario(rehearsal: Rehearsal, announce: Callable[[str], None]) -> Scenario:
    rehearsal.emulator.client("secretsmanager").put_secret_value(
        SecretId=f"threadline/{STAGE}/meta",  # the template's MetaSecret, set as docs/guides/deploying.md says
        SecretString=json.dumps(
            {"access_token": META_ACCESS_TOKEN, "app_secret": "rehearsal-app-secret", "verify_token": "rehearsal"}
        ),
    )
    tenant = cli(rehearsal, "tenant", "create", "--name", "Rehearsal Support")
    connection = cli(
        rehearsal,
        "connection",
        "create",
        "--tenant",
        tenant["id"],
        "--platform",
        "whatsapp",
        "--phone-number-id",
        PHONE_NUMBER_ID,
    )
    announce(f"CLI connection: {connection['connection_id']} (tenant {tenant['id']})")
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    ingest = rehearsal.call(
        "POST",
        "/functions/v1/messaging-ingest",
        {
            "platform": "whatsapp",
            "connection_id": connection["connection_id"],
            "conversations": [
                {
                    "external_conversation_id": "rehearsal-chat",
                    "participant_identifier": "+15550100200",
                    "participant_name": "Rehearsal Customer",
                    "messages": [
                        {"id": "m1", "direction": "inbound", "type": "text", "content": "Hello?", "sent_at": now}
                    ],
                }
            ],
        },
        headers={"x-api-key": connection["api_secret"]},
    )
    announce(f"POST /functions/v1/messaging-ingest -> {ingest}")
    token = rehearsal.issuer.issue_token(tenant_id=tenant["id"], user_id=str(uuid.uuid4()))
    bearer = {"Authorization": f"Bearer {token}"}
    unauthorized = rehearsal.call("GET", "/api/v1/conversations")
    announce(f"GET /api/v1/conversations without a token -> {unauthorized}")
    listed = rehearsal.call("GET", "/api/v1/conversations", headers=bearer)
    announce(f"GET /api/v1/conversations -> {listed}")
    sent = rehearsal.call(
        "POST", "/api/messages/send", {"recipient": "+15550100200", "body": "Hi! How can we help?"}, headers=bearer
    )
    announce(f"POST /api/messages/send -> {sent}")
    return Scenario(tenant["id"], connection, ingest, listed, unauthorized, sent)


def deploy(rehearsal: Rehearsal, announce: Callable[[str], None]) -> dict[str, dict[str, Any]]:
    """Steps 1-3 and the deployment checks of step 4; returns the stack's resources."""
    started = time.monotonic()
    built = sam_build(rehearsal.architecture)
    announce(
        f"sam build ({rehearsal.architecture}) -> {built.relative_to(REPO_ROOT)} [{time.monotonic() - started:.0f} s]"
    )
    passwords = prepare_database(rehearsal)
    rehearsal.parameters = prepare_account(rehearsal, passwords)
    started = time.monotonic()
    sam_deploy(rehearsal, emulator_template(built))
    announce(f"sam deploy -> stack {STACK_NAME} [{time.monotonic() - started:.0f} s]")
    cloudformation = rehearsal.emulator.client("cloudformation")
    [stack] = cloudformation.describe_stacks(StackName=STACK_NAME)["Stacks"]
    rehearsal.outputs = {output["OutputKey"]: output["OutputValue"] for output in stack.get("Outputs", [])}
    resources = stack_resources(rehearsal)
    rehearsal.api_id = resources["HttpApi"]["PhysicalResourceId"]
    routes = import_http_api(rehearsal, resources)
    announce(f"HttpApi {rehearsal.api_id}: {len(routes)} routes imported from its Body")
    return resources


def main() -> int:
    architecture = this_machines_architecture()
    with account(LOCAL_STATE / "deploy-local", architecture) as rehearsal:
        resources = deploy(rehearsal, print)
        missing = sorted(expected_resources(rehearsal.parameters) - deployed_resources(resources))
        if missing:
            print(f"missing from the stack: {missing}")
            return 1
        print(
            f"stack resources: {len(resources)}, all the template's for this shape; migrations applied: "
            f"{', '.join(applied_migrations(rehearsal))}"
        )
        print(f"API URL: {rehearsal.api_url}")
        run_scenario(rehearsal, print)
        print("Emulator gaps (docs/guides/deploying.md):")
        for name, reason in EMULATOR_GAPS.items():
            print(f"  {name}: {reason}")
    print("Torn down: MiniStack stopped, its database server stopped and removed.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
