"""Striven → Onfleet views under `/connections/{id}/…` (rule 9): a task's Onfleet side and sync
state, an employee's driver and active tasks, and the employees that have a driver."""

from __future__ import annotations

from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import BaseModel

from fleetbridge.core.connection_service import get_flow_connection
from fleetbridge.core.errors import NotFoundError
from fleetbridge.core.mappings import MappingRepository
from fleetbridge.core.models import Tenant
from fleetbridge.flows.striven_onfleet import FLOW_ID

router = APIGatewayHttpRouter()
TAG = ["striven-onfleet"]


class TaskOut(BaseModel):
    striven_task_id: str
    onfleet_task_id: str | None = None
    short_id: str | None = None
    tracking_url: str | None = None
    onfleet_worker_id: str | None = None
    onfleet_worker_name: str | None = None
    assigned_in_onfleet: bool = False
    striven_employee_id: int | None = None
    striven_status: str | None = None
    onfleet_state: int | None = None
    completed_at: int | None = None
    sync_state: str
    reason: str | None = None
    last_error: str | None = None
    striven_updated_at: str | None = None
    synced_at: str | None = None


class ActiveTask(BaseModel):
    striven_task_id: str
    onfleet_task_id: str | None = None
    short_id: str | None = None
    striven_status: str | None = None


class EmployeeOut(BaseModel):
    striven_employee_id: str
    onfleet_worker_id: str | None = None
    onfleet_worker_name: str | None = None
    name: str | None = None
    phone: str | None = None
    status: str | None = None
    linked_at: str | None = None


class EmployeeDetail(EmployeeOut):
    reason: str | None = None
    last_error: str | None = None
    active_tasks: list[ActiveTask]
    in_progress_tasks: list[ActiveTask] = []


class EmployeePage(BaseModel):
    items: list[EmployeeOut]


def _mappings(connection_id: str) -> MappingRepository:
    tenant: Tenant = router.context["tenant"]
    return MappingRepository(get_flow_connection(tenant.id, connection_id, FLOW_ID).id)


@router.get(
    "/connections/<connection_id>/tasks/<striven_task_id>",
    summary="A Striven task's Onfleet task, driver, tracking link, sync state and last error",
    tags=TAG,
)
def striven_task(connection_id: str, striven_task_id: str) -> TaskOut:
    from fleetbridge.flows.striven_onfleet.views import task_view

    found = task_view(_mappings(connection_id), striven_task_id)
    if found is None:
        raise NotFoundError(f"Striven task {striven_task_id} has not been read by a poll yet")
    return TaskOut.model_validate(found)


@router.get(
    "/connections/<connection_id>/employees/<striven_employee_id>",
    summary="A Striven employee's Onfleet driver, the phone used and the active synced tasks",
    tags=TAG,
)
def striven_employee(connection_id: str, striven_employee_id: str) -> EmployeeDetail:
    from fleetbridge.flows.striven_onfleet.views import employee_view

    found = employee_view(_mappings(connection_id), striven_employee_id)
    if found is None:
        raise NotFoundError(f"Striven employee {striven_employee_id} has no Onfleet driver yet")
    return EmployeeDetail.model_validate(found)


@router.get(
    "/connections/<connection_id>/employees",
    summary="The Striven employees associated with an Onfleet driver",
    tags=TAG,
)
def striven_employees(connection_id: str) -> EmployeePage:
    from fleetbridge.flows.striven_onfleet.views import linked_employees

    items = linked_employees(_mappings(connection_id))
    return EmployeePage(items=[EmployeeOut.model_validate(i) for i in items])
