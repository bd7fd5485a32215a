"""The task queues and the exports bucket on the synthesized stack (the session's one synth, conftest.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from tests.infra.test_stack import _logical_id

if TYPE_CHECKING:
    from tests.infra.conftest import Synth

pytestmark = [pytest.mark.infra, pytest.mark.xdist_group("infra")]


def _queue(synth: Synth, construct: Any) -> dict[str, Any]:
    return synth.resources[_logical_id(synth, construct)]["Properties"]


@pytest.mark.parametrize(
    ("queue", "dlq"),
    [("export_queue", "export_dead_letter_queue"), ("whois_queue", "whois_dead_letter_queue")],
)
def test_each_task_queue_is_encrypted_and_dead_letters_after_five_receives(
    synth: Synth, queue: str, dlq: str
) -> None:
    tasks = synth.stack.tasks
    props = _queue(synth, getattr(tasks, queue))
    assert props["SqsManagedSseEnabled"] is True
    assert props["RedrivePolicy"]["maxReceiveCount"] == 5
    assert props["RedrivePolicy"]["deadLetterTargetArn"] == {
        "Fn::GetAtt": [_logical_id(synth, getattr(tasks, dlq)), "Arn"]
    }
    assert _queue(synth, getattr(tasks, dlq))["MessageRetentionPeriod"] == 14 * 24 * 3600


def test_exports_bucket_is_private_logged_and_expires_export_files_after_a_week(synth: Synth) -> None:
    bucket = synth.resources[_logical_id(synth, synth.stack.tasks.exports_bucket)]["Properties"]
    assert bucket["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0][
        "ServerSideEncryptionByDefault"
    ] == {"SSEAlgorithm": "AES256"}
    assert bucket["LoggingConfiguration"]["LogFilePrefix"] == "exports/"
    rules = {rule["Id"]: rule for rule in bucket["LifecycleConfiguration"]["Rules"]}
    assert rules["expire-exports"]["Prefix"] == "exports/"
    assert rules["expire-exports"]["ExpirationInDays"] == 7
    assert rules["abort-incomplete-uploads"]["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 1}


def test_task_queue_dead_letters_alarm(synth: Synth) -> None:
    alarms = [
        alarm["Properties"]
        for alarm in synth.of_type("AWS::CloudWatch::Alarm").values()
        if alarm["Properties"].get("Namespace") == "AWS/SQS"
    ]
    watched = {
        dimension["Value"]["Fn::GetAtt"][0]
        for alarm in alarms
        for dimension in alarm.get("Dimensions", [])
        if isinstance(dimension["Value"], dict) and "Fn::GetAtt" in dimension["Value"]
    }
    tasks = synth.stack.tasks
    for queue in (tasks.export_dead_letter_queue, tasks.whois_dead_letter_queue, tasks.export_queue):
        assert _logical_id(synth, queue) in watched


def test_only_functions_with_the_exports_bucket_reach_it_and_only_exports_prefix(synth: Synth) -> None:
    import json

    from dmarcwatch.api.registry import FUNCTION_GROUPS, WORKER_FUNCTIONS, Resource
    from tests.infra.test_stack import _actions, _functions_by_name, _role_statements

    bucket_id = _logical_id(synth, synth.stack.tasks.exports_bucket)
    entitled = {g.name for g in FUNCTION_GROUPS if Resource.EXPORTS_BUCKET in g.resources} | {
        w.name for w in WORKER_FUNCTIONS if Resource.EXPORTS_BUCKET in w.resources
    }
    assert entitled == {"exports", "exporter"}
    for name, (_, props) in _functions_by_name(synth).items():
        statements = [s for s in _role_statements(synth, props) if bucket_id in json.dumps(s["Resource"])]
        env = props["Environment"]["Variables"]
        if name not in entitled:
            assert statements == [], name
            assert "DMARCWATCH_EXPORTS_BUCKET" not in env, name
            continue
        assert env["DMARCWATCH_EXPORTS_BUCKET"] == {"Ref": bucket_id}, name
        [statement] = statements
        assert set(_actions(statement)) == {
            "s3:GetObject",
            "s3:PutObject",
            "s3:DeleteObject",
            "s3:AbortMultipartUpload",
        }
        assert statement["Resource"] == {"Fn::Join": ["", [{"Fn::GetAtt": [bucket_id, "Arn"]}, "/exports/*"]]}
