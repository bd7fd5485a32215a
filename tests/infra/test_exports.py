"""The export worker and the exports API function on the synthesized stack (the session's one synth): the
worker exists with its queue trigger, and the API function can presign downloads from the exports bucket
and queue runs. Expected figures come from the registry."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from dmarcwatch.api.registry import WORKER_FUNCTIONS, Resource, group_named
from tests.infra.test_stack import _actions, _functions_by_name, _logical_id, _role_statements

if TYPE_CHECKING:
    from tests.infra.conftest import Synth

pytestmark = [pytest.mark.infra, pytest.mark.xdist_group("infra")]

(EXPORTER,) = [w for w in WORKER_FUNCTIONS if w.trigger is Resource.EXPORT_QUEUE]


def _statements_on(statements: list[dict[str, Any]], bucket_id: str) -> list[dict[str, Any]]:
    def names_bucket(resource: Any) -> bool:
        return bucket_id in str(resource)

    return [
        s
        for s in statements
        if any(
            names_bucket(r) for r in (s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]])
        )
    ]


def test_the_export_worker_runs_from_the_export_queue(synth: Synth) -> None:
    function_id, props = _functions_by_name(synth)[EXPORTER.name]
    assert (props["Timeout"], props["MemorySize"]) == (EXPORTER.timeout_seconds, EXPORTER.memory_mb)
    assert (EXPORTER.timeout_seconds, EXPORTER.memory_mb, EXPORTER.batch_size) == (900, 1024, 1)
    queue_id = _logical_id(synth, synth.stack.tasks.export_queue)
    [mapping] = [
        m["Properties"]
        for m in synth.of_type("AWS::Lambda::EventSourceMapping").values()
        if m["Properties"]["FunctionName"] == {"Ref": function_id}
    ]
    assert mapping["EventSourceArn"] == {"Fn::GetAtt": [queue_id, "Arn"]}
    assert mapping["BatchSize"] == EXPORTER.batch_size
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    # A message is hidden for longer than a run can take.
    assert synth.resources[queue_id]["Properties"]["VisibilityTimeout"] >= EXPORTER.timeout_seconds
    environment = props["Environment"]["Variables"]
    assert {"DMARCWATCH_EXPORT_QUEUE_URL", "DMARCWATCH_EXPORTS_BUCKET"} <= set(environment)


def test_the_export_worker_writes_and_aborts_uploads_under_exports(synth: Synth) -> None:
    _, props = _functions_by_name(synth)[EXPORTER.name]
    bucket_id = _logical_id(synth, synth.stack.tasks.exports_bucket)
    statements = _statements_on(_role_statements(synth, props), bucket_id)
    actions = {a for s in statements for a in _actions(s)}
    assert {"s3:PutObject", "s3:AbortMultipartUpload", "s3:DeleteObject"} <= actions
    assert all("exports/*" in str(s["Resource"]) for s in statements)
    assert "s3:ListBucket" not in actions


def test_the_exports_api_can_presign_from_the_exports_bucket_and_queue_runs(synth: Synth) -> None:
    group = group_named("exports")
    assert group.resources == {Resource.EXPORT_QUEUE, Resource.EXPORTS_BUCKET}
    _, props = _functions_by_name(synth)["exports"]
    environment = props["Environment"]["Variables"]
    bucket_id = _logical_id(synth, synth.stack.tasks.exports_bucket)
    assert environment["DMARCWATCH_EXPORTS_BUCKET"] == {"Ref": bucket_id}
    assert "DMARCWATCH_EXPORT_QUEUE_URL" in environment
    statements = _role_statements(synth, props)
    on_bucket = _statements_on(statements, bucket_id)
    # A presigned GET is signed with this function's role: it needs s3:GetObject on the files.
    assert any("s3:GetObject" in _actions(s) and "exports/*" in str(s["Resource"]) for s in on_bucket)
    queue_id = _logical_id(synth, synth.stack.tasks.export_queue)
    sends = [s for s in statements if "sqs:SendMessage" in _actions(s)]
    assert any(queue_id in str(s["Resource"]) for s in sends)
    # It only sends: consuming the queue is the worker's.
    assert not any("sqs:ReceiveMessage" in _actions(s) and queue_id in str(s["Resource"]) for s in statements)
