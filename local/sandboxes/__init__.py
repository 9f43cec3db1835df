"""Stateful fakes of the vendor APIs for the local stack and the tests (never deployed).

``create_app`` builds the Flask app mounting every vendor under ``/<vendor>`` plus the control
interface under ``/_sandbox``; ``run_sandboxes`` serves it from a background thread.
"""

from local.sandboxes.app import create_app, run_sandboxes

__all__ = ["create_app", "run_sandboxes"]
