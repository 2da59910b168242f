"""The baseline bench/coldstart.py prints beside the functions: what minting an RDS IAM token cost a fresh container
before threadline.db.iam_token, i.e. importing boto3, building an RDS client and calling generate_db_auth_token
(all at import here, so the probe's init figure is that cost)."""

import os

import boto3

token = boto3.client("rds", region_name=os.environ["AWS_REGION"]).generate_db_auth_token(
    DBHostname="threadline.proxy-example.us-east-1.rds.amazonaws.com", Port=5432, DBUsername="threadline_app"
)


def lambda_handler(event, context):
    return {"statusCode": 200, "body": "minted"}
