"""The secrets scan that closes every e2e session (a finaliser of the `stack` fixture, so it
does not depend on test order): no credential value the run sent, nor any 8-character fragment
of one, in any log line, API answer, activity record or other DynamoDB item, email, sample event
or S3 object.

A fragment counts when it holds a digit, a capital or a symbol: fragments made only of
lower-case words and dashes ("fleetio-", "-webhook") are the domain's vocabulary, which test
credentials are built from and which appear in headers, URLs and flow names. Fragments found in
our public documentation (README.md, local/README.md, docs/) are not counted either (the
sandboxes' documented defaults). The whole value is always looked for.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import boto3

ROOT = Path(__file__).resolve().parents[2]
FRAGMENT = 8
_WORDY = re.compile(r"[a-z._@-]+")
#: Credentials shown by design: the portal user who opted in is the `master_user` setting.
SHOWN = {"gpsinsight_username"}
#: Credential-bearing request fields (API bodies): `credentials.*` and routing `api_key`.
CREDENTIAL_KEYS = {"api_key"}


def credentials_in(body: Any) -> set[str]:
    """Credential values carried by one API request body (`credentials: {...}`, `api_key`)."""
    found: set[str] = set()
    stack = [body]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "credentials" and isinstance(value, dict):
                    found |= {
                        str(v) for k, v in value.items() if k not in SHOWN and isinstance(v, str)
                    }
                elif key in CREDENTIAL_KEYS and isinstance(value, str):
                    found.add(value)
                else:
                    stack.append(value)
        elif isinstance(node, list):
            stack.extend(node)
    return {value for value in found if len(value) >= FRAGMENT and "*" not in value}


def _public_text() -> str:
    paths = [
        ROOT / "README.md",
        ROOT / "local" / "README.md",
        *sorted((ROOT / "docs").glob("*.md")),
    ]
    return "\n".join(path.read_text(errors="replace") for path in paths if path.exists())


def fragments(values: Iterable[str]) -> dict[str, str]:
    """fragment → the value it comes from, documented fragments left out."""
    public = _public_text()
    pieces: dict[str, str] = {}
    for value in values:
        for start in range(len(value) - FRAGMENT + 1):
            piece = value[start : start + FRAGMENT]
            if _WORDY.fullmatch(piece) is None and piece not in public:
                pieces.setdefault(piece, value)
    return pieces


def _aws_texts(aws_url: str) -> Iterable[tuple[str, str]]:
    session = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )
    dynamodb = session.client("dynamodb", endpoint_url=aws_url)
    for table in dynamodb.list_tables()["TableNames"]:
        items = [
            json.dumps(item)
            for page in dynamodb.get_paginator("scan").paginate(TableName=table)
            for item in page["Items"]
        ]
        yield f"DynamoDB {table} (activity records included)", "\n".join(items)
    s3 = session.client("s3", endpoint_url=aws_url)
    for bucket in s3.list_buckets().get("Buckets", []):
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket["Name"]):
            for entry in page.get("Contents", []):
                data = s3.get_object(Bucket=bucket["Name"], Key=entry["Key"])["Body"].read()
                yield f"S3 {bucket['Name']}/{entry['Key']}", data.decode("utf-8", "replace")


def scan(
    values: Iterable[str],
    *,
    log_dir: Path,
    answers: list[str],
    emails: list[dict[str, Any]],
    aws_url: str,
) -> list[str]:
    """Where each credential (or fragment) was found, masked; empty when none leaked."""
    values = sorted({v for v in values if v})
    pieces = fragments(values)
    sources: list[tuple[str, str]] = [
        (f"log {path.name}", path.read_text(errors="replace"))
        for path in sorted(log_dir.rglob("*"))
        if path.is_file()
    ]
    sources += [(f"API answer #{n}", text) for n, text in enumerate(answers)]
    sources += [(f"email #{n}", json.dumps(email)) for n, email in enumerate(emails)]
    sources += [
        (f"sample event {path.relative_to(ROOT)}", path.read_text(errors="replace"))
        for path in sorted((ROOT / "events").rglob("*.json"))
    ]
    sources += list(_aws_texts(aws_url))
    leaks: list[str] = []
    for where, text in sources:
        for value in values:
            if value in text:
                leaks.append(f"{value[:2]}… in {where}")
        for piece, value in pieces.items():
            if piece in text and value not in text:
                leaks.append(f"a fragment of {value[:2]}… ({piece[:2]}…) in {where}")
    return leaks
