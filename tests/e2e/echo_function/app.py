"""A test-only function that answers with the event it received, to check what the local gateway hands over."""

import json


def lambda_handler(event, context):
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": json.dumps(event)}
