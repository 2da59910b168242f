"""The yardstick for cold starts: the smallest handler written the Powertools way (a Logger and its decorator)."""

from aws_lambda_powertools import Logger

logger = Logger()


@logger.inject_lambda_context
def lambda_handler(event, context):
    return {"statusCode": 200, "body": "hello"}
