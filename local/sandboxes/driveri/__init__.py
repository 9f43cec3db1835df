"""Netradyne Driveri sandbox (the vendor behaviour it models is described in ``sandbox.py``)."""

from local.sandboxes.driveri.sandbox import DriveriSandbox

__all__ = ["DriveriSandbox"]
