"""Striven sandbox: ``base.py`` (tokens, quotas, seeding, rendering; the vendor behaviour it
models), ``routes.py`` (the API routes) and ``sandbox.py`` (the class the app mounts)."""

from local.sandboxes.striven.sandbox import StrivenSandbox

__all__ = ["StrivenSandbox"]
