"""GPS Insight sandbox (the vendor behaviour it models is described in ``sandbox.py``)."""

from local.sandboxes.gpsinsight.sandbox import GpsInsightSandbox

__all__ = ["GpsInsightSandbox"]
