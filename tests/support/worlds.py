"""Small vendor worlds for the sandboxes, shared by `make demo` (`local/demo.py`), the e2e and
the integration tests (one copy of each vendor's data).

Each builder returns the JSON bodies for `POST /_sandbox/<vendor>/seed` (the vendors' own
shapes, DESIGN.md §4). `label` names the world's people and teams ("E2E" in tests, something
readable in the demo). The routing world is `tests.support.routing`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

# ---------------------------------------------------------------- Fleetio → Keycafe
#: the Fleetio sandbox's default account (its API headers)
FLEETIO_AUTH = {
    "Authorization": "Token sandbox-fleetio-key",
    "Account-Token": "sandbox-fleetio-account",
}
FLEETIO_EVENTS = [
    "vehicle_assignment_created",
    "vehicle_assignment_updated",
    "vehicle_assignment_deleted",
]
#: Fleetio contacts: Dana has a Keycafe account (booked as herself, opens with phone + PIN), Eli
#: has none (a guest booking with a one-time code), Nobody has neither email nor phone
DANA, ELI, NOBODY = 7, 8, 9
#: Dana's Keycafe account
DANA_KEYCAFE_USER = 501


def key_id(vehicle_id: int) -> int:
    """The Keycafe key of Fleetio vehicle `vehicle_id` (vans only)."""
    return 100 * vehicle_id


def fleetio_world(
    *, webhook_url: str, secret: str, vehicles: int = 3, vans: int = 2
) -> dict[str, Any]:
    """Vehicles 1..`vehicles` (1..`vans` are vans with a key in Keycafe, the others trucks
    without one), the three contacts above and the webhook of the connection."""
    return {
        "vehicles": [
            {"id": i, "name": f"Van {i}" if i <= vans else f"Truck {i}"}
            for i in range(1, vehicles + 1)
        ],
        "contacts": [
            {
                "id": DANA,
                "first_name": "Dana",
                "last_name": "Driver",
                "email": "dana@example.com",
                "mobile_phone_number": "+1 555 0100",
            },
            {"id": ELI, "first_name": "Eli", "last_name": "Other", "email": "eli@example.com"},
            {"id": NOBODY, "first_name": "Nobody", "last_name": "Reachable"},
        ],
        "webhooks": [{"url": webhook_url, "secret": secret, "events": FLEETIO_EVENTS}],
    }


def keycafe_world(*, vans: int = 2) -> dict[str, Any]:
    """The vans' keys (van 1's in a SmartBox at the depot) and Dana's Keycafe account."""
    keys: list[dict[str, Any]] = [
        {"id": key_id(i), "name": f"Van {i} key"} for i in range(1, vans + 1)
    ]
    keys[0]["keycafeLocation"] = {"id": 1, "name": "Depot North box"}
    return {
        "keys": keys,
        "users": [
            {
                "id": DANA_KEYCAFE_USER,
                "email": "dana@example.com",
                "mobile": "+15550100",
                "firstName": "Dana",
                "lastName": "Driver",
            }
        ],
    }


# ---------------------------------------------------------------- Striven → Onfleet
#: tasks 1..10 are due today; 11 is out of the sync window; 12 belongs to the employee whose
#: name an unrelated Onfleet driver already has (the name-conflict case)
STRIVEN_TASKS = 12
CONFLICT_WORKER = {
    "id": "workerSomeoneElse0000000",
    "name": "Someone Else",
    "phone": "+13125550105",
    "teams": ["teamElsewhere0000000000a"],
}


def local_time(zone: str, hours: float) -> str:
    """Now + `hours` as Striven writes dates: local wall time without an offset."""
    moment = datetime.now(UTC) + timedelta(hours=hours)
    return moment.astimezone(ZoneInfo(zone)).replace(tzinfo=None).isoformat(timespec="seconds")


def striven_task(task_id: int, employee: int, zone: str, **fields: Any) -> dict[str, Any]:
    """One open service task assigned to `employee`, starting in an hour."""
    return {
        "id": task_id,
        "title": f"Visit {task_id}",
        "description": "Ring twice",
        "status": "Open",
        "type": 1,
        "customer": {"id": 900 + task_id, "name": f"Customer {task_id}", "phone": "3125550199"},
        "assignedTo": [employee],
        "startDate": local_time(zone, 1),
        "dueDate": local_time(zone, 3),
        "location": {
            "name": f"Site {task_id}",
            "address": {"address1": f"{task_id} Main St", "city": "Springfield", "state": "IL"},
            "latitude": 39.8 + task_id / 1000,
            "longitude": -89.6,
        },
        **fields,
    }


def onfleet_for_striven(onfleet_api_key: str) -> dict[str, Any]:
    """An Onfleet organisation that already has one unrelated driver (and accepts the key)."""
    return {
        "credentials": {"api_keys": [onfleet_api_key]},
        "teams": [{"id": "teamElsewhere0000000000a", "name": "Elsewhere"}],
        "workers": [CONFLICT_WORKER],
    }


def striven_world(*, label: str, zone: str, client_id: str, client_secret: str) -> dict[str, Any]:
    """Five employees in two teams and STRIVEN_TASKS tasks (see the constants above)."""
    return {
        "credentials": {"client_id": client_id, "client_secret": client_secret},
        "settings": {"time_zone": zone},
        "task_types": [{"id": 1, "name": "Service"}],
        "employees": [
            {
                "id": e,
                "firstName": f"Driver{e}",
                "lastName": label,
                "phones": [{"phoneType": "Mobile", "number": f"312555010{e}"}],
            }
            for e in range(1, 6)
        ],
        "teams": [
            {"id": 10, "name": f"{label} North", "memberIds": [1, 2, 5]},
            {"id": 20, "name": f"{label} South", "memberIds": [3, 4]},
        ],
        "tasks": [striven_task(t, 1 + (t - 1) % 4, zone) for t in range(1, 11)]
        + [
            striven_task(11, 1, zone, startDate=local_time(zone, 40), dueDate=local_time(zone, 42)),
            striven_task(12, 5, zone),
        ],
    }


# ---------------------------------------------------------------- GPS Insight → Driveri
def gps_drivers(count: int, *, label: str, email_domain: str) -> list[dict[str, Any]]:
    """Portal drivers 1..count with a Driveri DriverID, except the last one (it is skipped)."""
    return [
        {
            "firstname": f"First{i}",
            "lastname": f"Last{i}",
            "email": f"d{i}@{email_domain}",
            "driveri_driver_id": f"{label}-{i}" if i != count else None,
        }
        for i in range(1, count + 1)
    ]


# ---------------------------------------------------------------- ServiceTrade ↔ Azuga
#: techs (Tina drives van v1, Sam van v2), their jobs and appointments: 501 at Acme HQ in an
#: hour, 502 at Acme Annex in ten hours (outside the ±8 h arrival window for a while)
TINA, SAM = 11, 12
JOB, LATE_JOB = 77, 78
NEAR, LATE = 501, 502
FENCE = "Acme HQ | J-1001 | 501"
HQ, ANNEX, ROAD = (40.0, -75.0), (41.0, -75.0), (39.0, -75.0)


def st_world(now: int) -> dict[str, Any]:
    """ServiceTrade: two techs, two sites with a job each, appointments 501 and 502 (`now`:
    unix seconds)."""
    techs = [
        {"id": TINA, "firstName": "Tina", "lastName": "Tech", "email": "tina@example.com"},
        {"id": SAM, "firstName": "Sam", "lastName": "Late", "email": "sam@example.com"},
    ]
    return {
        "users": [{**t, "isTech": True} for t in techs],
        "locations": [
            {
                "id": 5,
                "name": "Acme HQ",
                "lat": HQ[0],
                "lon": HQ[1],
                "email": "front@acme.example",
                "primaryContact": {"id": 1, "name": "Pat", "email": "pat@acme.example"},
            },
            {"id": 6, "name": "Acme Annex", "lat": ANNEX[0], "lon": ANNEX[1], "email": None},
        ],
        "jobs": [
            {"id": JOB, "number": "J-1001", "location": 5},
            {"id": LATE_JOB, "number": "J-1002", "location": 6},
        ],
        "appointments": [
            st_appointment(NEAR, JOB, 5, TINA, now + 3600),
            st_appointment(LATE, LATE_JOB, 6, SAM, now + 10 * 3600),
        ],
    }


def st_appointment(key: int, job: int, location: int, tech: int, start: int) -> dict[str, Any]:
    """A scheduled two-hour appointment of one tech."""
    return {
        "id": key,
        "status": "scheduled",
        "windowStart": start,
        "windowEnd": start + 7200,
        "job": job,
        "location": location,
        "techs": [tech],
        "released": True,
    }


def st_azuga_world(alerts_url: str, secret: str) -> dict[str, Any]:
    """Azuga for `st_world`: drivers with the techs' emails (other case), each paired with a
    van parked on the road; alerts to `alerts_url` with `secret` in `x-api-key`."""
    parked = {"latitude": ROAD[0], "longitude": ROAD[1]}
    return {
        "users": [
            {"id": "d1", "email": "Tina@Example.com"},
            {"id": "d2", "email": "SAM@example.com"},
        ],
        "trackees": [
            {"id": "v1", "name": "Van 1", "assignedUserId": "d1", "lastLocation": parked},
            {"id": "v2", "name": "Van 2", "assignedUserId": "d2", "lastLocation": parked},
        ],
        "webhooks": [{"url": alerts_url, "authorizationType": "KEY", "keyValue": secret}],
    }
