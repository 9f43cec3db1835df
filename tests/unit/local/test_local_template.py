"""The template reader: short tags, parameters, Ref/Sub/GetAtt, conditions, Globals merge."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from local.stack.cfn_yaml import load_yaml
from local.stack.functions import load_functions
from local.stack.template import (
    NO_VALUE,
    Resolver,
    Template,
    TemplateError,
    merge_globals,
    references,
)

ROOT = Path(__file__).resolve().parents[3]
AWS = "http://127.0.0.1:5999"

TOY = """
Parameters:
  Stage: {Type: String, Default: dev}
  Names: {Type: CommaDelimitedList, Default: "a,b"}
  NoDefault: {Type: String}
Conditions:
  IsProd: !Equals [!Ref Stage, prod]
  NotProd: !Not [!Condition IsProd]
  Both: !And [!Condition NotProd, !Equals [x, x]]
Mappings:
  Sizes: {dev: {memory: 128}}
Globals:
  Function:
    Runtime: python3.12
    Timeout: 30
    Layers: [!Ref Shared]
    Environment:
      Variables: {A: global, B: global}
Resources:
  Shared:
    Type: AWS::Serverless::LayerVersion
    Properties: {ContentUri: layers/shared}
  Table:
    Type: AWS::DynamoDB::Table
    Properties: {KeySchema: [], AttributeDefinitions: []}
  Named:
    Type: AWS::DynamoDB::Table
    Properties: {TableName: !Sub "${AWS::StackName}-named"}
  Dlq:
    Type: AWS::SQS::Queue
  Queue:
    Type: AWS::SQS::Queue
    Properties:
      RedrivePolicy: {deadLetterTargetArn: !GetAtt Dlq.Arn, maxReceiveCount: 3}
  Fifo:
    Type: AWS::SQS::Queue
    Properties: {FifoQueue: true}
  Bucket:
    Type: AWS::S3::Bucket
  Secret:
    Type: AWS::SecretsManager::Secret
  Api:
    Type: AWS::Serverless::HttpApi
  ProdOnly:
    Type: AWS::SQS::Queue
    Condition: IsProd
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/fn
      Handler: app.handler
      Timeout: 5
      Layers: [arn:aws:lambda:us-east-1:123456789012:layer:x:1]
      Environment:
        Variables:
          B: own
          QUEUE: !Ref Queue
          ARN: !GetAtt Queue.Arn
          NAME: !GetAtt Queue.QueueName
          JOINED: !Join [",", [!Ref Table, !Ref Bucket]]
          SUBBED: !Sub "${Table}/${Queue.QueueName}/${!Literal}/${AWS::Region}"
          SUBVARS: !Sub ["${x}-${Stage}", {x: !Select [1, !Ref Names]}]
          FLAG: true
          MEMORY: !FindInMap [Sizes, !Ref Stage, memory]
          MAYBE: !If [IsProd, prod-value, !Ref AWS::NoValue]
          CHOSEN: !If [Both, yes-both, other]
"""


@pytest.fixture
def template(tmp_path: Path) -> Template:
    path = tmp_path / "template.yaml"
    path.write_text(TOY)
    return Template.load(path, parameters={"NoDefault": "given"})


@pytest.fixture
def resolver(template: Template) -> Resolver:
    return Resolver(template, AWS, "http://127.0.0.1:3999")


def test_short_tags_load_into_long_forms() -> None:
    data = load_yaml(
        "a: !GetAtt X.Arn\nb: !Ref Y\nc: !Sub 'x${Y}'\nd: !If [C, 1, 2]\ne: !GetAZs ''"
    )
    assert data == {
        "a": {"Fn::GetAtt": ["X", "Arn"]},
        "b": {"Ref": "Y"},
        "c": {"Fn::Sub": "x${Y}"},
        "d": {"Fn::If": ["C", 1, 2]},
        "e": {"Fn::GetAZs": ""},
    }


def test_parameters_defaults_overrides_and_lists(template: Template) -> None:
    assert template.parameters() == {"Stage": "dev", "Names": ["a", "b"], "NoDefault": "given"}
    template.parameter_overrides = {}
    with pytest.raises(TemplateError, match="NoDefault"):
        template.parameters()


def test_refs_of_each_resource_kind(resolver: Resolver) -> None:
    assert resolver.ref("Table") == "Table"
    assert resolver.ref("Named") == "fleetbridge-named"
    assert resolver.ref("Queue") == f"{AWS}/123456789012/Queue"
    assert resolver.ref("Fifo").endswith("/Fifo.fifo")
    assert resolver.ref("Bucket") == "fleetbridge-bucket-local"
    assert resolver.ref("Api") == "local"
    assert resolver.ref("Shared") == "layers/shared"
    assert resolver.ref("Secret") == "arn:aws:secretsmanager:us-east-1:123456789012:secret:Secret"
    assert resolver.ref("AWS::AccountId") == "123456789012"
    assert resolver.ref("AWS::URLSuffix") == "amazonaws.com"
    with pytest.raises(TemplateError):
        resolver.ref("Missing")


def test_get_att_and_physical_values_win(resolver: Resolver) -> None:
    assert resolver.get_att("Queue", "Arn") == "arn:aws:sqs:us-east-1:123456789012:Queue"
    assert resolver.get_att("Queue", "QueueName") == "Queue"
    assert resolver.get_att("Table", "StreamArn").startswith(
        "arn:aws:dynamodb:us-east-1:123456789012:table/Table/stream/"
    )
    assert resolver.get_att("Bucket", "Arn") == "arn:aws:s3:::fleetbridge-bucket-local"
    assert resolver.get_att("Api", "ApiEndpoint") == "http://127.0.0.1:3999"
    resolver.set_physical("Queue", "Ref", "http://moto/q")
    assert resolver.get_att("Queue", "QueueUrl") == "http://moto/q"
    with pytest.raises(TemplateError, match="not supported"):
        resolver.get_att("Queue", "Nope")


def test_conditions_and_resources_with_conditions(resolver: Resolver) -> None:
    assert resolver.condition("IsProd") is False
    assert resolver.condition("Both") is True
    assert resolver.resource_enabled("ProdOnly") is False
    assert resolver.resolve({"a": {"Ref": "AWS::NoValue"}, "b": [1, {"Ref": "AWS::NoValue"}]}) == {
        "b": [1]
    }
    assert NO_VALUE is resolver.ref("AWS::NoValue")


def test_globals_merge_rules() -> None:
    merged = merge_globals(
        {"Timeout": 3, "Layers": ["g"], "Environment": {"Variables": {"A": "g", "B": "g"}}},
        {"Timeout": 9, "Layers": ["own"], "Environment": {"Variables": {"B": "own"}}},
    )
    assert merged == {
        "Timeout": 9,
        "Layers": ["g", "own"],
        "Environment": {"Variables": {"A": "g", "B": "own"}},
    }


def test_function_spec_resolves_environment(template: Template, resolver: Resolver) -> None:
    spec = load_functions(template, resolver)["Fn"]
    assert spec.handler == "app.handler"
    assert spec.timeout == 5.0
    assert spec.code_dir == template.root / "functions/fn"
    assert spec.layers == ((template.root / "layers/shared").resolve(),)
    assert spec.environment == {
        "A": "global",
        "B": "own",
        "QUEUE": f"{AWS}/123456789012/Queue",
        "ARN": "arn:aws:sqs:us-east-1:123456789012:Queue",
        "NAME": "Queue",
        "JOINED": "Table,fleetbridge-bucket-local",
        "SUBBED": "Table/Queue/${Literal}/us-east-1",
        "SUBVARS": "b-dev",
        "FLAG": "true",
        "MEMORY": "128",
        "CHOSEN": "yes-both",
    }


def test_dependency_order_puts_dlqs_first(template: Template) -> None:
    assert references(template.resources["Queue"]) == {"Dlq"}
    order = template.dependency_order(["Queue", "Fifo", "Dlq"])
    assert order.index("Dlq") < order.index("Queue")


def test_the_project_template_resolves() -> None:
    template = Template.load(ROOT / "template.yaml")
    resolver = Resolver(template, AWS, "http://127.0.0.1:3999")
    functions = load_functions(template, resolver)
    assert "ApiFunction" in functions
    env = functions["ApiFunction"].environment
    assert env["DATA_TABLE"] == "DataTable"
    assert env["RESULTS_BUCKET"] == "fleetbridge-resultsbucket-local"
    queues = json.loads(env["FLEETBRIDGE_QUEUES"])
    assert all(pair["queue"].startswith(f"{AWS}/123456789012/") for pair in queues.values())
    for spec in functions.values():
        assert spec.code_dir.is_dir(), spec.logical_id
        assert (ROOT / "layers/fleetbridge").resolve() in spec.layers
