"""The Striven → Onfleet failure rule (issue 5, rule 8): one email per distinct failure, for
tasks and drivers alike. No I/O here.
"""

from __future__ import annotations

from fleetbridge.core.models import fingerprint


def failure_fingerprint(subject: str, reason: str, version: str | None) -> str:
    """A failure's identity: what failed (e.g. `task:12`), why, and which version of it."""
    return fingerprint({"subject": subject, "reason": reason, "version": version})


def should_notify(previous_failure_fingerprint: str | None, current: str) -> bool:
    """Email only a failure not emailed before: the same unchanged failure is not re-sent."""
    return previous_failure_fingerprint != current
