"""local/capacity.py's meter over more than one table: what it bills, where, and what it leaves out
(the bench meters the Powertools baseline's idempotency table and its copy of the payments table
through one client)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from local.capacity import KB, CapacityMeter

INDEXED, PLAIN, OTHER = "indexed", "plain", "other"


@pytest.fixture
def clients(mocked_aws: None) -> Iterator[tuple[Any, Any]]:
    boto3 = pytest.importorskip("boto3")
    admin = boto3.client("dynamodb", region_name="us-east-1")
    for table, keys in ((INDEXED, ("pk", "sk")), (PLAIN, ("id",)), (OTHER, ("id",))):
        admin.create_table(
            TableName=table,
            AttributeDefinitions=[{"AttributeName": k, "AttributeType": "S"} for k in keys],
            KeySchema=[{"AttributeName": k, "KeyType": t} for k, t in zip(keys, ("HASH", "RANGE"), strict=False)],
            BillingMode="PAY_PER_REQUEST",
        )
    client = boto3.client("dynamodb", region_name="us-east-1")
    yield admin, client
    client.close()
    admin.close()


@pytest.fixture
def meter(clients: tuple[Any, Any]) -> CapacityMeter:
    admin, client = clients
    return CapacityMeter(admin, {INDEXED: ("due_at",), PLAIN: ()}).install(client)


def test_a_put_on_a_table_without_an_index_writes_no_index(clients, meter):
    _, client = clients
    client.put_item(TableName=PLAIN, Item={"id": {"S": "k1"}, "due_at": {"N": "5"}})
    assert meter.totals() == {"table_wru": 1, "index_wru": 0, "rru": 0}


def test_a_transaction_across_tables_bills_each_action_twice_and_the_index_where_its_key_appears(clients, meter):
    _, client = clients
    client.transact_write_items(
        TransactItems=[
            {"Put": {"TableName": PLAIN, "Item": {"id": {"S": "k1"}, "due_at": {"N": "5"}}}},
            {"Put": {"TableName": INDEXED, "Item": {"pk": {"S": "a"}, "sk": {"S": "b"}, "due_at": {"N": "5"}}}},
        ]
    )
    assert meter.totals() == {"table_wru": 4, "index_wru": 1, "rru": 0}


def test_a_failed_conditional_write_bills_the_item_it_found(clients, meter):
    _, client = clients
    big = {"id": {"S": "k1"}, "body": {"S": "x" * (KB + 100)}}  # over 1 KB: 2 units
    client.put_item(TableName=PLAIN, Item=big)
    meter.reset()
    with pytest.raises(client.exceptions.ConditionalCheckFailedException):
        client.put_item(TableName=PLAIN, Item={"id": {"S": "k1"}}, ConditionExpression="attribute_not_exists(id)")
    assert meter.totals() == {"table_wru": 2, "index_wru": 0, "rru": 0}


def test_an_index_key_that_moves_is_a_delete_and_a_put(clients, meter):
    _, client = clients
    key = {"pk": {"S": "a"}, "sk": {"S": "b"}}
    client.put_item(TableName=INDEXED, Item={**key, "due_at": {"N": "5"}})
    client.update_item(
        TableName=INDEXED, Key=key, UpdateExpression="SET due_at = :d", ExpressionAttributeValues={":d": {"N": "9"}}
    )
    client.update_item(TableName=INDEXED, Key=key, UpdateExpression="REMOVE due_at")
    assert meter.totals() == {"table_wru": 3, "index_wru": 1 + 2 + 1, "rru": 0}


def test_calls_on_a_table_it_does_not_meter_bill_nothing(clients, meter):
    admin, client = clients
    client.put_item(TableName=OTHER, Item={"id": {"S": "k1"}})
    client.get_item(TableName=OTHER, Key={"id": {"S": "k1"}}, ConsistentRead=True)
    assert meter.totals() == {"table_wru": 0, "index_wru": 0, "rru": 0}
    client.get_item(TableName=PLAIN, Key={"id": {"S": "absent"}}, ConsistentRead=True)
    assert meter.totals()["rru"] == 1  # a read of a metered table bills a unit, found or not
    admin.get_item(TableName=PLAIN, Key={"id": {"S": "absent"}})  # another client: not metered
    assert meter.totals()["rru"] == 1
