"""Template reading shared by the benchmarks: tags, Globals, placeholder values."""

from __future__ import annotations

from pathlib import Path

import pytest

from sam_template import functions, layer_content_uri, layer_ref, load_template, resolve

TEMPLATE = """
Parameters:
  LogLevel: {Type: String, Default: INFO}
Globals:
  Function:
    Handler: app.lambda_handler
    Timeout: 30
    Layers: [!Ref SharedLayer]
    Environment:
      Variables:
        LOG_LEVEL: !Ref LogLevel
        TABLE: !Ref DataTable
        QUEUES: !Sub '{"q": "${WorkQueue}", "arn": "${WorkQueue.Arn}"}'
Resources:
  SharedLayer:
    Type: AWS::Serverless::LayerVersion
    Properties: {ContentUri: layers/shared}
  DataTable: {Type: AWS::DynamoDB::Table}
  WorkQueue: {Type: AWS::SQS::Queue}
  Api:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/api
      Events:
        Any: {Type: HttpApi, Properties: {Path: $default, Method: ANY}}
  Worker:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/worker
      Timeout: 60
      Layers: [arn:aws:lambda:us-east-1:017000801446:layer:AWSLambdaPowertoolsPythonV3:1]
      Environment: {Variables: {TABLE: override, EXTRA: !GetAtt WorkQueue.Arn}}
      Events:
        Queue: {Type: SQS, Properties: {Queue: !GetAtt WorkQueue.Arn}}
  Bucket: {Type: AWS::S3::Bucket}
"""


@pytest.fixture
def template(tmp_path: Path) -> dict:
    path = tmp_path / "template.yaml"
    path.write_text(TEMPLATE)
    return load_template(path)


def test_short_form_tags_become_intrinsic_functions(template: dict) -> None:
    worker = template["Resources"]["Worker"]["Properties"]
    assert worker["Events"]["Queue"]["Properties"]["Queue"] == {"Fn::GetAtt": ["WorkQueue", "Arn"]}
    assert template["Globals"]["Function"]["Layers"] == [{"Ref": "SharedLayer"}]


def test_globals_apply_like_sam(template: dict) -> None:
    api, worker = functions(template)
    assert (api.logical_id, worker.logical_id) == ("Api", "Worker")
    assert api.handler == worker.handler == "app.lambda_handler"
    # lists: global entries first, then the function's own
    assert [layer_ref(layer) for layer in worker.layers] == ["SharedLayer", None]
    # maps: merged, the function wins
    assert worker.environment["TABLE"] == "override"
    assert worker.environment["LOG_LEVEL"] == {"Ref": "LogLevel"}
    assert "EXTRA" not in api.environment


def test_http_events_mark_api_and_webhook_functions(template: dict) -> None:
    api, worker = functions(template)
    assert api.has_http_event
    assert not worker.has_http_event


def test_layer_content_uri_only_for_local_layers(template: dict) -> None:
    assert layer_content_uri(template, "SharedLayer") == "layers/shared"
    assert layer_content_uri(template, "DataTable") is None


def test_intrinsics_resolve_to_placeholders(template: dict) -> None:
    assert resolve(template, {"Ref": "LogLevel"}) == "INFO"
    assert resolve(template, {"Ref": "DataTable"}) == "fleetbridge-DataTable"
    assert resolve(template, {"Ref": "Bucket"}) == "fleetbridge-bucket"
    assert resolve(template, {"Ref": "AWS::Region"}) == "us-east-1"
    queue_url = "https://sqs.us-east-1.amazonaws.com/123456789012/fleetbridge-WorkQueue"
    assert resolve(template, {"Ref": "WorkQueue"}) == queue_url
    queues = resolve(template, functions(template)[0].environment["QUEUES"])
    assert queues == (
        f'{{"q": "{queue_url}", "arn": "arn:aws:sqs:us-east-1:123456789012:fleetbridge-WorkQueue"}}'
    )
    assert resolve(template, {"Fn::Join": ["-", ["a", {"Ref": "AWS::Partition"}]]}) == "a-aws"
    assert resolve(template, 5) == "5"


def test_unknown_intrinsics_are_an_error(template: dict) -> None:
    with pytest.raises(ValueError, match="cannot resolve"):
        resolve(template, {"Fn::ImportValue": "x"})


def test_a_file_without_resources_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "not-a-template.yaml"
    path.write_text("a: 1\n")
    with pytest.raises(ValueError, match="no Resources"):
        load_template(path)
