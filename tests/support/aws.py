"""Create the template's AWS resources in moto (in-process) for integration tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import yaml


class _CfnLoader(yaml.SafeLoader):
    """Reads CloudFormation short tags as `{"Tag": value}` (enough to find resources)."""


def _tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {suffix: value}


_CfnLoader.add_multi_constructor("!", _tag)


def create_template_resources(template_path: Path, visibility_timeout: int = 1) -> dict[str, Any]:
    """Every DynamoDB table, SQS queue (DLQs first, redrive wired) and S3 bucket.

    Physical names are the logical ids. Returns `{"env": {...}}`: the environment variables the
    template's Globals give the functions, resolved to these resources.
    """
    template = yaml.load(template_path.read_text(), Loader=_CfnLoader)
    resources: dict[str, Any] = template["Resources"]
    dynamodb, sqs, s3 = (
        boto3.client(s, region_name="us-east-1") for s in ("dynamodb", "sqs", "s3")
    )
    urls: dict[str, str] = {}
    for name, resource in resources.items():
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::DynamoDB::Table":
            kwargs: dict[str, Any] = {
                "TableName": name,
                "KeySchema": props["KeySchema"],
                "AttributeDefinitions": props["AttributeDefinitions"],
                "BillingMode": "PAY_PER_REQUEST",
            }
            if props.get("GlobalSecondaryIndexes"):
                kwargs["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
            dynamodb.create_table(**kwargs)
        elif resource["Type"] == "AWS::S3::Bucket":
            s3.create_bucket(Bucket=name.lower())
    queues = {n: r for n, r in resources.items() if r["Type"] == "AWS::SQS::Queue"}
    for name in sorted(queues, key=lambda n: "RedrivePolicy" in queues[n].get("Properties", {})):
        props = queues[name].get("Properties", {})
        attributes = {"VisibilityTimeout": str(visibility_timeout)}
        redrive = props.get("RedrivePolicy")
        if redrive:
            dlq = redrive["deadLetterTargetArn"]["GetAtt"].split(".")[0]
            attributes["RedrivePolicy"] = json.dumps(
                {
                    "deadLetterTargetArn": f"arn:aws:sqs:us-east-1:123456789012:{dlq}",
                    "maxReceiveCount": redrive["maxReceiveCount"],
                }
            )
        urls[name] = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    boto3.client("ses", region_name="us-east-1").verify_email_identity(
        EmailAddress="noreply@fleetbridge.example"
    )
    queue_pairs = {
        "fleetio-keycafe": {
            "queue": urls["FleetioKeycafeQueue"],
            "dlq": urls["FleetioKeycafeDeadLetterQueue"],
        },
    }
    env = {
        "DATA_TABLE": "DataTable",
        "IDEMPOTENCY_TABLE": "IdempotencyTable",
        "RUNS_TABLE": "RunsTable",
        "RESULTS_BUCKET": "resultsbucket",
        "SES_SENDER": "noreply@fleetbridge.example",
        "FLEETBRIDGE_QUEUES": json.dumps(queue_pairs),
    }
    return {"env": env, "queues": urls}
