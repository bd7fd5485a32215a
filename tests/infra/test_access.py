"""L4: each function reaches only the table partitions and bucket prefixes its code uses.

Two kinds of test:

- Template assertions: the LeadingKeys conditions of each role (who may write `KEYHASH#`, `ACCOUNT#`, ...).
- A rehearsal: every function's Lambda handler runs its main paths over moto (accounts and keys, domains,
  scans, uploads, the parser on SES notifications, spam and unrouted mail, reprocessing, the dispatcher),
  every DynamoDB and S3 request is recorded with the function that made it, and each one is evaluated
  against that function's statements in the synthesized template by a small IAM evaluator for exactly the
  shapes the stack writes (Allow; actions; table, index and object-prefix ARNs; `ForAllValues:StringLike`
  on `dynamodb:LeadingKeys`). moto does not enforce IAM, so without this a key family or object prefix a
  function starts to use would first fail in AWS, as AccessDenied.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest

from dmarcwatch.table import TABLE
from tests.infra.test_stack import _actions, _functions_by_name, _role_statements, _single

if TYPE_CHECKING:
    from tests.infra.conftest import Synth

pytestmark = [pytest.mark.infra, pytest.mark.xdist_group("infra")]


# --- template assertions ----------------------------------------------------------------------------------


def _table_grants(synth: Synth, name: str) -> dict[str, set[str]]:
    """DynamoDB action -> the LeadingKeys patterns it is allowed on (table statements of one function)."""
    table_id, _ = _single(synth, "AWS::DynamoDB::Table")
    _, props = _functions_by_name(synth)[name]
    grants: dict[str, set[str]] = {}
    for statement in _role_statements(synth, props):
        if statement["Resource"] != {"Fn::GetAtt": [table_id, "Arn"]}:
            continue
        assert statement["Condition"].keys() == {"ForAllValues:StringLike"}, statement
        patterns = statement["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]
        for action in _actions(statement):
            grants.setdefault(action, set()).update(patterns)
    return grants


WRITES = ("dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem")


def _writable(synth: Synth, name: str) -> set[str]:
    grants = _table_grants(synth, name)
    return set().union(*(grants.get(action, set()) for action in WRITES))


def test_every_table_statement_is_limited_by_partition(synth: Synth) -> None:
    """No function may touch the whole table: each table statement carries a LeadingKeys condition."""
    for name in _functions_by_name(synth):
        grants = _table_grants(synth, name)  # asserts the condition on every table statement
        assert grants, name
        assert all("*" not in patterns for patterns in grants.values()), name


def test_only_the_account_function_may_write_key_items(synth: Synth) -> None:
    writers = {name for name in _functions_by_name(synth) if "KEYHASH#*" in _writable(synth, name)}
    assert writers == {"account"}


def test_no_function_writes_accounts_emails_or_inbound_tokens(synth: Synth) -> None:
    """Only the admin CLI (operator credentials) creates accounts and changes plans or subscriptions."""
    for name in _functions_by_name(synth):
        assert not _writable(synth, name) & {"ACCOUNT#*", "EMAIL#*", "INBOUND#*"}, name


def test_reports_function_partitions(synth: Synth) -> None:
    grants = _table_grants(synth, "reports")
    assert grants["dynamodb:GetItem"] == {"TENANT#*", "KEYHASH#*", "ACCOUNT#*", "RATE#*", "IPINFO#*"}
    assert _writable(synth, "reports") == {"TENANT#*", "RATE#*", "IPINFO#*"}


def test_authorizer_reads_keys_and_accounts_and_touches_the_tenant_key(synth: Synth) -> None:
    assert _table_grants(synth, "authorizer") == {
        "dynamodb:GetItem": {"KEYHASH#*", "ACCOUNT#*"},
        "dynamodb:UpdateItem": {"TENANT#*"},
    }


def test_partition_patterns_come_from_the_key_builders() -> None:
    from dmarcwatch import table as t
    from infra.constructs import access

    assert access.TENANT == "TENANT#*"
    assert t.tenant_pk("acct_1", "live").startswith(access.TENANT[:-1])
    assert t.records_pk("acct_1", "live", "rpt_1").startswith(access.TENANT[:-1])
    assert access.KEYHASH == "KEYHASH#*"
    assert access.UNROUTED == t.UNROUTED_PK
    with pytest.raises(ValueError, match="unknown partition"):
        access.TableAccess(read=frozenset({"NOPE#*"}))
    with pytest.raises(ValueError, match="unknown indexes"):
        access.TableAccess(read=frozenset({access.TENANT}), indexes=frozenset({"gsi9"}))


def test_every_partition_key_builder_is_known() -> None:
    """A new key family in dmarcwatch.table (a `*_pk` builder or a `*_PK` constant) must be placed in
    infra/constructs/access.py's partitions (or be an index partition key); otherwise no function could
    use it in AWS."""
    from dmarcwatch import table as t
    from infra.constructs import access

    index_only = {
        "domain_name_index_pk",
        "scan_due_pk",
        "whois_due_pk",
        "reports_index_pk",
        "quarantine_index_pk",
    }
    index_constants = {"ACCOUNTS_INDEX_PK"}
    for name in dir(t):
        value = getattr(t, name)
        if name.endswith("_pk") and callable(value) and name not in index_only:
            pattern = access.pk_pattern(value)
            assert any(pattern.startswith(p.rstrip("*")) for p in access.PARTITIONS), name
        elif name.endswith("_PK") and isinstance(value, str) and name not in index_constants:
            assert value in access.PARTITIONS, name


def test_every_function_needs_an_access_entry() -> None:
    from dmarcwatch.api.registry import FunctionGroup, Resource, WorkerFunction
    from infra.constructs.access import bucket_access_of, table_access_of

    with pytest.raises(KeyError, match="has no table access"):
        table_access_of(FunctionGroup("billing", ("billing",), "Billing"))
    worker = WorkerFunction("archiver", "x", Resource.RAW_BUCKET, 128, 10, 1, frozenset(), "m:h")
    with pytest.raises(KeyError, match="has no table access"):
        table_access_of(worker)
    with pytest.raises(KeyError, match="RAW_BUCKET_ACCESS"):
        bucket_access_of("archiver", frozenset({Resource.RAW_BUCKET}))
    assert bucket_access_of("archiver", frozenset()) is None


# --- the rehearsal: recorder --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    function: str
    action: str  # IAM action, e.g. dynamodb:PutItem, s3:GetObject
    resource: str  # "table", "index/<name>" or "object/<key>"
    leading_keys: tuple[str, ...] = ()
    detail: str = ""


@dataclass
class Recorder:
    table_name: str
    requests: list[Request] = field(default_factory=list)
    current: str | None = None
    # Functions whose reads of a missing object get S3's 403 (no s3:ListBucket), simulated when set.
    forbidden_misses: frozenset[str] = frozenset()

    def simulate_s3_miss(self, client: Any, operation: str, params: dict[str, Any]) -> None:
        """Without s3:ListBucket, S3 answers a read of a missing key with 403 AccessDenied, not 404."""
        from botocore.exceptions import ClientError

        label = self.current
        if label not in self.forbidden_misses or operation not in ("GetObject", "HeadObject"):
            return
        self.current = None  # the existence check is the test's, not the function's
        try:
            listed = client.list_objects_v2(Bucket=params["Bucket"], Prefix=params["Key"], MaxKeys=1)
        finally:
            self.current = label
        if not any(o["Key"] == params["Key"] for o in listed.get("Contents", [])):
            error = {"Error": {"Code": "AccessDenied", "Message": "Access Denied (simulated)"}}
            raise ClientError(error, operation)  # type: ignore[arg-type]

    @contextmanager
    def as_function(self, name: str) -> Iterator[None]:
        self.current = name
        try:
            yield
        finally:
            self.current = None

    def record(self, service: str, operation: str, params: dict[str, Any]) -> None:
        if self.current is None:
            return
        if service == "dynamodb":
            self.requests.extend(self._dynamodb(operation, params))
        elif service == "s3":
            self.requests.append(self._s3(operation, params))

    def _dynamodb(self, operation: str, params: dict[str, Any]) -> list[Request]:
        assert self.current is not None
        fn = self.current
        pk = TABLE.partition_key
        if operation in ("GetItem", "UpdateItem", "DeleteItem"):
            return [Request(fn, f"dynamodb:{operation}", "table", (_s(params["Key"][pk]),))]
        if operation == "PutItem":
            return [Request(fn, "dynamodb:PutItem", "table", (_s(params["Item"][pk]),))]
        if operation == "Query":
            if "IndexName" in params:
                return [Request(fn, "dynamodb:Query", f"index/{params['IndexName']}")]
            return [Request(fn, "dynamodb:Query", "table", (_query_pk(params),))]
        if operation == "BatchGetItem":
            keys = params["RequestItems"][self.table_name]["Keys"]
            return [Request(fn, "dynamodb:BatchGetItem", "table", tuple(_s(k[pk]) for k in keys))]
        if operation == "BatchWriteItem":
            writes = params["RequestItems"][self.table_name]
            pks = [_s((w.get("PutRequest", {}).get("Item") or w["DeleteRequest"]["Key"])[pk]) for w in writes]
            return [Request(fn, "dynamodb:BatchWriteItem", "table", tuple(pks))]
        if operation == "TransactWriteItems":
            found = []
            actions = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem"}
            actions["ConditionCheck"] = "ConditionCheckItem"
            for item in params["TransactItems"]:
                [(kind, body)] = item.items()
                wire_key = body.get("Key") or body["Item"]
                found.append(Request(fn, f"dynamodb:{actions[kind]}", "table", (_s(wire_key[pk]),)))
            return found
        if operation == "TransactGetItems":
            return [
                Request(fn, "dynamodb:GetItem", "table", (_s(i["Get"]["Key"][pk]),))
                for i in params["TransactItems"]
            ]
        raise AssertionError(f"{fn}: DynamoDB {operation} is not modelled by this test (add it)")

    def _s3(self, operation: str, params: dict[str, Any]) -> Request:
        from dmarcwatch.config import get_settings

        assert self.current is not None
        # HeadObject is authorized by s3:GetObject, the parts of a multipart upload by s3:PutObject.
        actions = {
            "GetObject": "s3:GetObject",
            "HeadObject": "s3:GetObject",
            "PutObject": "s3:PutObject",
            "PutObjectTagging": "s3:PutObjectTagging",
            "DeleteObject": "s3:DeleteObject",
            "CreateMultipartUpload": "s3:PutObject",
            "UploadPart": "s3:PutObject",
            "CompleteMultipartUpload": "s3:PutObject",
            "AbortMultipartUpload": "s3:AbortMultipartUpload",
        }
        if operation not in actions:
            raise AssertionError(f"{self.current}: S3 {operation} is not modelled by this test (add it)")
        # Objects of the exports bucket are "exports-object/<key>", of the raw bucket "object/<key>".
        kind = "exports-object" if params.get("Bucket") == get_settings().exports_bucket else "object"
        return Request(self.current, actions[operation], f"{kind}/{params['Key']}")


def _s(value: Any) -> str:
    """A key attribute from the resource layer (plain) or the client layer (DynamoDB JSON)."""
    return str(value["S"]) if isinstance(value, dict) else str(value)


def _query_pk(params: dict[str, Any]) -> str:
    expression = params["KeyConditionExpression"]
    match = re.match(r"\s*(#?\w+)\s*=\s*(:\w+)", expression)
    assert match, expression
    name = params.get("ExpressionAttributeNames", {}).get(match.group(1), match.group(1))
    assert name == TABLE.partition_key, expression
    return _s(params["ExpressionAttributeValues"][match.group(2)])


# --- the rehearsal: evaluator -------------------------------------------------------------------------------


def _like(pattern: str, value: str) -> bool:
    """IAM StringLike: `*` any run of characters, `?` one character, everything else literal."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, flags=re.DOTALL) is not None


@dataclass
class Policy:
    statements: list[dict[str, Any]]
    table_id: str
    bucket_id: str
    exports_bucket_id: str

    def _resources(self, statement: dict[str, Any]) -> list[Any]:
        resource = statement["Resource"]
        return resource if isinstance(resource, list) else [resource]

    def _matches_resource(self, arn: Any, resource: str) -> bool:
        table_arn = {"Fn::GetAtt": [self.table_id, "Arn"]}
        if resource == "table":
            return bool(arn == table_arn)
        if resource.startswith("index/"):
            return bool(arn == {"Fn::Join": ["", [table_arn, f"/{resource}"]]})
        kind, _, key = resource.partition("/")
        bucket_id = self.exports_bucket_id if kind == "exports-object" else self.bucket_id
        if not isinstance(arn, dict) or "Fn::Join" not in arn:
            return False
        head, *tail = arn["Fn::Join"][1]
        return head == {"Fn::GetAtt": [bucket_id, "Arn"]} and len(tail) == 1 and _like(tail[0], f"/{key}")

    def _condition_holds(self, statement: dict[str, Any], request: Request) -> bool:
        condition = statement.get("Condition")
        if condition is None:
            return True
        assert condition.keys() == {"ForAllValues:StringLike"}, f"unmodelled condition {condition}"
        [(key, patterns)] = condition["ForAllValues:StringLike"].items()
        assert key == "dynamodb:LeadingKeys", f"unmodelled condition key {key}"
        assert request.leading_keys, f"{request}: a LeadingKeys condition on a request without keys"
        return all(any(_like(p, value) for p in patterns) for value in request.leading_keys)

    def grants_action(self, action: str) -> bool:
        return any(s["Effect"] == "Allow" and action in _actions(s) for s in self.statements)

    def allows(self, request: Request) -> bool:
        return any(
            statement["Effect"] == "Allow"
            and request.action in _actions(statement)
            and any(self._matches_resource(arn, request.resource) for arn in self._resources(statement))
            and self._condition_holds(statement, request)
            for statement in self.statements
        )


# --- the rehearsal: driving the handlers --------------------------------------------------------------------


class FakeContext:
    function_name = "dmarcwatch-rehearsal"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:dmarcwatch-rehearsal"
    memory_limit_in_mb = 512
    aws_request_id = "rehearsal-request"

    log_group_name = "/aws/lambda/dmarcwatch-rehearsal"
    log_stream_name = "stream"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 60_000


def _handler(function_dir: str) -> Callable[[dict[str, Any], Any], Any]:
    module = importlib.import_module(f"functions.{function_dir}.handler")
    handler: Callable[[dict[str, Any], Any], Any] = module.handler
    return handler


def _api_call(
    function: str,
    method: str,
    path: str,
    key: str | None,
    body: Any = None,
    query: dict[str, str] | None = None,
) -> dict[str, Any]:
    headers = {"Host": "abc123.execute-api.us-east-1.amazonaws.com", "Content-Type": "application/json"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    raw_body = body if isinstance(body, str | None) else json.dumps(body)
    event = {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "requestId": f"rehearsal-{uuid.uuid4().hex[:8]}",
            "stage": "v1",
            "httpMethod": method,
            "path": f"/v1{path}",
            "identity": {"sourceIp": "198.51.100.77"},
        },
        "body": raw_body,
        "isBase64Encoded": False,
    }
    # Mangum runs the app on the main thread's event loop; a worker run before (asyncio.run) leaves none.
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        response: dict[str, Any] = _handler(f"api_{function}")(event, FakeContext())
    finally:
        asyncio.set_event_loop(None)
        loop.close()
    return response


def _ok(response: dict[str, Any], *statuses: int) -> Any:
    assert response["statusCode"] in (statuses or (200,)), response["body"][:500]
    return json.loads(response["body"]).get("data")


def _sqs_event(*bodies: str) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": f"m-{i}",
                "receiptHandle": f"r-{i}",
                "body": body,
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:rehearsal",
                "awsRegion": "us-east-1",
            }
            for i, body in enumerate(bodies)
        ]
    }


def _ses_notification(key: str, recipient: str, *, spam: str = "PASS") -> str:
    """What SES publishes (through SNS) when its S3 action has stored a mail."""
    receipt = {
        "recipients": [recipient],
        "spamVerdict": {"status": spam},
        "virusVerdict": {"status": "PASS"},
        "dkimVerdict": {"status": "PASS"},
        "dmarcVerdict": {"status": "PASS"},
        "action": {"type": "S3", "bucketName": "raw", "objectKey": key},
    }
    message = {"notificationType": "Received", "receipt": receipt, "mail": {"destination": [recipient]}}
    return json.dumps({"Type": "Notification", "Message": json.dumps(message)})


def _drain_ingest_queue() -> list[str]:
    from dmarcwatch.config import get_settings
    from dmarcwatch.store import aws

    sqs = aws.client("sqs")
    bodies = []
    while True:
        url = get_settings().ingest_queue_url
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            return bodies
        for message in messages:
            bodies.append(message["Body"])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def _run_parser(recorder: Recorder, *bodies: str) -> None:
    with recorder.as_function("parser"):
        result = _handler("parser")(_sqs_event(*bodies), FakeContext())
    assert result == {"batchItemFailures": []}


def rehearse(recorder: Recorder) -> None:
    from dmarcwatch.auth.apikeys import generate_key
    from dmarcwatch.config import get_settings
    from dmarcwatch.models import Environment, Tenant
    from dmarcwatch.plans import PlanName
    from dmarcwatch.services import admin
    from dmarcwatch.store import aws
    from dmarcwatch.store import domains as domain_store
    from dmarcwatch.store import scans as scan_store
    from tests.support.reports import Row, aggregate_xml, report_mail

    created = admin.create_account(f"rehearsal-{uuid.uuid4().hex}@example.com", PlanName.PRO, None, 365)
    key = created.live_key.secret
    account_id = created.account.id
    reports_domain = get_settings().reports_domain
    rows = [Row("192.0.2.1", 10), Row("192.0.2.2", 5, dkim="fail")]

    with recorder.as_function("authorizer"):
        token_event = {
            "type": "TOKEN",
            "authorizationToken": f"Bearer {key}",
            "methodArn": "arn:aws:execute-api:us-east-1:123456789012:abc123/v1/GET/domains",
        }
        policy = _handler("authorizer")(token_event, FakeContext())
        assert policy["principalId"] == created.live_key.key.id

    with recorder.as_function("meta"):
        _ok(_api_call("meta", "GET", "/health", None))
        _ok(_api_call("meta", "GET", "/", key))
        # A well-formed key nobody holds: looked up, then counted as a failed authentication.
        assert _api_call("meta", "GET", "/", generate_key(Environment.LIVE))["statusCode"] == 401

    with recorder.as_function("account"):
        _ok(_api_call("account", "GET", "/account", key))
        _ok(_api_call("account", "GET", "/keys", key))
        _ok(_api_call("account", "GET", "/events", key, query={"type": "report.received"}))
        _ok(_api_call("account", "GET", "/events/types", key))
        new_key = _ok(_api_call("account", "POST", "/keys", key, {"name": "rehearsal"}), 201)
        _ok(_api_call("account", "DELETE", f"/keys/{new_key['id']}", key))

    with recorder.as_function("domains"):
        added = _ok(
            _api_call("domains", "POST", "/domains", key, {"domains": ["example.com", "gone.example"]}), 201
        )
        assert added
        _ok(_api_call("domains", "GET", "/domains", key))
        domain = _ok(_api_call("domains", "GET", "/domains/example.com", key))
        _ok(_api_call("domains", "POST", f"/domains/{domain['id']}/verify", key))
        _ok(_api_call("domains", "POST", "/domains/example.com/scan", key))
        _ok(_api_call("domains", "POST", "/domains/example.com/refresh_dns", key), 200, 202)
        _ok(_api_call("domains", "GET", "/domains/example.com/scan-results", key))
        _ok(_api_call("domains", "GET", "/domains/example.com/dns-records", key))
        _ok(_api_call("domains", "GET", "/domains/example.com/changes", key))
        _ok(_api_call("domains", "POST", "/domains/gone.example/deactivate", key))
        _ok(_api_call("domains", "POST", "/domains/gone.example/activate", key))
        _ok(_api_call("domains", "DELETE", "/domains/gone.example", key))
        # The portfolio: a folder, the domain's fields, a bulk change, tags, the dashboard, a folder delete.
        folder = _ok(_api_call("domains", "POST", "/folders", key, {"name": "Brands"}), 201)
        _ok(
            _api_call(
                "domains", "PATCH", "/domains/example.com", key, {"folder_id": folder["id"], "tags": ["eu"]}
            )
        )
        _ok(
            _api_call(
                "domains", "POST", "/domains/bulk-update", key, {"ids": ["example.com"], "is_favorite": True}
            )
        )
        _ok(_api_call("domains", "GET", "/domains", key, query={"tag": "eu"}))
        _ok(_api_call("domains", "GET", "/folders", key))
        _ok(_api_call("domains", "GET", "/tags", key))
        _ok(_api_call("domains", "GET", "/dashboard/summary", key, query={"folder_id": folder["id"]}))
        _ok(_api_call("domains", "DELETE", f"/folders/{folder['id']}", key))

    # Make example.com due (as the schedule would an interval later), then run the dispatcher.
    tenant = Tenant(account_id=account_id, environment=Environment.LIVE)
    due_domain = domain_store.get_by_name(tenant, "example.com")
    assert due_domain is not None
    scan_store.schedule(tenant, due_domain, datetime.now(UTC) - timedelta(minutes=1))
    with recorder.as_function("dispatcher"):
        _handler("dispatcher")({}, FakeContext())

    with recorder.as_function("reports"):
        upload = _ok(
            _api_call("reports", "POST", "/reports", key, aggregate_xml("example.com", rows).decode()), 202
        )
        late = report_mail("x@example.net", aggregate_xml("late.example", rows, report_id="late-1"))
        late_upload = _ok(_api_call("reports", "POST", "/reports", key, late.decode()), 202)
    _run_parser(recorder, *_drain_ingest_queue())

    # Mail received by SES: for the account's address, spam, and for nobody (the shared address, no
    # account monitors the domain): stored, quarantined, quarantined for the operator.
    s3 = aws.client("s3")
    bucket = get_settings().raw_bucket
    mails = {
        f"{created.account.inbound_token}@{reports_domain}": ("ok", "PASS"),
        f"{created.account.inbound_token}+spam@{reports_domain}": ("spam", "FAIL"),
        f"dmarc@{reports_domain}": ("nobody", "PASS"),
    }
    notifications = []
    for recipient, (name, spam) in mails.items():
        object_key = f"inbound/raw/rehearsal-{name}-{uuid.uuid4().hex[:8]}"
        domain_name = "example.com" if name != "nobody" else "nobody.example"
        xml = aggregate_xml(domain_name, rows, report_id=f"mail-{name}")
        s3.put_object(Bucket=bucket, Key=object_key, Body=report_mail(recipient, xml))
        notifications.append(_ses_notification(object_key, recipient, spam=spam))
    _run_parser(recorder, *notifications)

    with recorder.as_function("reports"):
        _ok(_api_call("reports", "GET", f"/uploads/{upload['id']}", key))
        listed = _ok(_api_call("reports", "GET", "/reports", key))
        assert listed, "the rehearsal expected stored reports"
        report_id = listed[0]["id"]
        _ok(_api_call("reports", "GET", f"/reports/{report_id}", key))
        _ok(_api_call("reports", "GET", f"/reports/{report_id}/raw", key))
        _ok(_api_call("reports", "GET", "/domains/example.com/stats", key))
        _ok(_api_call("reports", "GET", "/domains/example.com/sources", key, query={"date": "2026-01-01"}))
        quarantine = _ok(_api_call("reports", "GET", "/quarantine", key))
        assert quarantine, "the rehearsal expected a quarantined upload"
        _ok(_api_call("reports", "GET", f"/uploads/{late_upload['id']}", key))
        _ok(_api_call("reports", "POST", f"/quarantine/{quarantine[0]['id']}/reprocess", key), 202)
    _run_parser(recorder, *_drain_ingest_queue())

    with recorder.as_function("scanner"):
        # A tenant's request (counted against the account's scan rate) and a scheduled one.
        requests = [
            json.dumps(
                {"account_id": account_id, "environment": "live", "domain": "example.com", "origin": origin}
            )
            for origin in ("request", "schedule")
        ]
        assert _handler("scanner")(_sqs_event(*requests), FakeContext()) == {"batchItemFailures": []}

    rehearse_whois(recorder, key, tenant)

    rehearse_exports(recorder, key)

    with recorder.as_function("reconciler"):
        assert _handler("reconciler")({}, FakeContext())["reconciled"] >= 2

    # Deleting a domain with reports at once (purge=true) queues a purge of its data (statistics,
    # reports, payloads, ...); a plain delete removes it for 30 days (the reconciler purges it then).
    with recorder.as_function("domains"):
        _ok(_api_call("domains", "DELETE", "/domains/example.com", key, query={"purge": "true"}))
    _run_parser(recorder, *_drain_ingest_queue())


def rehearse_exports(recorder: Recorder, key: str) -> None:
    """Exports: create, list and read one through the API, run the worker on its queued message (a
    multipart upload into the exports bucket), read it again (a presigned link), delete it."""
    from dmarcwatch.config import get_settings
    from dmarcwatch.store import aws

    with recorder.as_function("exports"):
        export = _ok(
            _api_call("exports", "POST", "/exports", key, {"export_type": "csv", "dataset": "domains"}), 202
        )
        _ok(_api_call("exports", "GET", "/exports", key))
    sqs = aws.client("sqs")
    messages = sqs.receive_message(QueueUrl=get_settings().export_queue_url, MaxNumberOfMessages=10)
    bodies = [m["Body"] for m in messages.get("Messages", [])]
    assert bodies, "the rehearsal expected a queued export"
    with recorder.as_function("exporter"):
        assert _handler("exporter")(_sqs_event(*bodies), FakeContext()) == {"batchItemFailures": []}
    with recorder.as_function("exports"):
        done = _ok(_api_call("exports", "GET", f"/exports/{export['id']}", key))
        assert done["status"] == "completed", done
        _ok(_api_call("exports", "DELETE", f"/exports/{export['id']}", key))


def rehearse_whois(recorder: Recorder, key: str, tenant: Any) -> None:
    """WHOIS: the API's view and refresh, the scheduler over a due item, the worker's lookup. The shared
    bootstrap names a closed loopback port for .com, so the lookup fails at once and is recorded."""
    from dmarcwatch.store import domains as domain_store
    from dmarcwatch.store import rdap_bootstrap
    from dmarcwatch.store import whois as whois_store
    from dmarcwatch.whois import bootstrap
    from dmarcwatch.whois.messages import WhoisOrigin, WhoisRequest

    bootstrap.forget()
    services = {"services": [[["com"], ["https://127.0.0.1:9/"]]]}
    rdap_bootstrap.put(rdap_bootstrap.CachedBootstrap(datetime.now(UTC), "rehearsal", services))
    with recorder.as_function("domains"):
        _ok(_api_call("domains", "GET", "/domains/example.com/whois", key))
        _ok(_api_call("domains", "POST", "/domains/example.com/refresh_whois", key), 202)
    domain = domain_store.get_by_name(tenant, "example.com")
    assert domain is not None
    due = datetime.now(UTC) - timedelta(minutes=1)
    whois_store.lease([whois_store.WhoisRef(tenant, domain.id, domain.name)], due, due, due_only=False)
    with recorder.as_function("whois_scheduler"):
        _handler("whois_scheduler")({}, FakeContext())
    request = WhoisRequest.of(tenant, domain.id, domain.name, WhoisOrigin.SCHEDULE)
    with recorder.as_function("whois"):
        answer = _handler("whois")(_sqs_event(request.model_dump_json()), FakeContext())
    assert answer == {"batchItemFailures": []}
    bootstrap.forget()


@pytest.fixture
def recorder(aws: None, monkeypatch: pytest.MonkeyPatch) -> Recorder:
    import botocore.client

    from dmarcwatch.config import get_settings
    from dmarcwatch.store import blobs, export_files

    recorder = Recorder(table_name=get_settings().table_name)
    original = botocore.client.BaseClient._make_api_call

    def recording(self: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
        service = self.meta.service_model.service_name
        recorder.record(service, operation_name, api_params)
        if service == "s3":
            recorder.simulate_s3_miss(self, operation_name, api_params)
        return original(self, operation_name, api_params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", recording)
    presign = blobs.presigned_url

    def recording_presign(key: str, expires_in: int = 300) -> str:
        # A presigned GET is used with the function's credentials: it needs s3:GetObject on the key.
        recorder.record("s3", "GetObject", {"Key": key})
        return presign(key, expires_in)

    monkeypatch.setattr(blobs, "presigned_url", recording_presign)
    download_url = export_files.download_url

    def recording_download_url(key: str, filename: str, expires_in: int) -> str:
        recorder.record("s3", "GetObject", {"Key": key, "Bucket": get_settings().exports_bucket})
        return download_url(key, filename, expires_in)

    monkeypatch.setattr(export_files, "download_url", recording_download_url)
    return recorder


def _policies(synth: Synth) -> dict[str, Policy]:
    table_id, _ = _single(synth, "AWS::DynamoDB::Table")
    [bucket_id] = [k for k in synth.of_type("AWS::S3::Bucket") if k.startswith("InboundRawBucket")]
    [exports_id] = [k for k in synth.of_type("AWS::S3::Bucket") if k.startswith("TasksExportsBucket")]
    return {
        name: Policy(_role_statements(synth, props), table_id, bucket_id, exports_id)
        for name, (_, props) in _functions_by_name(synth).items()
    }


def test_every_request_of_every_function_is_allowed_by_its_role(synth: Synth, recorder: Recorder) -> None:
    rehearse(recorder)
    policies = _policies(synth)
    by_function: dict[str, list[Request]] = {}
    for request in recorder.requests:
        by_function.setdefault(request.function, []).append(request)
    # Every function ran and reached the table.
    assert set(by_function) == set(policies)
    denied = sorted(
        {
            f"{r.function}: {r.action} on {r.resource} {list(r.leading_keys)}"
            for r in recorder.requests
            if not policies[r.function].allows(r)
        }
    )
    assert denied == [], "\n".join(denied)
    # The paths that matter for the grants did run.
    actions = {(r.function, r.action, r.resource.split("/")[0]) for r in recorder.requests}
    assert ("account", "dynamodb:PutItem", "table") in actions  # a key's KEYHASH# copy
    assert ("parser", "s3:PutObjectTagging", "object") in actions  # spam / unrouted mail
    assert ("reports", "s3:GetObject", "object") in actions  # presigned downloads
    assert ("reports", "s3:PutObject", "object") in actions  # uploads
    assert ("parser", "dynamodb:Query", "index") in actions  # shared-address routing
    assert ("dispatcher", "dynamodb:UpdateItem", "table") in actions  # a due domain leased
    assert ("parser", "s3:DeleteObject", "object") in actions  # a deleted domain's payloads purged
    assert any(r.function == "scanner" and r.leading_keys[0].startswith("RATE#") for r in recorder.requests)
    whois_keys = {r.leading_keys[:1] for r in recorder.requests if r.function == "whois"}
    assert ("RATE#rdap:127.0.0.1",) in whois_keys  # the RDAP server's budget of the minute
    assert ("whois", "s3:GetObject", "object") in actions  # the shared RDAP bootstrap
    assert ("whois", "dynamodb:ConditionCheckItem", "table") in actions  # the outcome, on the domain
    assert ("whois_scheduler", "dynamodb:UpdateItem", "table") in actions  # a due WHOIS item leased
    assert any(r.function == "parser" and "UNROUTED" in r.leading_keys for r in recorder.requests)


def test_the_evaluator_denies_what_the_roles_do_not_grant(synth: Synth) -> None:
    policies = _policies(synth)
    assert not policies["reports"].allows(Request("reports", "dynamodb:PutItem", "table", ("KEYHASH#abc",)))
    assert not policies["reports"].allows(
        Request("reports", "dynamodb:BatchWriteItem", "table", ("TENANT#a#live", "ACCOUNT#a"))
    )
    assert policies["reports"].allows(Request("reports", "dynamodb:PutItem", "table", ("TENANT#a#live#X",)))
    assert not policies["meta"].allows(Request("meta", "dynamodb:GetItem", "table", ("TENANT#a#live",)))
    assert not policies["scanner"].allows(Request("scanner", "dynamodb:Query", "index/gsi1"))
    assert policies["dispatcher"].allows(Request("dispatcher", "dynamodb:Query", "index/gsi2"))
    assert not policies["reports"].allows(Request("reports", "s3:PutObject", "object/payloads/x.json.gz"))
    assert policies["reports"].allows(Request("reports", "s3:PutObject", "object/inbound/api/a/live/x"))
    assert not policies["reports"].allows(Request("reports", "s3:PutObject", "object/inbound/raw/x"))
    assert policies["parser"].allows(Request("parser", "s3:PutObjectTagging", "object/inbound/raw/x"))
    assert not policies["parser"].allows(Request("parser", "s3:PutObjectTagging", "object/payloads/x"))
    assert _like("TENANT#*", "TENANT#a#live")
    assert not _like("TENANT#*", "XTENANT#a")
    assert _like("UNROUTED", "UNROUTED")
    assert not _like("UNROUTED", "UNROUTED#QUARANTINE")


def test_source_snapshots_work_without_listing_the_bucket(synth: Synth, recorder: Recorder) -> None:
    from dmarcwatch.plans import PlanName
    from dmarcwatch.services import admin

    recorder.forbidden_misses = frozenset(
        name for name, policy in _policies(synth).items() if not policy.grants_action("s3:ListBucket")
    )
    assert "reports" in recorder.forbidden_misses
    created = admin.create_account(f"snap-{uuid.uuid4().hex}@example.com", PlanName.PRO, None, 365)
    key = created.live_key.secret
    with recorder.as_function("domains"):
        _ok(_api_call("domains", "POST", "/domains", key, {"domain": "example.com"}), 201)
    with recorder.as_function("reports"):
        _ok(_api_call("reports", "GET", "/domains/example.com/sources", key, query={"range": "7d"}))
