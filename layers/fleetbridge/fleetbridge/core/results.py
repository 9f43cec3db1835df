"""Large results (drift reports, routing results) in the S3 results bucket: one way to store them."""

from __future__ import annotations

from botocore.exceptions import ClientError

from fleetbridge.core.aws import client
from fleetbridge.core.config import get_settings


def put_result(key: str, body: bytes | str, content_type: str = "application/json") -> str:
    """Store `body` under `key` in the results bucket; returns the key."""
    data = body.encode() if isinstance(body, str) else body
    client("s3").put_object(
        Bucket=get_settings().results_bucket, Key=key, Body=data, ContentType=content_type
    )
    return key


def get_result(key: str) -> bytes | None:
    """The stored bytes, or None when nothing is stored under `key`."""
    try:
        answer = client("s3").get_object(Bucket=get_settings().results_bucket, Key=key)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            return None
        raise
    return bytes(answer["Body"].read())


def result_size(key: str) -> int | None:
    """The stored object's size in bytes, or None when nothing is stored under `key`."""
    try:
        answer = client("s3").head_object(Bucket=get_settings().results_bucket, Key=key)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
            return None
        raise
    return int(answer["ContentLength"])


def presigned_url(key: str, method: str, expires_s: int) -> str:
    """A presigned `GET` (read) or `PUT` (upload) URL for `key` in the results bucket."""
    operation = {"GET": "get_object", "PUT": "put_object"}[method]
    url: str = client("s3").generate_presigned_url(
        operation,
        Params={"Bucket": get_settings().results_bucket, "Key": key},
        ExpiresIn=expires_s,
    )
    return url
