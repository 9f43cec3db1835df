"""Striven tasks, employees and teams → Onfleet tasks, workers and teams (issue 5).

Rules: `rules.py`; settings: `settings.py`. Only names live here: importing the package must stay
cheap (the API and webhook functions load it at cold start).
"""

FLOW_ID = "striven-onfleet"
#: Mapping entities: a Striven task ↔ its Onfleet task (with the synced parts and last failure),
#: a Striven employee ↔ the Onfleet worker (driver), a Striven team ↔ the Onfleet team, and the
#: connection's task-poll high-water mark.
TASK = "task"
EMPLOYEE = "employee"
TEAM = "team"
POLL_CURSOR = "poll_cursor"
#: Metadata name carrying the Striven task id on Onfleet tasks (and employee id on workers).
TASK_METADATA = "strivenTaskId"
EMPLOYEE_METADATA = "strivenEmployeeId"
