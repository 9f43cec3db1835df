"""bench/package_size.py: size sums, goals and the 250 MB limit, on a fake `sam build` output."""

from __future__ import annotations

from pathlib import Path

import pytest

from package_size import MB, FunctionSize, dir_size, format_table, main, measure, over_limit

BUILT_TEMPLATE = """
Globals:
  Function:
    Layers:
    - Ref: SharedLayer
Resources:
  SharedLayer:
    Type: AWS::Serverless::LayerVersion
    Properties: {ContentUri: SharedLayer}
  ApiFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: ApiFunction
      Events:
        Default: {Type: HttpApi, Properties: {Path: $default, Method: ANY}}
  WorkerFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: WorkerFunction
      Layers:
      - arn:aws:lambda:us-east-1:123456789012:layer:external:1
      Events:
        Queue: {Type: SQS, Properties: {Queue: arn:aws:sqs:us-east-1:123456789012:q}}
"""


def write(path: Path, size: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)


@pytest.fixture
def build_dir(tmp_path: Path) -> Path:
    (tmp_path / "template.yaml").write_text(BUILT_TEMPLATE)
    write(tmp_path / "ApiFunction" / "app.py", 1000)
    write(tmp_path / "WorkerFunction" / "app.py", 3000)
    write(tmp_path / "WorkerFunction" / "pkg" / "data.bin", 2 * MB)
    write(tmp_path / "SharedLayer" / "python" / "a.py", 5 * MB)
    write(tmp_path / "SharedLayer" / "python" / "b" / "c.so", 7 * MB)
    return tmp_path


def test_dir_size_sums_every_file_below(build_dir: Path) -> None:
    assert dir_size(build_dir / "SharedLayer") == 12 * MB
    assert dir_size(build_dir / "ApiFunction" / "app.py") == 1000


def test_each_function_counts_its_code_and_its_local_layers(build_dir: Path) -> None:
    api, worker = measure(build_dir)
    assert (api.name, api.code_bytes, api.layer_bytes) == ("ApiFunction", 1000, 12 * MB)
    assert (worker.code_bytes, worker.layer_bytes) == (2 * MB + 3000, 12 * MB)
    assert worker.external_layers == 1
    assert api.total_bytes == 12 * MB + 1000


def test_http_functions_get_the_30_mb_goal_others_the_limit(build_dir: Path) -> None:
    api, worker = measure(build_dir)
    assert (api.goal_mb, worker.goal_mb) == (30, 250)
    assert api.meets_goal
    assert not measure(build_dir, http_goal_mb=10)[0].meets_goal


def test_only_functions_above_the_limit_fail() -> None:
    sizes = [
        FunctionSize("Small", 0, 250 * MB, 250),
        FunctionSize("Big", 1, 250 * MB, 250),
    ]
    assert [size.name for size in over_limit(sizes)] == ["Big"]
    assert over_limit(sizes, limit_mb=300) == []


def test_table_shows_sizes_and_goal_verdicts(build_dir: Path) -> None:
    table = format_table(measure(build_dir, http_goal_mb=10)).splitlines()
    assert table[0].split() == ["function", "code", "MB", "layers", "MB", "total", "MB", "goal"]
    assert table[1].split()[:5] == ["ApiFunction", "0.001", "12.00", "12.00", "<="]
    assert table[1].endswith("<= 10 OVER")
    assert "<= 250 ok (1 external layer(s) not counted)" in table[2]


def test_exit_status(build_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(build_dir)]) == 0
    assert main([str(build_dir), "--limit-mb", "13"]) == 1
    assert "over the 13 MB unzipped limit: WorkerFunction (14.0 MB)" in capsys.readouterr().err
    assert main([str(tmp_path / "nothing")]) == 2
