"""Stateful fakes of the vendor APIs for the local stack and the tests (never deployed).

``create_app`` builds the Flask app mounting every vendor under ``/<vendor>`` plus the control
interface under ``/_sandbox``; ``run_sandboxes`` serves it from a background thread.

Layers: the plain modules here (``framework``, ``faults``, ``ratelimit``, ``tokens``,
``webhooks``, ``control``) are the common part; each vendor is a package (``fleetio``,
``keycafe``, ``onfleet``, ``striven``, ``gpsinsight``, ``driveri``) that imports the common part
and never another vendor; ``app`` mounts them all. The common part never imports a vendor, so
``app`` is loaded lazily: importing ``local.sandboxes.framework`` loads no vendor
(tests/unit/test_import_layers.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from local.sandboxes.app import create_app, run_sandboxes

__all__ = ["create_app", "run_sandboxes"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from local.sandboxes import app

        return getattr(app, name)
    raise AttributeError(name)
