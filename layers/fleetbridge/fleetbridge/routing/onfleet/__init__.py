"""Onfleet route planning: an Onfleet run request → the Nextmv router input (issue 7, §4-7).

Pure (no network); the solver function's `routing.solve_onfleet` does the fetching and solving.
- `request`: the `POST /v1/integrations/onfleet/run` body and the compatibility flags.
- `fetch`: query params for `GET /tasks/all` / `GET /workers`, paging, picking the requested ids.
- `models`: the task and worker fields planning reads (`PlanningTask`, `PlanningWorker`).
- `metadata`: the `nextmv:0.1:*` metadata extensions.
- `stops` / `vehicles`: one task → one stop, one worker → one vehicle; `records` is what both
  share (the record of each transform, the checks that fail the run).
- `transform`: the whole run's router input (`build_onfleet_input`).
"""
