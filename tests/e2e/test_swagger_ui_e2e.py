"""Swagger UI at `/docs` in a real headless Chromium: every route group is listed, "Try it out"
answers from the local stack, and the page loads nothing from the internet. The screenshot is
saved under `.artifacts/e2e/swagger-ui.png`."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.support.browser import Browser

pytestmark = pytest.mark.e2e

#: Swagger UI's block for `GET /connections` (id: operations-<tag>-<operationId>)
LIST_CONNECTIONS = "#operations-connections-list_connections_connections_get"


def route_groups(stack: Any) -> set[str]:
    """Every tag of the OpenAPI document: one collapsible group each in Swagger UI."""
    schema = httpx.get(f"{stack.api_url}/openapi.json", timeout=60).json()
    return {
        tag
        for operations in schema["paths"].values()
        for operation in operations.values()
        for tag in operation.get("tags") or []
    }


def authorize(browser: Browser, api_key: str) -> None:
    """Swagger UI's Authorize dialog: the bearer API key for every "Try it out"."""
    browser.click(browser.wait_for_css("button.authorize")[0])
    (field,) = browser.wait_for_css(".modal-ux input[type=text], .modal-ux input[type=password]")
    field.send_keys(api_key)
    browser.click(next(b for b in browser.css(".modal-ux button") if b.text.strip() == "Authorize"))
    browser.click(next(b for b in browser.css(".modal-ux button") if b.text.strip() == "Close"))


def test_swagger_ui_lists_every_group_and_try_it_out_answers(stack: Any, browser: Browser) -> None:
    _, api_key = stack.new_tenant("Swagger UI E2E")

    browser.open(f"{stack.api_url}/docs")
    tags = browser.wait_for_css("h3.opblock-tag", timeout=60)
    listed = {tag.get_attribute("data-tag") for tag in tags}
    expected = route_groups(stack)
    assert expected and expected <= listed, f"missing groups: {sorted(expected - listed)}"
    shot = browser.screenshot("swagger-ui")
    assert shot.stat().st_size > 10_000
    print(f"screenshot: {shot}")

    authorize(browser, api_key)
    (operation,) = browser.wait_for_css(LIST_CONNECTIONS)
    browser.click(browser.css(".opblock-summary-control", within=operation)[0])
    browser.click(browser.wait_for_css(f"{LIST_CONNECTIONS} .try-out__btn")[0])
    browser.click(browser.wait_for_css(f"{LIST_CONNECTIONS} .execute")[0])
    (status,) = browser.wait_for_css(
        f"{LIST_CONNECTIONS} .live-responses-table tbody .response-col_status"
    )
    body = browser.css(
        f"{LIST_CONNECTIONS} .live-responses-table tbody .response-col_description pre"
    )
    # the curl line shows the API key: not in an artifact
    browser.driver.execute_script(
        "document.querySelectorAll('.curl-command').forEach(e => e.remove())"
    )
    browser.screenshot("swagger-ui-try-it-out")
    assert status.text.strip() == "200", status.text
    assert '"items"' in body[0].text

    external = browser.external_requests()
    assert external == [], f"the page reached beyond this machine: {external}"
