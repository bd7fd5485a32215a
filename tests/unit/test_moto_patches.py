"""The local stack's moto patches keep DynamoDB's meaning (local/moto_transactions.py)."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

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
