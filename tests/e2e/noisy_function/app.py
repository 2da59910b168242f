"""A test-only function that writes to stdout what a Threadline handler writes there: CloudWatch EMF metrics (through
Powertools Metrics itself) and Powertools-shaped JSON log records, then answers as the query (or frame) asks: a
status, a WARNING record, or a crash. For the dev server's request log (devtools/request_log.py)."""

import json

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit

metrics = Metrics(namespace="ThreadlineTest", service="noisy")


def _log(level, message, **extra):
    record = {"level": level, "location": "lambda_handler:1", "message": message, "timestamp": "2026-02-01T10:30:00Z"}
    print(json.dumps(record | {"service": "noisy"} | extra))


def lambda_handler(event, context):
    ask = dict(event.get("queryStringParameters") or {})
    if "body" in event and "requestContext" in event and "http" not in event["requestContext"]:
        ask |= json.loads(event["body"])
    _log("INFO", "handled the request quietly")
    metrics.add_metric(name="NoisyRequests", unit=MetricUnit.Count, value=1)
    metrics.flush_metrics()
    if ask.get("warn"):
        _log("WARNING", "the read receipt could not be sent", receipt="wamid.1")
    if ask.get("crash"):
        raise RuntimeError("boom: the handler crashed")
    status = int(ask.get("status", 200))
    if status >= 500:
        _log("ERROR", "request failed", error="Internal server error")
    return {"statusCode": status, "headers": {"Content-Type": "application/json"}, "body": json.dumps({"ok": True})}
