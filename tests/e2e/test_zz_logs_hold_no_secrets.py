"""After the whole e2e run (this module is named to run last): every log the stack and its
functions wrote, grepped for every credential value the run used. None may appear."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e import (
    test_fleetio_keycafe_e2e,
    test_gpsinsight_driveri_e2e,
    test_platform_e2e,
    test_routing_e2e,
    test_striven_onfleet_e2e,
)

pytestmark = pytest.mark.e2e

CREDENTIAL_VALUES = sorted(
    {
        *test_fleetio_keycafe_e2e.CREDENTIALS.values(),
        *test_gpsinsight_driveri_e2e.CREDENTIALS.values(),
        *test_platform_e2e.CREDENTIALS.values(),
        *test_routing_e2e.CREDENTIALS.values(),
        *test_striven_onfleet_e2e.CREDENTIALS.values(),
    }
)


def test_no_credential_appears_in_any_log(stack: Any) -> None:
    files = [path for path in stack.log_dir.rglob("*") if path.is_file()]
    logs = "".join(path.read_text(errors="replace") for path in files)
    assert files and logs, "the run wrote logs"
    leaked = [value[:2] + "…" for value in CREDENTIAL_VALUES if value in logs]
    assert leaked == [], f"credentials found in the logs: {leaked}"
