"""Striven tasks, employees and teams → Onfleet tasks, workers and teams (issue 5).

Rules, one module an entity, each with its `decide`: `task_rules.py`, `driver_rules.py`,
`team_rules.py` (and `failure_rules.py`); settings: `settings.py`. Names only (see
`fleetbridge.flows`).
"""

FLOW_ID = "striven-onfleet"
#: Mapping entities: a Striven task ↔ its Onfleet task (with the synced parts and last failure),
#: a Striven employee ↔ the Onfleet worker (driver), a Striven team ↔ the Onfleet team, and the
#: connection's task-poll high-water mark.
TASK = "task"
EMPLOYEE = "employee"
TEAM = "team"
POLL_CURSOR = "poll_cursor"
#: The poll state item (high-water mark, window re-check progress, day-quota pause).
STATE_ID = "tasks"
#: Rule 2 re-check buckets: `window#<UTC hour>` / task id → the snapshot of a task that enters
#: the 24-hour window in that hour without changing in Striven.
WINDOW = "window"
#: Issue 15 item 4: task id → the snapshot of a task skipped (or unassigned) because none of its
#: assignees is in a selected team; re-checked when the selected teams' membership changes.
WAITING = "waiting"
#: Issue 12 item 3: task id → the snapshot of a task whose chunk was dead-lettered by a vendor
#: outage; the next poll queues it again (replaying the dead letters does the same sooner).
RETRY = "outage_retry"
#: Employee mapping statuses that mean "has an Onfleet driver".
LINKED = frozenset({"linked", "created"})
#: Metadata name carrying the Striven task id on Onfleet tasks (and employee id on workers).
TASK_METADATA = "strivenTaskId"
EMPLOYEE_METADATA = "strivenEmployeeId"
