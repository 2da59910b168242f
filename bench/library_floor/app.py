"""The floor under every database function's cold start: importing only the packages Threadline is built on, with
no Threadline code at all — psycopg (the database driver), pydantic with one model, and the Powertools pieces every
handler uses (Logger, Metrics, the HTTP resolver). bench/coldstart.py prints it beside the functions, so the run
itself shows how much of a function's init is its own and how much the chosen libraries cost before it starts."""

import psycopg  # noqa: F401 - the import is what is measured
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from pydantic import BaseModel


class Example(BaseModel):
    id: int


logger = Logger()
metrics = Metrics(namespace="Floor")
app = APIGatewayHttpResolver()


def lambda_handler(event, context):
    return {"statusCode": 200, "body": Example(id=1).model_dump_json()}
