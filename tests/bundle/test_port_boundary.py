"""The platform port holds: every protocol fact the bundle uses lives in the SDK (douyin_pay.ecpay,
douyin_pay.trade) or in that protocol's adapter (bundle/platforms/ecpay.py, trade.py), nowhere else
in the bundle or the handlers — and one adapter does not use the other protocol's facts (a word
both protocols use, like SUCCESS, is each adapter's own).

Checked on the code itself (imports and literal constants, not comments or docstrings), so a new
module that reaches past the port fails here, not in a review.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from douyin_pay.bundle.platforms import ecpay as ecpay_adapter
from douyin_pay.bundle.platforms import trade as trade_adapter
from douyin_pay.bundle.states import STATUSES

REPO = Path(__file__).resolve().parents[2]
BUNDLE = REPO / "layers" / "douyin_pay" / "douyin_pay" / "bundle"
ADAPTER = BUNDLE / "platforms" / "ecpay.py"
SYNC_ADAPTER = BUNDLE / "platforms" / "ecpay_sync.py"  # ecpay's order sync: the same adapter, its own module
TRADE_ADAPTER = BUNDLE / "platforms" / "trade.py"
# Each protocol's traits (what a read and the callback's routing need without the adapter): the
# same adapter's facts, in a module light enough for those paths.
ECPAY_TRAITS = BUNDLE / "platforms" / "ecpay_traits.py"
TRADE_TRAITS = BUNDLE / "platforms" / "trade_traits.py"

# The API contract's own field names (request and view): they are the bundle's, whatever protocol.
API_FIELDS = {
    "out_order_no",
    "out_refund_no",
    "out_settle_no",
    "total_amount",
    "subject",
    "body",
    "valid_time",
    "cp_extra",
    "refund_amount",
    "reason",
    "settle_desc",
    "settle_params",
    "currency",  # an order's unit: fen (CNY) or diamonds (trade system, iOS)
    "merchant_uid",  # a payee of settle_params, in both protocols
    # Both protocols' orders take these (the trade system's request, ecpay's order sync).
    "open_id",
    "image_url",
    "order_entry_path",
}
OUR_STATUSES = {s.value for statuses in STATUSES.values() for s in statuses}


def ecpay_facts() -> set[object]:
    """What only ecpay knows: its endpoints, error numbers, status words, request-only fields,
    callback envelope fields and secret keys."""
    request_fields = ecpay_adapter.ORDER_FIELDS | ecpay_adapter.REFUND_FIELDS | ecpay_adapter.SETTLE_FIELDS
    status_words = {word for table in ecpay_adapter._STATUS.values() for word in table}
    numbers = {n for numbers in ecpay_adapter.NOT_FOUND.values() for n in numbers} | {ecpay_adapter.RATE_LIMITED}
    return (
        set(ecpay_adapter.ENDPOINTS.values())
        | numbers
        | (status_words - OUR_STATUSES)
        | (request_fields - API_FIELDS)
        | {"msg_signature", "cp_orderno", "cp_refundno", "cp_settle_no", "salt", "tokens"}
    )


def trade_facts() -> set[object]:
    """What only the trade system knows: its status words, request-only fields, error numbers,
    header and secret keys."""
    request_fields = trade_adapter.ORDER_FIELDS | trade_adapter.REFUND_FIELDS | trade_adapter.SETTLE_FIELDS
    status_words = {
        word
        for table in (trade_adapter._ORDER_STATUS, trade_adapter._REFUND_STATUS, trade_adapter._SETTLE_STATUS)
        for word in table
    }
    return (
        set(trade_adapter.ORDER_NOT_FOUND | trade_adapter.RATE_LIMITED)
        | (status_words - OUR_STATUSES)
        | (request_fields - API_FIELDS)
        | {"byte-signature", "client_secret", "private_key", "key_version", "platform_public_keys"}
    )


# Each adapter, its facts, and the SDK package only it may import.
PROTOCOLS = {
    "ecpay": ((ADAPTER, SYNC_ADAPTER, ECPAY_TRAITS), ecpay_facts),
    "trade": ((TRADE_ADAPTER, TRADE_TRAITS), trade_facts),
}


def product_modules() -> Iterator[Path]:
    yield from sorted(BUNDLE.rglob("*.py"))
    yield from sorted((REPO / "functions").glob("*/app.py"))


def constants(tree: ast.AST) -> Iterator[tuple[int, object]]:
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and id(node) not in docstrings and not isinstance(node.value, bool):
            yield node.lineno, node.value


def imported_modules(path: Path, tree: ast.AST) -> Iterator[tuple[int, str]]:
    package = path.relative_to(REPO / "layers" / "douyin_pay").parent.parts if BUNDLE in path.parents else ()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = list(package[: len(package) - node.level + 1]) if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            for alias in node.names:
                yield node.lineno, f"{module}.{alias.name}"


@pytest.mark.parametrize("path", list(product_modules()), ids=lambda p: str(p.relative_to(REPO)))
@pytest.mark.parametrize("protocol", sorted(PROTOCOLS))
def test_no_protocol_fact_outside_its_adapter(protocol, path):
    adapter, facts_of = PROTOCOLS[protocol]
    if path in adapter:
        return
    tree = ast.parse(path.read_text(encoding="utf-8"))
    facts = facts_of()
    own = next((f() for a, f in PROTOCOLS.values() if path in a), set())  # another adapter's own words
    leaks = [f"line {line}: {value!r}" for line, value in constants(tree) if value in facts and value not in own]
    reaches = [
        f"line {line}: imports {name}"
        for line, name in imported_modules(path, tree)
        if name.startswith(f"douyin_pay.{protocol}")
        or (protocol == "ecpay" and name in {"douyin_pay.parse_callback", "douyin_pay.EcpayClient"})
    ]
    assert leaks + reaches == []


def test_the_check_sees_a_leak():
    # The checker itself: a module that names an ecpay endpoint and imports the SDK is caught.
    leaky = BUNDLE / "leaky_example.py"
    source = 'from ..ecpay.client import EcpayClient\nENDPOINT = "create_refund"\nNOT_FOUND = 3101\n'
    tree = ast.parse(source)
    assert {value for _, value in constants(tree)} & ecpay_facts() == {"create_refund", 3101}
    assert "douyin_pay.ecpay.client.EcpayClient" in {name for _, name in imported_modules(leaky, tree)}


def test_the_adapter_is_where_the_facts_are():
    # Guards the guard: if the facts moved out of the adapter, the list above would go empty.
    tree = ast.parse(ADAPTER.read_text(encoding="utf-8"))
    assert {"create_order", 2000, 3101, 1001, "TIMEOUT", "disable_msg"} <= {v for _, v in constants(tree)}


def test_the_trade_adapter_is_where_its_facts_are():
    found = {v for path in (TRADE_ADAPTER, TRADE_TRAITS) for _, v in constants(ast.parse(path.read_text("utf-8")))}
    assert {20000, "PROCESS", "byte-signature", "tag_group_id", "private_key"} <= found
