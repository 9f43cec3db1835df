"""Operator CLI: tenants and their API keys, straight on the deployment's DynamoDB table.

    python -m fleetbridge.admin [--table T | --stack S] tenant create NAME
    python -m fleetbridge.admin tenant list
    python -m fleetbridge.admin tenant rotate-key TENANT_ID [--grace-hours 24]
    python -m fleetbridge.admin tenant disable TENANT_ID      (and `enable`)

The table is `--table`, else the `DataTableName` output of the CloudFormation stack `--stack`,
else `DATA_TABLE`; AWS credentials and region come from the usual boto3 chain (AWS_PROFILE,
AWS_REGION, ...). An API key is printed exactly once, when it is issued (create, rotate-key):
nothing stores it, so it can never be listed again, only its key id.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from datetime import timedelta
from typing import Any, TextIO

DEFAULT_GRACE_HOURS = 24.0


def stack_table(stack: str) -> str:
    """The `DataTableName` output of a deployed fleetbridge stack."""
    from fleetbridge.core.aws import client

    outputs = client("cloudformation").describe_stacks(StackName=stack)["Stacks"][0]["Outputs"]
    for output in outputs or []:
        if output["OutputKey"] == "DataTableName":
            return str(output["OutputValue"])
    raise SystemExit(f"stack {stack} has no DataTableName output")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m fleetbridge.admin", description=__doc__.split("\n\n")[0]
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--table", help="the DataTable's name (default: $DATA_TABLE)")
    where.add_argument("--stack", help="read the table name from this CloudFormation stack")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    groups = parser.add_subparsers(dest="group", required=True)
    tenant = groups.add_parser("tenant", help="tenants and API keys").add_subparsers(
        dest="command", required=True
    )
    create = tenant.add_parser("create", help="a new tenant and its first API key (shown once)")
    create.add_argument("name")
    tenant.add_parser("list", help="tenants with their key ids (never the keys)")
    rotate = tenant.add_parser(
        "rotate-key", help="a new API key (shown once); the old ones expire after a grace period"
    )
    rotate.add_argument("tenant_id")
    rotate.add_argument(
        "--grace-hours",
        type=float,
        default=DEFAULT_GRACE_HOURS,
        help=f"how long the old keys stay valid (default {DEFAULT_GRACE_HOURS:g}; 0: revoke now)",
    )
    for name, text in (
        ("disable", "refuse the tenant's API keys and disable its connections"),
        ("enable", "accept the tenant's API keys again (connections stay as they are)"),
    ):
        tenant.add_parser(name, help=text).add_argument("tenant_id")
    return parser


def _emit(out: TextIO, as_json: bool, data: dict[str, Any], lines: list[str]) -> None:
    out.write((json.dumps(data, indent=2) if as_json else "\n".join(lines)) + "\n")


def run(argv: Sequence[str] | None = None, out: TextIO = sys.stdout) -> int:
    """Run one command; returns the exit status."""
    args = _parser().parse_args(argv)
    table_name = args.table or (stack_table(args.stack) if args.stack else None)
    table_name = table_name or os.environ.get("DATA_TABLE")
    if not table_name:
        out.write("no table: pass --table or --stack, or set DATA_TABLE\n")
        return 2

    # every repository (tenants, and connections for `disable`) reads the table from settings
    os.environ["DATA_TABLE"] = table_name
    from fleetbridge.core.aws import reset_clients
    from fleetbridge.core.errors import NotFoundError
    from fleetbridge.core.tenants import TenantRepository

    reset_clients()
    tenants = TenantRepository()
    try:
        return _COMMANDS[args.command](tenants, args, out)
    except NotFoundError as exc:
        out.write(f"error: {exc.message}\n")
        return 1


def _create(tenants: Any, args: argparse.Namespace, out: TextIO) -> int:
    tenant, api_key = tenants.create(args.name)
    _emit(
        out,
        args.json,
        {"tenant": tenant.model_dump(), "api_key": api_key},
        [
            f"tenant {tenant.id} ({tenant.name}) created",
            f"API key: {api_key}",
            "store it now: it is not shown again (rotate-key issues a new one)",
        ],
    )
    return 0


def _list(tenants: Any, args: argparse.Namespace, out: TextIO) -> int:
    rows = []
    for tenant in tenants.list_all():
        keys = tenants.api_keys(tenant.id)
        rows.append({**tenant.model_dump(), "api_keys": [k.model_dump() for k in keys]})
    lines = [f"{'tenant':<22} {'enabled':<7} {'created':<24} {'name':<24} keys"]
    for row in rows:
        keys = ", ".join(
            k["key_id"] + (f" (expires {k['expires_at']})" if k["expires_at"] else "")
            for k in row["api_keys"]
        )
        lines.append(
            f"{row['id']:<22} {'yes' if row['enabled'] else 'no':<7} {row['created_at']:<24} "
            f"{row['name']:<24} {keys or '-'}"
        )
    _emit(out, args.json, {"tenants": rows}, lines)
    return 0


def _rotate(tenants: Any, args: argparse.Namespace, out: TextIO) -> int:
    if args.grace_hours < 0:
        out.write("error: --grace-hours must be 0 or more\n")
        return 2
    api_key, expiring = tenants.rotate_api_key(args.tenant_id, timedelta(hours=args.grace_hours))
    _emit(
        out,
        args.json,
        {"api_key": api_key, "expiring": [k.model_dump() for k in expiring]},
        [
            f"new API key for {args.tenant_id}: {api_key}",
            "store it now: it is not shown again",
            *(f"old key {k.key_id} stops working at {k.expires_at}" for k in expiring),
        ],
    )
    return 0


def _set_enabled(tenants: Any, args: argparse.Namespace, out: TextIO) -> int:
    enabled = args.command == "enable"
    tenant = tenants.set_enabled(args.tenant_id, enabled)
    disabled: list[str] = []
    if not enabled:
        from fleetbridge.core.connection_service import list_connections, set_enabled

        for connection in list_connections(tenant.id):
            if connection.enabled:
                set_enabled(tenant.id, connection.id, False)
                disabled.append(connection.id)
    _emit(
        out,
        args.json,
        {"tenant": tenant.model_dump(), "connections_disabled": disabled},
        [
            f"tenant {tenant.id} {'enabled' if enabled else 'disabled'}",
            *(f"connection {cid} disabled" for cid in disabled),
        ],
    )
    return 0


_COMMANDS = {
    "create": _create,
    "list": _list,
    "rotate-key": _rotate,
    "disable": _set_enabled,
    "enable": _set_enabled,
}


if __name__ == "__main__":
    sys.exit(run())
