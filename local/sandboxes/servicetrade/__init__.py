"""ServiceTrade sandbox: ``base.py`` (sessions, envelope, seeding, webhooks; the vendor behaviour
it models), ``records.py`` (record defaults, references and rendering), ``routes.py`` (the API
routes) and ``sandbox.py`` (the class the app mounts)."""

from local.sandboxes.servicetrade.sandbox import ServiceTradeSandbox

__all__ = ["ServiceTradeSandbox"]
