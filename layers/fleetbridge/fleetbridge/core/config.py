"""Settings read from the environment (template Globals locally and in AWS)."""

from __future__ import annotations

import json
import os
from functools import lru_cache

from pydantic import BaseModel, Field

#: Vendor base URLs in production; a connection's `settings.base_urls` or the local stack's
#: FLEETBRIDGE_VENDOR_URLS override them.
DEFAULT_VENDOR_URLS: dict[str, str] = {
    "onfleet": "https://onfleet.com/api/v2",
    "fleetio": "https://secure.fleetio.com/api",
    "keycafe": "https://www.keycafe.com/v0",
    "striven": "https://api.striven.com",
    "gpsinsight": "https://api.gpsinsight.com/v2",
    "driveri": "https://api.netradyne.com/driveri",
    "servicetrade": "https://api.servicetrade.com/api",
    "azuga": "https://api.azuga.com/azuga-ws",
}

SECRET_PREFIX = "fleetbridge/"


class QueuePair(BaseModel):
    """A flow's work queue and its dead-letter queue (URLs)."""

    queue: str
    dlq: str


class Settings(BaseModel):
    """Runtime settings; one instance per process (see `get_settings`)."""

    region: str = "us-east-1"
    aws_endpoint_url: str | None = None
    data_table: str = "DataTable"
    idempotency_table: str = "IdempotencyTable"
    runs_table: str = "RunsTable"
    results_bucket: str = "fleetbridge-results"
    ses_sender: str = "noreply@fleetbridge.example"
    public_url: str = ""
    queues: dict[str, QueuePair] = Field(default_factory=dict)
    vendor_urls: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_VENDOR_URLS))
    local: bool = False
    #: retries of one vendor call (429/5xx/timeouts) before the error reaches the worker
    http_max_retries: int = 4

    def vendor_url(self, vendor: str, overrides: dict[str, str] | None = None) -> str:
        """Base URL for `vendor`: a connection's override first, then the environment's."""
        if overrides and overrides.get(vendor):
            return overrides[vendor].rstrip("/")
        return self.vendor_urls[vendor].rstrip("/")


def _json_env(name: str) -> dict:
    raw = os.environ.get(name, "").strip()
    return json.loads(raw) if raw else {}


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Read settings from the environment once per process."""
    env = os.environ
    vendor_urls = {**DEFAULT_VENDOR_URLS, **_json_env("FLEETBRIDGE_VENDOR_URLS")}
    return Settings(
        region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1",
        aws_endpoint_url=env.get("FLEETBRIDGE_AWS_ENDPOINT") or None,
        data_table=env.get("DATA_TABLE", "DataTable"),
        idempotency_table=env.get("IDEMPOTENCY_TABLE", "IdempotencyTable"),
        runs_table=env.get("RUNS_TABLE", "RunsTable"),
        results_bucket=env.get("RESULTS_BUCKET", "fleetbridge-results"),
        ses_sender=env.get("SES_SENDER", "noreply@fleetbridge.example"),
        public_url=env.get("FLEETBRIDGE_PUBLIC_URL", "").rstrip("/"),
        queues=_json_env("FLEETBRIDGE_QUEUES"),
        vendor_urls=vendor_urls,
        local=env.get("FLEETBRIDGE_LOCAL", "").lower() == "true",
        http_max_retries=int(env.get("FLEETBRIDGE_HTTP_MAX_RETRIES", "4")),
    )
