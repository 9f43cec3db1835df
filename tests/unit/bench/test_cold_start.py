"""bench/cold_start.py: target selection, environment, the forbidden-module check."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from cold_start import (
    Samples,
    forbidden_modules,
    format_report,
    http_targets,
    main,
    ratio,
    without,
)
from sam_template import load_template

TEMPLATE = """
Globals:
  Function:
    Handler: app.lambda_handler
    Layers: [!Ref SharedLayer]
    Environment:
      Variables:
        DATA_TABLE: !Ref DataTable
Resources:
  SharedLayer:
    Type: AWS::Serverless::LayerVersion
    Properties: {ContentUri: layers/shared}
  DataTable: {Type: AWS::DynamoDB::Table}
  ApiFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/api
      Events:
        Default: {Type: HttpApi, Properties: {Path: $default, Method: ANY}}
  HookFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/hook
      Handler: hook.handle
      Events:
        Hook: {Type: Api, Properties: {Path: /hooks/x, Method: POST}}
  WorkerFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/worker
      Events:
        Daily: {Type: Schedule, Properties: {Schedule: rate(1 day)}}
"""


def test_forbidden_modules_match_packages_and_submodules_only() -> None:
    loaded = [
        "numpy",
        "numpy.linalg",
        "numpyish",
        "fleetbridge.routing",
        "fleetbridge.routing.solve",
        "fleetbridge.routing_docs",
        "fleetbridge.flows.routing.run",
        "fleetbridge.flows.fleetio_keycafe",
        "ortools.constraint_solver",
        "pyvrp",
        "vroom",
        "boto3",
    ]
    assert forbidden_modules(loaded) == [
        "fleetbridge.flows.routing.run",
        "fleetbridge.routing",
        "fleetbridge.routing.solve",
        "numpy",
        "numpy.linalg",
        "ortools.constraint_solver",
        "pyvrp",
        "vroom",
    ]
    assert forbidden_modules(["boto3", "fleetbridge.core"]) == []


def test_targets_are_the_http_functions_with_their_path_and_environment(tmp_path: Path) -> None:
    (tmp_path / "template.yaml").write_text(TEMPLATE)
    targets = http_targets(load_template(tmp_path / "template.yaml"), tmp_path)
    assert [target.name for target in targets] == ["ApiFunction", "HookFunction"]
    api, hook = targets
    assert api.path == [str(tmp_path / "functions/api"), str(tmp_path / "layers/shared")]
    assert (api.handler, hook.handler) == ("app.lambda_handler", "hook.handle")
    assert api.environment["DATA_TABLE"] == "fleetbridge-DataTable"
    assert api.environment["POWERTOOLS_TRACE_DISABLED"] == "true"
    assert api.environment["AWS_DEFAULT_REGION"] == "us-east-1"
    assert api.environment["LAMBDA_TASK_ROOT"] == str(tmp_path / "functions/api")
    assert "POWERTOOLS_TRACE_DISABLED" not in without(api.environment, "POWERTOOLS_TRACE_DISABLED")


def test_ratio_and_report() -> None:
    assert ratio(130, 100) == pytest.approx(1.3)
    assert ratio(1, 0) == float("inf")
    baseline = Samples(import_ms=[90, 100, 110], cpu_ms=[1], wall_ms=[150], modules=400)
    baseline.first_use_ms = [0.0]
    fast = Samples(import_ms=[120, 125, 500], cpu_ms=[1], wall_ms=[170], modules=500)
    fast.first_use_ms = [40.0]
    slow = Samples(import_ms=[200, 210, 220], cpu_ms=[1], wall_ms=[260], modules=700)
    slow.first_use_ms = [90.0]
    api = Samples(import_ms=[150], cpu_ms=[1], wall_ms=[260], modules=700)
    api.first_use_ms = [300.0]
    report = {"Fast": fast, "Slow": slow, "ApiFunction": api}
    lines = format_report(report, baseline).splitlines()
    assert "1.25x  <=1.3x ok" in lines[1] and "40.0" in lines[1]  # first use shown
    assert "2.10x  <=1.3x OVER" in lines[2]
    assert "1.50x  <=1.6x ok" in lines[3]  # the API's own goal


def test_a_handler_importing_a_solver_package_fails_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "template.yaml").write_text(TEMPLATE)
    for name in ("api", "hook"):
        (tmp_path / "functions" / name).mkdir(parents=True)
    (tmp_path / "layers/shared").mkdir(parents=True)
    (tmp_path / "functions/api/app.py").write_text("lambda_handler = print\n")
    (tmp_path / "functions/hook/hook.py").write_text("import numpy\n\nhandle = print\n")
    (tmp_path / "functions/hook/numpy").mkdir()  # a stand-in, found first on the handler's path
    (tmp_path / "functions/hook/numpy/__init__.py").write_text("")

    argv = ["--template", str(tmp_path / "template.yaml"), "--runs", "1", "--warmup", "0"]
    argv += ["--python", sys.executable]
    assert main(argv) == 1
    out, err = capsys.readouterr()
    assert "ApiFunction" in out and "HookFunction" in out
    assert "FAIL HookFunction imports routing/solver modules" in err
    assert "numpy" in err and "ApiFunction" not in err

    assert main([*argv, "--function", "ApiFunction"]) == 0
