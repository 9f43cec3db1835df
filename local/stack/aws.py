"""moto in server mode, in-process, with every table, queue, bucket and secret of the template.

Nothing here lists resources by name: whatever `AWS::DynamoDB::Table`, `AWS::SQS::Queue`,
`AWS::S3::Bucket` and `AWS::SecretsManager::Secret` the template declares is created, in
dependency order (a DLQ before the queue whose RedrivePolicy points at it).
"""

from __future__ import annotations

import json
import logging
import secrets
import string
from typing import Any

import boto3
from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import make_server

from local.stack.config import HOST
from local.stack.emails import SesRecorder
from local.stack.sqs_locking import make_sqs_thread_safe
from local.stack.template import REGION, Resolver

logger = logging.getLogger(__name__)

CREATED_TYPES = (
    "AWS::DynamoDB::Table",
    "AWS::SQS::Queue",
    "AWS::S3::Bucket",
    "AWS::SecretsManager::Secret",
    "AWS::SES::EmailIdentity",
)
_QUEUE_ATTRIBUTES = (
    "DelaySeconds",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds",
    "FifoQueue",
    "ContentBasedDeduplication",
    "DeduplicationScope",
    "FifoThroughputLimit",
)


class MotoServer(ThreadedMotoServer):
    """moto's threaded server on 127.0.0.1 with the SES recorder in front of it."""

    def __init__(self, port: int = 5000) -> None:
        super().__init__(ip_address=HOST, port=port, verbose=False)
        make_sqs_thread_safe()  # its threads share queues, as real workers do
        self.recorder: SesRecorder | None = None
        self._error: BaseException | None = None

    def _server_entry(self) -> None:
        try:
            self.recorder = SesRecorder(DomainDispatcherApplication(create_backend_app))
            self._server = make_server(
                self._ip_address,
                self._port,
                self.recorder,
                True,
                request_handler=MotoRequestHandler,
            )
        except BaseException as exc:
            self._error = exc
            self._server_ready_event.set()
            return
        self._server_ready_event.set()
        self._server.serve_forever()

    def start(self) -> None:
        """Start serving; raises when the port cannot be bound."""
        super().start()
        if self._error is not None:
            raise self._error

    @property
    def alive(self) -> bool:
        """True while the server thread runs."""
        return self._thread is not None and self._thread.is_alive()

    @property
    def url(self) -> str:
        """`http://127.0.0.1:<port>`."""
        host, port = self.get_host_and_port()
        return f"http://{host}:{port}"


def aws_client(service: str, endpoint: str) -> Any:
    """A boto3 client on the local moto with fake credentials."""
    return boto3.session.Session().client(
        service,  # type: ignore[call-overload]
        region_name=REGION,
        endpoint_url=endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def _table(resolver: Resolver, logical_id: str, props: dict[str, Any], endpoint: str) -> None:
    name = resolver.table_name(logical_id)
    on_demand = props.get("BillingMode", "PROVISIONED") == "PAY_PER_REQUEST"
    kwargs: dict[str, Any] = {
        "TableName": name,
        "KeySchema": props["KeySchema"],
        "AttributeDefinitions": props["AttributeDefinitions"],
        "BillingMode": "PAY_PER_REQUEST" if on_demand else "PROVISIONED",
    }
    throughput = props.get("ProvisionedThroughput") or {
        "ReadCapacityUnits": 5,
        "WriteCapacityUnits": 5,
    }
    if not on_demand:
        kwargs["ProvisionedThroughput"] = throughput
    for key in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
        if props.get(key):
            indexes = [dict(index) for index in props[key]]
            for index in indexes:
                if on_demand or key == "LocalSecondaryIndexes":
                    index.pop("ProvisionedThroughput", None)
                else:
                    index.setdefault("ProvisionedThroughput", throughput)
            kwargs[key] = indexes
    stream = props.get("StreamSpecification")
    if stream:
        kwargs["StreamSpecification"] = {
            "StreamEnabled": True,
            "StreamViewType": stream["StreamViewType"],
        }
    dynamodb = aws_client("dynamodb", endpoint)
    dynamodb.create_table(**kwargs)
    ttl = props.get("TimeToLiveSpecification")
    if ttl and ttl.get("Enabled") in (True, "true"):
        dynamodb.update_time_to_live(
            TableName=name,
            TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True},
        )


def scaled_visibility(seconds: Any, scale: float) -> str:
    """A queue's visibility timeout times the local scale, at least 1 s (SQS's unit)."""
    return str(max(1, round(float(seconds) * scale)))


def _queue(
    resolver: Resolver, logical_id: str, props: dict[str, Any], endpoint: str, scale: float
) -> None:
    attributes = {
        key: str(props[key]).lower() if isinstance(props[key], bool) else str(props[key])
        for key in _QUEUE_ATTRIBUTES
        if key in props
    }
    attributes["VisibilityTimeout"] = scaled_visibility(props.get("VisibilityTimeout", 30), scale)
    for key in ("RedrivePolicy", "RedriveAllowPolicy"):
        policy = props.get(key)
        if policy:
            policy = dict(policy)
            if "maxReceiveCount" in policy:
                policy["maxReceiveCount"] = int(policy["maxReceiveCount"])
            attributes[key] = json.dumps(policy)
    url = aws_client("sqs", endpoint).create_queue(
        QueueName=resolver.queue_name(logical_id), Attributes=attributes
    )["QueueUrl"]
    resolver.set_physical(logical_id, "Ref", url)


def _generated_secret(spec: dict[str, Any]) -> str:
    alphabet = string.ascii_letters + string.digits
    if spec.get("ExcludePunctuation") in (False, "false", None):
        alphabet += "!#$%&()*+,-.:;<=>?[]^_{|}~"
    alphabet = "".join(c for c in alphabet if c not in str(spec.get("ExcludeCharacters", "")))
    value = "".join(secrets.choice(alphabet) for _ in range(int(spec.get("PasswordLength", 32))))
    template = spec.get("SecretStringTemplate")
    if template and spec.get("GenerateStringKey"):
        return json.dumps(json.loads(template) | {spec["GenerateStringKey"]: value})
    return value


def _secret(resolver: Resolver, logical_id: str, props: dict[str, Any], endpoint: str) -> None:
    value = props.get("SecretString") or _generated_secret(props.get("GenerateSecretString") or {})
    kwargs = {"Name": resolver.secret_name(logical_id), "SecretString": str(value)}
    if props.get("Description"):
        kwargs["Description"] = str(props["Description"])
    arn = aws_client("secretsmanager", endpoint).create_secret(**kwargs)["ARN"]
    resolver.set_physical(logical_id, "Ref", arn)
    resolver.set_physical(logical_id, "Id", arn)


def create_resources(resolver: Resolver, endpoint: str, visibility_scale: float = 1.0) -> list[str]:
    """Create the template's resources on the moto at `endpoint`; returns the logical ids."""
    template = resolver.template
    wanted = [
        lid for lid in template.resources_of_type(*CREATED_TYPES) if resolver.resource_enabled(lid)
    ]
    created: list[str] = []
    for logical_id in template.dependency_order(wanted):
        kind = template.resources[logical_id]["Type"]
        props = resolver.resolve(template.resources[logical_id].get("Properties") or {})
        if kind == "AWS::DynamoDB::Table":
            _table(resolver, logical_id, props, endpoint)
        elif kind == "AWS::SQS::Queue":
            _queue(resolver, logical_id, props, endpoint, visibility_scale)
        elif kind == "AWS::S3::Bucket":
            aws_client("s3", endpoint).create_bucket(Bucket=resolver.bucket_name(logical_id))
        elif kind == "AWS::SecretsManager::Secret":
            _secret(resolver, logical_id, props, endpoint)
        elif kind == "AWS::SES::EmailIdentity":
            verify_sender(endpoint, str(props["EmailIdentity"]))
        created.append(logical_id)
        logger.debug("created %s (%s)", logical_id, kind)
    sender = resolver.parameters.get("SesSender")
    if sender:
        verify_sender(endpoint, str(sender))
    return created


def verify_sender(endpoint: str, identity: str) -> None:
    """Verify an SES identity (an address, or a domain when there is no @)."""
    ses = aws_client("ses", endpoint)
    if "@" in identity:
        ses.verify_email_identity(EmailAddress=identity)
    else:
        ses.verify_domain_identity(Domain=identity)
