"""Vendor URLs are deployment configuration (issue #11, finding 1): a connection may only pick
the deployment's own URL or https on a host the deployment lists for that vendor."""

from __future__ import annotations

import pytest

from fleetbridge.core.config import Settings, get_settings
from fleetbridge.vendors.fleetio import FleetioClient

FLEETIO_URL = FleetioClient.default_url or ""  # the client states its production URL

HOSTS = {"fleetio": ["eu.fleetio.example"]}


@pytest.mark.parametrize(
    "url",
    [
        FLEETIO_URL,
        FLEETIO_URL + "/",
        "https://secure.fleetio.com/api/v2",
        "https://eu.fleetio.example/api",
        "https://EU.fleetio.example/api",
    ],
)
def test_allowed(url: str) -> None:
    assert Settings(vendor_hosts=HOSTS).url_allowed("fleetio", url)


@pytest.mark.parametrize(
    "url",
    [
        "http://secure.fleetio.com/api",
        "http://attacker.example/x",
        "http://127.0.0.1:5000",
        "file:///etc/passwd",
        "https://attacker.example/api",
        "https://secure.fleetio.com@attacker.example/api",
        "https://user:pw@secure.fleetio.com/api",
        "https://secure.fleetio.com.attacker.example/api",
        "https://secure.fleetio.com:8443/api",
        "https://secure.fleetio.com:notaport/api",
        "https://secure.fleetio.com/api?x=https://attacker.example",
        "https://secure.fleetio.com/api#frag",
        "//secure.fleetio.com/api",
        "https://eu.fleetio.example.attacker.example/",
        "https://www.keycafe.com/v0",  # another vendor's host
        "",
        "\ud800",
    ],
)
def test_refused(url: str) -> None:
    assert not Settings(vendor_hosts=HOSTS).url_allowed("fleetio", url)


def test_unknown_vendor_and_non_strings_are_refused() -> None:
    assert not Settings().url_allowed("nobody", "https://secure.fleetio.com/api")
    assert not Settings().url_allowed("fleetio", 42)


def test_hosts_come_from_the_environment_https_hosts_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "FLEETBRIDGE_VENDOR_HOSTS",
        '{"fleetio": ["eu.fleetio.example", "http://x.example", "a b", ""], "onfleet": "eu.onfleet.example"}',
    )
    get_settings.cache_clear()
    try:
        settings = get_settings()
        assert settings.vendor_hosts == {
            "fleetio": ["eu.fleetio.example"],
            "onfleet": ["eu.onfleet.example"],
        }
        assert settings.allowed_hosts("fleetio") == ["secure.fleetio.com", "eu.fleetio.example"]
    finally:
        monkeypatch.delenv("FLEETBRIDGE_VENDOR_HOSTS")
        get_settings.cache_clear()


def test_the_local_stack_s_urls_stay_usable(monkeypatch: pytest.MonkeyPatch) -> None:
    """FLEETBRIDGE_VENDOR_URLS (deployment configuration) may be plain http on loopback."""
    monkeypatch.setenv(
        "FLEETBRIDGE_VENDOR_URLS", '{"fleetio": "http://127.0.0.1:4010/fleetio/api"}'
    )
    get_settings.cache_clear()
    try:
        settings = get_settings()
        assert settings.vendor_url("fleetio") == "http://127.0.0.1:4010/fleetio/api"
        assert settings.url_allowed("fleetio", "http://127.0.0.1:4010/fleetio/api")
        assert not settings.url_allowed("fleetio", "http://127.0.0.1:5000/")
    finally:
        monkeypatch.delenv("FLEETBRIDGE_VENDOR_URLS")
        get_settings.cache_clear()
