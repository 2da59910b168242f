"""`make dev`'s S3: moto's server (`moto[server]`, already in the lock for the tests) in a thread of the development
server, with the private media bucket created in it.

Why moto's server rather than MiniStack (which `make deploy-local` uses for the CloudFormation rehearsal): it is a
library already in `.venv`, starts in well under a second inside the process that needs it (no second virtualenv,
no child process to reap), and it is the same S3 the tests run against, so what `make dev` shows is what the tests
check. MiniStack's value is CloudFormation, which the local S3 does not need. Objects live in memory: they are gone
when `make dev` stops (the media rows then say `stored` for files that are no longer there; copy again by clearing
the rows, or keep the server running).
"""

from __future__ import annotations

import contextlib
import io
import logging
from dataclasses import dataclass
from typing import Any

LOCAL_MEDIA_BUCKET = "threadline-media-local"
LOCAL_REGION = "us-east-1"
# moto's server accepts any credentials; these make the signatures well-formed and say where they come from.
LOCAL_AWS_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "local-s3", "AWS_SECRET_ACCESS_KEY": "local-s3-secret"}


@dataclass
class LocalS3:
    url: str
    bucket: str
    server: Any

    def environment(self) -> dict[str, str]:
        """What the functions read to reach it (threadline.aws.s3)."""
        return {"MEDIA_BUCKET": self.bucket, "MEDIA_S3_ENDPOINT_URL": self.url}

    def client(self) -> Any:
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.url,
            region_name=LOCAL_REGION,
            aws_access_key_id=LOCAL_AWS_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=LOCAL_AWS_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.server.stop()


def start_local_s3(*, host: str = "127.0.0.1", port: int = 0, bucket: str = LOCAL_MEDIA_BUCKET) -> LocalS3:
    """Start moto's S3 on `host:port` (0: a free port) and create the private bucket (public access blocked)."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
    server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
    with contextlib.redirect_stdout(io.StringIO()):
        server.start()
    bound_host, bound_port = server.get_host_and_port()
    local = LocalS3(url=f"http://{bound_host}:{bound_port}", bucket=bucket, server=server)
    client = local.client()
    client.create_bucket(Bucket=bucket)
    client.put_public_access_block(
        Bucket=bucket,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    return local
