"""The cold-start reference: an order-creating REST handler written the way aws-lambda-handler-cookbook writes its
create-order handler (bench/coldstart.py imports it and never invokes it).

What the community's production template loads at init: an APIGatewayRestResolver with request validation, a route
with pydantic input and output models, Logger/Tracer/Metrics at module level, Powertools idempotency backed by its
DynamoDB persistence layer, and a boto3 DynamoDB table for the order itself.
"""

import os
from functools import lru_cache
from http import HTTPStatus
from typing import Annotated, Any
from uuid import uuid4

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.serialization.pydantic import PydanticSerializer
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, Field, PositiveInt

logger = Logger()
tracer = Tracer()
metrics = Metrics()
app = APIGatewayRestResolver(enable_validation=True)

persistence = DynamoDBPersistenceLayer(table_name=os.environ.get("IDEMPOTENCY_TABLE_NAME", "orders-idempotency"))
idempotency = IdempotencyConfig(expires_after_seconds=300, event_key_jmespath="[customer_name, order_item_count]")


class NewOrder(BaseModel):
    customer_name: Annotated[str, Field(min_length=1, max_length=20)]
    order_item_count: PositiveInt


class PlacedOrder(BaseModel):
    id: Annotated[str, Field(min_length=36, max_length=36)]
    name: str
    item_count: PositiveInt


class ServerError(BaseModel):
    error: str = "internal server error"


@lru_cache(maxsize=1)
def _orders_table() -> Any:
    return boto3.resource("dynamodb").Table(os.environ.get("ORDERS_TABLE_NAME", "orders"))


@idempotent_function(
    data_keyword_argument="order",
    config=idempotency,
    persistence_store=persistence,
    output_serializer=PydanticSerializer,
)
@tracer.capture_method(capture_response=False)
def place_order(order: NewOrder) -> PlacedOrder:
    placed = PlacedOrder(id=str(uuid4()), name=order.customer_name, item_count=order.order_item_count)
    _orders_table().put_item(Item={"id": placed.id, "name": placed.name, "item_count": placed.item_count})
    metrics.add_metric(name="ValidCreateOrderEvents", unit=MetricUnit.Count, value=1)
    return placed


@app.exception_handler(RuntimeError)
def _answer_failure(error: RuntimeError) -> Response:
    logger.exception("order creation failed")
    return Response(
        status_code=HTTPStatus.INTERNAL_SERVER_ERROR,
        content_type=content_types.APPLICATION_JSON,
        body=ServerError().model_dump_json(),
    )


@app.post(
    "/api/orders/",
    responses={
        200: {"description": "The placed order", "content": {"application/json": {"model": PlacedOrder}}},
        500: {"description": "Internal server error", "content": {"application/json": {"model": ServerError}}},
    },
)
def create_order(order: Annotated[NewOrder, Body(embed=False)]) -> PlacedOrder:
    idempotency.register_lambda_context(app.lambda_context)
    return place_order(order=order)


@logger.inject_lambda_context(log_event=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
