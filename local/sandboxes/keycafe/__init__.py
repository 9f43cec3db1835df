"""Keycafe sandbox: ``base.py`` (state, auth, paging, booking codes; the vendor behaviour it
models), ``access.py`` (access routes, guest notifications) and ``sandbox.py`` (the class the app
mounts)."""

from local.sandboxes.keycafe.sandbox import KeycafeSandbox

__all__ = ["KeycafeSandbox"]
