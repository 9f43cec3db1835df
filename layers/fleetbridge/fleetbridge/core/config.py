"""Settings read from the environment (template Globals locally and in AWS)."""

from __future__ import annotations

import json
import os
from functools import lru_cache
from urllib.parse import urlsplit

from pydantic import BaseModel, Field

#: Vendor base URLs in production, each stated by its client (`VendorClient.default_url`) and
#: registered here as the client class is defined: core names no vendor. They are deployment
#: configuration, never tenant data: the local stack overrides them with FLEETBRIDGE_VENDOR_URLS;
#: a connection's `settings.base_urls` may only pick an https URL on a host the deployment allows
#: (FLEETBRIDGE_VENDOR_HOSTS, see `url_allowed`).
_DEFAULT_VENDOR_URLS: dict[str, str] = {}


def register_vendor_url(vendor: str, url: str) -> None:
    """Record `vendor`'s production base URL (called by `VendorClient` subclasses)."""
    _DEFAULT_VENDOR_URLS[vendor] = url


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
    #: the deployment's own vendor URLs (FLEETBRIDGE_VENDOR_URLS), before the clients' defaults
    vendor_urls: dict[str, str] = Field(default_factory=dict)
    #: extra https hosts a connection may choose per vendor (e.g. a regional host)
    vendor_hosts: dict[str, list[str]] = Field(default_factory=dict)
    local: bool = False
    #: retries of one vendor call (429/5xx/timeouts) before the error reaches the worker
    http_max_retries: int = 4

    def vendor_url(self, vendor: str, overrides: dict[str, str] | None = None) -> str:
        """Base URL for `vendor`: a connection's allowed override first, then the environment's.

        An override the deployment does not allow raises ValueError: credentials are sent only
        to the vendor's own hosts.
        """
        override = (overrides or {}).get(vendor)
        if override:
            if not self.url_allowed(vendor, override):
                raise ValueError(f"{vendor} URL is not an allowed {vendor} host")
            return override.rstrip("/")
        url = self.deployment_url(vendor)
        if url is None:
            raise ValueError(f"no URL is configured for {vendor}")
        return url.rstrip("/")

    def deployment_url(self, vendor: str) -> str | None:
        """The deployment's URL of `vendor` (FLEETBRIDGE_VENDOR_URLS), else its client's default."""
        return self.vendor_urls.get(vendor) or _DEFAULT_VENDOR_URLS.get(vendor)

    def allowed_hosts(self, vendor: str) -> list[str]:
        """https hosts a connection may point `vendor` at: the configured one, then the extras."""
        url = self.deployment_url(vendor)
        hosts = [urlsplit(url).hostname or ""] if url else []
        return [host for host in (*hosts, *self.vendor_hosts.get(vendor, [])) if host]

    def url_allowed(self, vendor: str, url: object) -> bool:
        """True for the deployment's own URL of `vendor`, or https on one of its allowed hosts.

        No user info, no explicit port, no query: nothing that could smuggle another target.
        """
        own = self.deployment_url(vendor)
        if not isinstance(url, str) or own is None:
            return False
        if url.rstrip("/") == own.rstrip("/"):
            return True
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            return False
        return (
            parts.scheme == "https"
            and port is None
            and not parts.username
            and not parts.password
            and not parts.query
            and not parts.fragment
            and "@" not in parts.netloc
            and (parts.hostname or "") in self.allowed_hosts(vendor)
        )


def _json_env(name: str) -> dict:
    raw = os.environ.get(name, "").strip()
    return json.loads(raw) if raw else {}


def _https_hosts(raw: dict) -> dict[str, list[str]]:
    """`{"fleetio": ["eu.fleetio.com"]}` as configured; bare lower-case host names only."""
    hosts: dict[str, list[str]] = {}
    for vendor, names in raw.items():
        values = names if isinstance(names, list) else [names]
        hosts[str(vendor)] = [
            str(name).strip().lower()
            for name in values
            if str(name).strip() and all(c not in str(name) for c in "/:@ ")
        ]
    return hosts


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Read settings from the environment once per process."""
    env = os.environ
    vendor_urls = _json_env("FLEETBRIDGE_VENDOR_URLS")
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
        vendor_hosts=_https_hosts(_json_env("FLEETBRIDGE_VENDOR_HOSTS")),
        local=env.get("FLEETBRIDGE_LOCAL", "").lower() == "true",
        http_max_retries=int(env.get("FLEETBRIDGE_HTTP_MAX_RETRIES", "4")),
    )
