"""template.yaml keeps an operator informed: every queue has a dead-letter queue whose depth is
alarmed, every function logs to a log group with a retention and has error and throttle alarms,
every alarm notifies the alarm topic, and the dashboard draws the flow metrics."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from local.stack.cfn_yaml import load_template_file

ROOT = Path(__file__).resolve().parents[3]
ALARM_ACTIONS = [{"Fn::If": ["CreateAlarmTopic", {"Ref": "AlarmTopic"}, {"Ref": "AlarmTopicArn"}]}]


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template_file(ROOT / "template.yaml")


def of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v.get("Type") == kind}


def alarms_on(template: dict[str, Any], namespace: str, metric: str) -> dict[str, Any]:
    """Alarmed resource (the dimension's Ref / GetAtt target) → alarm properties."""
    found = {}
    for alarm in of_type(template, "AWS::CloudWatch::Alarm").values():
        props = alarm["Properties"]
        if (props.get("Namespace"), props.get("MetricName")) != (namespace, metric):
            continue
        for dimension in props.get("Dimensions") or []:
            value = dimension["Value"]
            target = value.get("Ref") or (value.get("Fn::GetAtt") or [None])[0]
            found[target] = props
    return found


def dead_letter_queue(queue: dict[str, Any]) -> str | None:
    target = ((queue.get("Properties") or {}).get("RedrivePolicy") or {}).get("deadLetterTargetArn")
    return target["Fn::GetAtt"][0] if isinstance(target, dict) else None


def test_every_queue_has_a_dead_letter_queue_whose_depth_is_alarmed(
    template: dict[str, Any],
) -> None:
    queues = of_type(template, "AWS::SQS::Queue")
    dlqs = {dead_letter_queue(q) for q in queues.values()} - {None}
    work_queues = set(queues) - dlqs
    assert work_queues and dlqs
    without_dlq = sorted(q for q in work_queues if dead_letter_queue(queues[q]) is None)
    assert without_dlq == [], f"queues without a dead-letter queue: {without_dlq}"
    alarmed = alarms_on(template, "AWS/SQS", "ApproximateNumberOfMessagesVisible")
    unalarmed = sorted(dlqs - set(alarmed))
    assert unalarmed == [], f"dead-letter queues without a depth alarm: {unalarmed}"
    for props in alarmed.values():  # one message is enough to look
        assert (props["Threshold"], props["ComparisonOperator"]) == (
            1,
            "GreaterThanOrEqualToThreshold",
        )


def test_every_function_has_a_log_group_with_retention_and_error_and_throttle_alarms(
    template: dict[str, Any],
) -> None:
    functions = of_type(template, "AWS::Serverless::Function")
    log_groups = of_type(template, "AWS::Logs::LogGroup")
    errors = alarms_on(template, "AWS/Lambda", "Errors")
    throttles = alarms_on(template, "AWS/Lambda", "Throttles")
    problems = []
    for name, function in functions.items():
        group = ((function["Properties"].get("LoggingConfig") or {}).get("LogGroup") or {}).get(
            "Ref"
        )
        if group not in log_groups:
            problems.append(f"{name}: no LoggingConfig.LogGroup of this template")
        elif log_groups[group]["Properties"].get("RetentionInDays") != {"Ref": "LogRetentionDays"}:
            problems.append(f"{name}: its log group has no retention")
        if name not in errors:
            problems.append(f"{name}: no Errors alarm")
        if name not in throttles:
            problems.append(f"{name}: no Throttles alarm")
    assert problems == []


def test_every_alarm_notifies_the_alarm_topic(template: dict[str, Any]) -> None:
    for name, alarm in of_type(template, "AWS::CloudWatch::Alarm").items():
        assert alarm["Properties"]["AlarmActions"] == ALARM_ACTIONS, name
    assert template["Resources"]["AlarmTopic"]["Condition"] == "CreateAlarmTopic"


def test_the_dashboard_draws_the_flow_metrics_and_every_dead_letter_queue(
    template: dict[str, Any],
) -> None:
    (dashboard,) = of_type(template, "AWS::CloudWatch::Dashboard").values()
    body = dashboard["Properties"]["DashboardBody"]["Fn::Sub"]
    for metric in ("Synced", "Skipped", "Failed", "Vendor429", "Vendor5xx", "RunDuration"):
        assert f'MetricName=\\"{metric}\\"' in body, metric
    queues = of_type(template, "AWS::SQS::Queue")
    for dlq in {dead_letter_queue(q) for q in queues.values()} - {None}:
        assert f"${{{dlq}.QueueName}}" in body, dlq


def test_deployment_parameters_have_safe_defaults(template: dict[str, Any]) -> None:
    parameters = template["Parameters"]
    for name in ("SesSender", "AlarmTopicArn", "VendorHosts", "LogRetentionDays"):
        assert "Default" in parameters[name], name
    assert parameters["VendorHosts"]["Default"] == "{}"  # only the vendors' own hosts
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    assert variables["FLEETBRIDGE_VENDOR_HOSTS"] == {"Ref": "VendorHosts"}
    solver = template["Resources"]["RoutingSolverFunction"]["Properties"]
    assert solver["MemorySize"] == {"Ref": "SolverMemorySize"}
