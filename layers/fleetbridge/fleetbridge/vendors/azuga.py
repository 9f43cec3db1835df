"""Azuga client: API-key login, drivers, vehicles, geofences (geomarks) and TrackMe links.

`POST /v3/auth/login {"apiKey"}` gives a Bearer token (`{"token", "expiresIn"}`, the sandbox's
reading of an exchange azuga.md leaves open), kept until shortly before `expiresIn` and fetched
again once when a call answers 401. Lists are plain arrays. Errors `{"error": {"code",
"message", "field"?}}` map to the typed errors (a taken geofence name is a `VendorConflict`).

Azuga allows about one request a minute **per endpoint** (azuga.md) and documents no
account-wide limit, so the client declares `ENDPOINT_LIMITS` (one a minute for each of the seven
endpoints it uses) and no account limit: the client base gives each endpoint its own limiter
shared by every process of the account. A second call of one endpoint waits for the next minute,
or, when the invocation has not that long left, is handed back to the queue (`RetryLater`)
without taking the slot; calls of other endpoints are not held up. Azuga's 429 (its Retry-After
honoured the same way) is then left for clock skew and other callers of the account. Hence the
batching: one bulk upload per `GEOFENCE_BATCH` fences, lists read once and cached by the caller.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

from pydantic import BaseModel

from fleetbridge.core.errors import VendorError
from fleetbridge.core.http import ErrorDetails, TokenClient, decoded_answer, nested_error
from fleetbridge.core.ratelimit import RateLimit
from fleetbridge.vendors.azuga_models import (
    AzugaDriver,
    AzugaGeofence,
    AzugaVehicle,
    NewGeofence,
    TrackingLink,
)
from fleetbridge.vendors.base import ConnectedClient

#: One request a minute per endpoint (azuga.md), for the endpoints this client uses.
PER_ENDPOINT = RateLimit(requests=1, per_seconds=60)
LOGIN_PATH = "/v3/auth/login"
ENDPOINTS = (
    f"POST {LOGIN_PATH}",
    "GET /v3/users",
    "GET /v3/trackees",
    "GET /v3/geomarks",
    "POST /v3/geomarks/bulkUpload.json",
    "DELETE /v3/geomarks/{id}",
    "POST /v1/trackme.json",
)
ENDPOINT_LIMITS = dict.fromkeys(ENDPOINTS, PER_ENDPOINT)
#: Fences per bulk upload. azuga.md names no maximum; every upload costs the endpoint's minute,
#: so batches are large, and 100 keeps a request near 20 KB and one bad item from refusing
#: more than a hundred (Azuga refuses a batch as a whole).
GEOFENCE_BATCH = 100


class AzugaClient(ConnectedClient, TokenClient):
    """API-key login, then `Authorization: Bearer <token>` on every call (v1 and v3)."""

    vendor = "azuga"
    default_url = "https://api.azuga.com/azuga-ws"
    credential_args = {"api_key": "azuga_api_key"}
    account_args = ("api_key",)
    rate_limit = None  # Azuga limits single endpoints only
    endpoint_limits = ENDPOINT_LIMITS
    login_path = LOGIN_PATH

    def __init__(self, base: str, *, api_key: str, **kwargs: Any) -> None:
        """`kwargs`: the client base's options (rate limiter, transport...)."""
        if not api_key:
            raise ValueError("Azuga needs an API key")
        super().__init__(base, **kwargs)
        self._api_key = api_key

    def error_details(self, body: Any) -> ErrorDetails | None:
        """`{"error": {"code", "message", "field"?}}`."""
        details = nested_error(body, "error", message="message", code="code", field="field")
        return details or super().error_details(body)

    def fetch_token(self) -> tuple[str, float | None]:
        """`POST /v3/auth/login` with the API key: the token and its `expiresIn` seconds."""
        response = self.request(
            "POST", self.login_path, json={"apiKey": self._api_key}, idempotent=True
        )
        body = decoded_answer(response)
        token = self.token_in(body, "token", response)
        lifetime = body.get("expiresIn")
        valid = isinstance(lifetime, int | float) and not isinstance(lifetime, bool)
        return token, float(lifetime) if valid and lifetime > 0 else None

    def _items[M: BaseModel](self, data: Any, model: type[M]) -> list[M]:
        """A plain JSON array of `model`; anything else is a `VendorError`."""
        if not isinstance(data, list):
            raise VendorError(f"{self.vendor} answered without a list", vendor=self.vendor)
        return [model.model_validate(item) for item in data]

    # ---------------------------------------------------------------- drivers and vehicles
    def drivers(self) -> list[AzugaDriver]:
        """Every driver (`userType=driver`)."""
        data = self.call("GET", "/v3/users", params={"userType": "driver"})
        return self._items(data, AzugaDriver)

    def vehicles(self) -> list[AzugaVehicle]:
        """Every vehicle with its paired driver and last location."""
        return self._items(self.call("GET", "/v3/trackees"), AzugaVehicle)

    # ---------------------------------------------------------------- geofences
    def create_geofences(self, fences: Iterable[NewGeofence]) -> list[AzugaGeofence]:
        """Create circular geofences, one bulk upload per `GEOFENCE_BATCH`.

        A batch is all or nothing: a bad item raises `VendorValidationError`, a name already
        taken `VendorConflict` (naming `create[i].<field>`); earlier batches stay created. A lost
        answer is not repeated here (POST): the caller lists geofences by name first.
        """
        items = [fence.wire() for fence in fences]
        created: list[AzugaGeofence] = []
        for start in range(0, len(items), GEOFENCE_BATCH):
            batch = {"create": items[start : start + GEOFENCE_BATCH]}
            data = self.call("POST", "/v3/geomarks/bulkUpload.json", json=batch)
            listed = data.get("created") if isinstance(data, dict) else None
            created += self._items(listed, AzugaGeofence)
        return created

    def geofences(self) -> list[AzugaGeofence]:
        """Every geomark of the account."""
        return self._items(self.call("GET", "/v3/geomarks"), AzugaGeofence)

    def delete_geofence(self, geofence_id: str) -> None:
        """Delete one geomark (`VendorNotFound` when it is already gone)."""
        self.call("DELETE", f"/v3/geomarks/{quote(str(geofence_id), safe='')}")

    # ---------------------------------------------------------------- TrackMe
    def tracking_link(
        self, vehicle_id: str, user_id: str | None, ttl_minutes: int, name: str | None = None
    ) -> TrackingLink:
        """A TrackMe link to the vehicle for `ttl_minutes`. Repeated after a lost answer (a
        second link to the same vehicle is harmless)."""
        if ttl_minutes <= 0:
            raise ValueError("ttl_minutes must be positive")
        body = {"vehicleId": vehicle_id, "userId": user_id, "ttl": ttl_minutes, "name": name}
        response = self.authorized("POST", "/v1/trackme.json", json=body, idempotent=True)
        return TrackingLink.model_validate(self.answer(response))

    def check(self) -> None:
        """Log in with the API key (connection test). Only the login: every other endpoint's
        one call a minute is left to the flow."""
        self.authenticate()
