"""The local stack's moto patches keep DynamoDB's meaning (local/moto_transactions.py,
local/moto_responses.py)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from botocore.exceptions import ClientError
from moto.dynamodb.responses import DynamoResult

from dmarcwatch.store import db


def _update(**extra: object) -> dict[str, object]:
    return dict(
        db.table().update_item(
            Key=db.key("RATE#x", "MIN#1"),
            UpdateExpression="ADD hits :n SET #ttl = if_not_exists(#ttl, :exp)",
            ExpressionAttributeNames={"#ttl": "expires_at_epoch"},
            ExpressionAttributeValues={":n": 2, ":exp": 100, **extra.pop("values", {})},  # type: ignore[dict-item]
            ReturnValues="UPDATED_NEW",
            **extra,
        )["Attributes"]
    )


def test_counter_updates_add_keep_the_first_ttl_and_honour_conditions(aws: None) -> None:
    first = _update()
    assert (first["hits"], first["expires_at_epoch"]) == (2, 100)
    again = db.table().update_item(
        Key=db.key("RATE#x", "MIN#1"),
        UpdateExpression="ADD hits :n SET #ttl = if_not_exists(#ttl, :exp)",
        ExpressionAttributeNames={"#ttl": "expires_at_epoch"},
        ExpressionAttributeValues={":n": 3, ":exp": 999},
        ReturnValues="ALL_NEW",
    )["Attributes"]
    assert (again["hits"], again["expires_at_epoch"]) == (5, 100)
    with pytest.raises(ClientError) as refused:
        _update(ConditionExpression="attribute_not_exists(hits) OR hits < :limit", values={":limit": 5})
    assert refused.value.response["Error"]["Code"] == "ConditionalCheckFailedException"
    item = db.table().get_item(Key=db.key("RATE#x", "MIN#1"))["Item"]
    assert item["hits"] == 5


def test_a_cancelled_transaction_leaves_every_item_as_it_was(aws: None) -> None:
    db.table().put_item(Item={**db.key("A", "1"), "n": 1})
    items = [
        {
            "Update": {
                "TableName": db.table().name,
                "Key": db.to_wire(db.key("A", "1")),
                "UpdateExpression": "ADD n :one",
                "ExpressionAttributeValues": db.to_wire({":one": 1}),
            }
        },
        {
            "Put": {
                "TableName": db.table().name,
                "Item": db.to_wire(db.key("B", "1")),
                "ConditionExpression": "attribute_exists(pk)",
            }
        },
    ]
    assert db.transact(items) is False
    assert db.table().get_item(Key=db.key("A", "1"))["Item"]["n"] == 1
    assert "Item" not in db.table().get_item(Key=db.key("B", "1"))


def test_queries_read_their_partition_only_and_in_order(aws: None) -> None:
    for pk in ("P", "Q"):
        for sk in ("3", "1", "2"):
            db.table().put_item(Item=db.key(pk, sk))
    found = db.table().query(KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": "P"})
    assert [i["sk"] for i in found["Items"]] == ["1", "2", "3"]
    backwards = db.table().query(
        KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": "Q"}, ScanIndexForward=False
    )
    assert [(i["pk"], i["sk"]) for i in backwards["Items"]] == [("Q", "3"), ("Q", "2"), ("Q", "1")]


def test_the_fast_item_responses_match_motos_serializer_for_every_attribute_type(aws: None) -> None:
    """local/moto_responses.py answers item operations with its own JSON dump: the same body as moto's
    shape-driven serializer, for strings, numbers, binary, sets, lists, maps, booleans and null."""
    from moto.core.responses import ActionResult

    from dmarcwatch.local import moto_responses

    item = {
        **db.key("TYPES", "1"),
        "s": "ünïcode",
        "n": Decimal("12.5"),
        "b": b"\x00\xffbytes",
        "ss": {"a", "b"},
        "ns": {Decimal(1), Decimal(2)},
        "bs": {b"x", b"y"},
        "l": [1, "two", {"three": [b"3"]}],
        "m": {"nested": {"deeper": True}, "none": None},
        "t": True,
        "nul": None,
    }
    client = db.table().meta.client
    bodies: list[tuple[str, str, str]] = []
    fast = DynamoResult.execute_result
    assert fast is not ActionResult.execute_result, "the tests run with local/moto_responses.py applied"

    def both(self: DynamoResult, context: Any) -> Any:
        answer = fast(self, context)
        if context.operation_model.name in moto_responses.ITEM_OPERATIONS:
            slow = ActionResult.execute_result(self, context)
            bodies.append((context.operation_model.name, answer[2], slow[2]))
        return answer

    DynamoResult.execute_result = both  # type: ignore[method-assign]
    try:
        db.table().put_item(Item=item, ReturnValues="NONE")
        db.table().get_item(Key=db.key("TYPES", "1"), ReturnConsumedCapacity="TOTAL")
        db.table().query(
            KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": "TYPES"}, Limit=1
        )
        client.batch_get_item(RequestItems={db.table().name: {"Keys": [db.key("TYPES", "1")]}})
        db.table().update_item(
            Key=db.key("TYPES", "1"),
            UpdateExpression="ADD n :one",
            ExpressionAttributeValues={":one": 1},
            ReturnValues="ALL_OLD",
        )
        db.table().delete_item(Key=db.key("TYPES", "1"), ReturnValues="ALL_OLD")
    finally:
        DynamoResult.execute_result = fast  # type: ignore[method-assign]
    assert [name for name, _, _ in bodies] == [
        "PutItem",
        "GetItem",
        "Query",
        "BatchGetItem",
        "UpdateItem",
        "DeleteItem",
    ]
    for name, answer, expected in bodies:
        assert json.loads(answer) == json.loads(expected), name
    assert '"B":"AP9ieXRlcw=="' in bodies[1][1]


def _counter(**extra: Any) -> dict[str, Any]:
    values = {":n": 2, ":exp": 100, **extra.pop("values", {})}
    return dict(
        db.table()
        .update_item(
            Key=db.key("RATE#fast", "DAY#1"),
            UpdateExpression="ADD #hits :n SET #ttl = if_not_exists(#ttl, :exp)",
            ExpressionAttributeNames={"#hits": "hits", "#ttl": "expires_at_epoch", **extra.pop("names", {})},
            ExpressionAttributeValues=values,
            **extra,
        )
        .get("Attributes", {})
    )


def test_a_single_counter_update_keeps_dynamodbs_meaning_on_the_fast_path(
    aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """local/moto_transactions.py point 4: conditions, return values and validation as moto has them."""
    from moto.dynamodb import responses

    parsed: list[str] = []
    make = responses.UpdateExpressionParser.make
    monkeypatch.setattr(
        responses.UpdateExpressionParser, "make", lambda text: parsed.append(text) or make(text)
    )
    assert _counter(ReturnValues="ALL_NEW") == {
        "pk": "RATE#fast",
        "sk": "DAY#1",
        "hits": 2,
        "expires_at_epoch": 100,
    }
    # UPDATED_NEW: what changed (the TTL kept its first value, so it is not returned).
    assert _counter(ReturnValues="UPDATED_NEW", values={":exp": 999}) == {"hits": 4}
    assert _counter() == {}
    with pytest.raises(ClientError) as refused:
        _counter(
            ConditionExpression="#hits < :limit",
            values={":limit": 6},
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    assert refused.value.response["Error"]["Code"] == "ConditionalCheckFailedException"
    assert refused.value.response["Item"]["hits"] == {"N": "6"}
    assert (
        _counter(ConditionExpression="#hits < :limit", values={":limit": 7}, ReturnValues="ALL_NEW")["hits"]
        == 8
    )
    # A value the expressions do not use is DynamoDB's (and moto's) validation error, not ignored.
    with pytest.raises(ClientError) as invalid:
        _counter(values={":unused": 1})
    assert invalid.value.response["Error"]["Code"] == "ValidationException"
    # A condition on a missing item sees no attributes.
    with pytest.raises(ClientError):
        db.table().update_item(
            Key=db.key("RATE#fast", "DAY#2"),
            UpdateExpression="ADD #hits :n",
            ConditionExpression="attribute_exists(#hits)",
            ExpressionAttributeNames={"#hits": "hits"},
            ExpressionAttributeValues={":n": 1},
        )
    assert "Item" not in db.table().get_item(Key=db.key("RATE#fast", "DAY#2"))


def _gsi1(partition: str) -> list[str]:
    found = db.table().query(
        IndexName="gsi1",
        KeyConditionExpression="gsi1pk = :p",
        ExpressionAttributeValues={":p": partition},
    )["Items"]
    return sorted(str(item["sk"]) for item in found)


def test_index_queries_see_every_put_update_and_delete_of_an_indexed_item(aws: None) -> None:
    """local/moto_transactions.py keeps an index partition's items until an indexed item changes."""
    db.table().put_item(Item={**db.key("I", "1"), "gsi1pk": "A", "gsi1sk": "1"})
    db.table().put_item(Item={**db.key("I", "2"), "gsi1pk": "A", "gsi1sk": "2"})
    assert _gsi1("A") == ["1", "2"]
    moved = {"#g": "gsi1pk"}
    db.table().update_item(
        Key=db.key("I", "2"),
        UpdateExpression="SET #g = :b",
        ExpressionAttributeNames=moved,
        ExpressionAttributeValues={":b": "B"},
    )
    assert (_gsi1("A"), _gsi1("B")) == (["1"], ["2"])
    db.table().update_item(Key=db.key("I", "2"), UpdateExpression="REMOVE #g", ExpressionAttributeNames=moved)
    assert _gsi1("B") == []
    db.table().put_item(Item={**db.key("I", "1"), "gsi1pk": "B", "gsi1sk": "1"})  # replaced
    assert (_gsi1("A"), _gsi1("B")) == ([], ["1"])
    db.table().delete_item(Key=db.key("I", "1"))
    assert _gsi1("B") == []
    # Writes of items outside every index (counters, records) keep the cached partitions.
    table = next(iter(moto_table_of(db.table().name)))
    generation = table.__dict__.get("_dmarcwatch_index_generation")
    _counter()
    db.table().put_item(Item={**db.key("I", "3"), "n": 1})
    assert generation is not None
    assert table.__dict__.get("_dmarcwatch_index_generation") == generation


def moto_table_of(name: str) -> list[Any]:
    from moto.dynamodb.models import dynamodb_backends

    return [
        backend.tables[name]
        for regions in dynamodb_backends.values()
        for backend in regions.values()
        if name in backend.tables
    ]


def test_a_new_resource_after_a_reset_gets_its_own_table_object(aws: None) -> None:
    """store.db keeps one Table per resource; boto3 makes any two dynamodb resources equal, so the cache
    must tell them apart by identity, or a reset would keep the old client (and its endpoint)."""
    from dmarcwatch.store import aws as aws_clients

    before = db.table()
    assert db.table() is before
    aws_clients.resource.cache_clear()
    after = db.table()
    assert after is not before
    assert after.meta.client is aws_clients.resource("dynamodb").meta.client
