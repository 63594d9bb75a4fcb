"""The HTTP API handlers on hostile input, through the in-process bundle (real handlers, moto,
the Douyin simulator).

For every request: the answer is 2xx or 4xx, never 5xx; a 4xx body carries ``code`` (str),
``message`` and ``retryable`` (bool); and a 4xx wrote nothing to the table and sent nothing to SQS
(the table is compared item by item before and after each example, and the handlers' own SQS
client must not have called SendMessage).

The inputs include what first reached a 500 here (see test_regressions.py): ``null`` for required
fields, the floats 0.0 / 1.0 for the 0/1 flags, lone surrogates (as JSON escapes), JSON nested past
the decoder's recursion limit, and path parameters with characters the router does not match.
"""

from __future__ import annotations

import json
import re
import string
from typing import Any
from urllib.parse import quote, unquote

import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from douyin_pay.bundle.platforms import ecpay as ecpay_adapter
from tests.profile import fuzz

# The field sets are the service's own (tests/contracts/test_openapi.py checks them against the document); the
# required ones are spelled out: the service passes them as literals.
ORDER_FIELDS = ecpay_adapter.ORDER_FIELDS
ORDER_REQUIRED = ("out_order_no", "total_amount", "subject", "body")
REFUND_FIELDS = ecpay_adapter.REFUND_FIELDS
REFUND_REQUIRED = ("out_refund_no", "refund_amount", "reason")
SETTLE_FIELDS = ecpay_adapter.SETTLE_FIELDS
SETTLE_REQUIRED = ("out_settle_no", "settle_desc")
FLAGS = {"disable_msg", "all_settle"}
ID_FIELD = {
    "POST /payments": "out_order_no",
    "POST /payments/{out_order_no}/refunds": "out_refund_no",
    "POST /payments/{out_order_no}/settlements": "out_settle_no",
}
NOT_FOUND = {"payments": "order_not_found", "refunds": "refund_not_found", "settlements": "settlement_not_found"}

# -- values -------------------------------------------------------------------------------------

business_nos = st.one_of(
    st.from_regex(r"[0-9A-Za-z_*\-]{1,64}", fullmatch=True),
    st.sampled_from(["fz-1", "fz-2", "fz-3"]),  # repeats: replays (200) and conflicts (409)
)
amounts = st.one_of(
    st.integers(1, 3000), st.integers(40_000, 10**10), st.sampled_from([1, 49_999, 50_000, 50_001, 10**10])
)
plain_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Zs", "Zl", "Zp")), max_size=8)


def short_text(max_chars: int) -> st.SearchStrategy[str]:
    """Text that passes the API's text rules (no edge white space or quotes, not "null")."""
    return st.one_of(
        st.sampled_from(["拿铁咖啡", "Gift box", "a", "订单 结算"]),
        st.text(string.ascii_letters + string.digits + "字😀", min_size=1, max_size=max_chars),
    )


edge_values = st.one_of(
    st.booleans(),
    st.sampled_from([0, -1, 1, 2, 299, 300, 172_800, 172_801, 10**10, 10**10 + 1, 2**63, -(2**63), 10**40]),
    st.integers(),
    st.sampled_from([1.5, -0.0, 12800.0, 1e300, float("inf"), float("-inf"), float("nan")]),
    st.floats(),
    st.sampled_from(["", "null", '"x"', " x", "x ", "\u3000x", "12800", "1e6", "0", "1", "true", "LIMIT_WX"]),
    st.sampled_from(["字" * 43, "a" * 65, "r" * 101, "d" * 81, "e" * 2049, "字" * 683, "*" * 64, "bad no"]),
    st.sampled_from(["a\ud800", "\udfff", "\ud83d\ude00"]),  # lone surrogates; a valid pair for contrast
    plain_text,
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
)


def wrong(field: str) -> st.SearchStrategy[Any]:
    """Wrong types and edge values; JSON null too (absent for an optional field, missing for a
    required one); the integral floats for the 0/1 flags."""
    values = st.one_of(st.none(), edge_values)
    return st.one_of(values, st.sampled_from([0.0, 1.0, -0.0])) if field in FLAGS else values


payees = st.fixed_dictionaries(
    {"merchant_uid": st.from_regex(r"[0-9A-Za-z]{1,32}", fullmatch=True), "amount": st.integers(1, 1000)}
)
GOOD = {
    "out_order_no": business_nos,
    "out_refund_no": business_nos,
    "out_settle_no": business_nos,
    "total_amount": amounts,
    "refund_amount": amounts,
    "subject": short_text(42),
    "body": short_text(42),
    "reason": short_text(100),
    "settle_desc": short_text(80),
    "valid_time": st.integers(300, 172_800),
    "cp_extra": st.one_of(st.just(""), short_text(50)),
    "disable_msg": st.sampled_from([0, 1]),
    "all_settle": st.sampled_from([0, 1]),
    "msg_page": short_text(30),
    "store_uid": short_text(20),
    "limit_pay_way": st.sampled_from(["LIMIT_WX", "LIMIT_ALI", "LIMIT_DYZF", "LIMIT_WX,LIMIT_ALI"]),
    "expand_order_info": st.fixed_dictionaries(
        {}, optional={"original_delivery_fee": st.integers(0, 500), "actual_delivery_fee": st.integers(0, 500)}
    ),
    "settle_params": st.lists(payees, min_size=1, max_size=4, unique_by=lambda p: p["merchant_uid"]),
    # ecpay order sync's display fields (kept on the order, checked by the push's rules)
    "open_id": st.from_regex(r"_000[0-9A-Za-z_-]{1,40}", fullmatch=True),
    "image_url": st.from_regex(r"https://cdn\.example\.com/[a-z0-9]{1,20}\.png", fullmatch=True),
    "order_entry_path": st.from_regex(r"pages/[a-z]{1,10}/[a-z]{1,10}(\?id=[0-9]{1,8})?", fullmatch=True),
}


@st.composite
def mixed_bodies(draw: st.DrawFn, fields: set[str], required: tuple[str, ...]) -> dict[str, Any]:
    """Real field names with good, wrong or edge values, in three shapes: a valid body (optional
    fields present or not), a valid body with exactly one field wrong, missing or added (an
    unknown name, or ``notify_url``, which callers may not set), and every field left to chance."""
    shape = draw(st.sampled_from(["valid", "one defect", "one defect", "chaos"]))
    body: dict[str, Any] = {}
    for field in sorted(fields):
        if shape == "chaos":
            how = draw(st.sampled_from(["good", "good", "wrong", "absent"]))
        else:
            how = "good" if field in required or draw(st.booleans()) else "absent"
        if how == "good":
            body[field] = draw(GOOD[field])
        elif how == "wrong":
            body[field] = draw(wrong(field))
    if shape == "one defect":
        field = draw(st.sampled_from([*sorted(fields), "notify_url", "unknown"]))
        if field == "unknown":
            body[draw(st.text(max_size=6).filter(lambda k: k not in fields))] = draw(edge_values)
        elif field == "notify_url":
            body["notify_url"] = draw(st.one_of(st.just("https://evil.example/"), edge_values))
        elif field in required and draw(st.booleans()):
            del body[field]
        else:
            body[field] = draw(wrong(field))
    return body


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=10)),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=15,
)


def bodies(fields: set[str], required: tuple[str, ...]) -> st.SearchStrategy[Any]:
    return st.one_of(json_values, mixed_bodies(fields, required), mixed_bodies(fields, required))


raw_bodies = st.one_of(
    st.binary(max_size=40),
    st.text(max_size=40).map(str.encode),
    st.sampled_from([b"", b"{", b"[]", b"null", b"NaN", b'{"a":1,"a":2}', b"\xef\xbb\xbf{}", b"1" * 5000]),
    st.sampled_from([b"[" * 12_000, b'{"a":' * 12_000, b"[" * 20_000 + b"]" * 20_000]),  # past the decoder's limit
    st.sampled_from([b'{"subject":"\\ud800"}', b'"\\udfff"', b'{"\\ud800":1}']),  # lone surrogate escapes
)

# A path parameter as an HTTP API hands it over: decoded, so anything but "/" (another route) and
# "?" (the query string). Characters the router does not match are a 404 route_not_found.
path_chars = st.one_of(
    st.characters(codec="utf-8", exclude_characters="/?"),
    st.sampled_from(list("-._~()'!*:@,;=+&$%<> []{}|^_\"#\\`\x00")),
)
path_refs = st.one_of(
    st.from_regex(r"[0-9A-Za-z_*\-]{1,64}", fullmatch=True),
    st.text(path_chars, min_size=1, max_size=80),
    st.sampled_from(["fz-1", "fz-2", "fz-3", "a" * 65, "%20", "%2F", "null", "*"]),
)
EXISTING = {"payments": "fuzz-paid-1", "refunds": "fz-get-refund", "settlements": "fz-get-settle"}
KEY_OF = {"payments": "out_order_no", "refunds": "out_refund_no", "settlements": "out_settle_no"}


# -- the check ------------------------------------------------------------------------------------

NO_BODY = object()


def call_and_check(
    bundle,
    table,
    method: str,
    path: str,
    route: str,
    *,
    body: Any = NO_BODY,
    raw: bytes | None = None,
    query: str | None = None,
) -> tuple[int, dict]:
    before = table.before()
    bundle.calls.reset()
    if body is not NO_BODY:  # JSON null too
        try:
            raw = json.dumps(body, ensure_ascii=False).encode()
        except UnicodeEncodeError:  # a lone surrogate: only its \u escape is JSON on the wire
            raw = json.dumps(body).encode()
    status, answer = bundle.api(method, path, route=route, raw=raw, query=query)
    event(f"{status} {answer.get('code', '')}".strip())
    assert status < 500, (status, answer)
    assert 200 <= status < 300 or 400 <= status < 500, status
    if status >= 400:
        assert isinstance(answer.get("code"), str), answer
        assert isinstance(answer.get("message"), str), answer
        assert isinstance(answer.get("retryable"), bool), answer
        assert table.snapshot() == before, answer
        assert "SendMessage" not in bundle.calls.count(), answer
    else:
        table.changed()
        if method == "POST":
            assert status in (200, 201)
            assert answer[ID_FIELD[route]]
    return status, answer


# -- properties -----------------------------------------------------------------------------------


@fuzz(80, fixtures=True)
@given(bodies(ORDER_FIELDS, ORDER_REQUIRED))
def test_create_payment(bundle, table, body):
    call_and_check(bundle, table, "POST", "/payments", "POST /payments", body=body)


@fuzz(40, fixtures=True)
@given(raw_bodies, st.sampled_from(["/payments", "/payments/fz-1/refunds", "/payments/fz-1/settlements"]))
def test_create_routes_on_raw_bodies(bundle, table, raw, path):
    route = {"/payments": "POST /payments"}.get(path, f"POST /payments/{{out_order_no}}/{path.rsplit('/', 1)[-1]}")
    call_and_check(bundle, table, "POST", path, route, raw=raw)


@fuzz(50, fixtures=True)
@given(bodies(REFUND_FIELDS, REFUND_REQUIRED), st.one_of(path_refs, st.just("fz-unknown")))
def test_refund_of_an_unknown_order(bundle, table, body, order_no):
    status, _ = call_and_check(
        bundle,
        table,
        "POST",
        f"/payments/{order_no}/refunds",
        "POST /payments/{out_order_no}/refunds",
        body=body,
    )
    assert status >= 400  # nothing to refund


@fuzz(80, fixtures=True)
@given(bodies(REFUND_FIELDS, REFUND_REQUIRED), st.sampled_from(["paid", "paid", "paid", "unpaid"]))
def test_refund_of_a_paid_order(bundle, table, paid_order, unpaid_order, body, which):
    # Refunds drain the paid order: later examples meet 409 refund_exceeds_refundable too.
    order_no = paid_order if which == "paid" else unpaid_order
    status, _ = call_and_check(
        bundle, table, "POST", f"/payments/{order_no}/refunds", "POST /payments/{out_order_no}/refunds", body=body
    )
    if which == "unpaid":
        assert status >= 400


@fuzz(60, fixtures=True)
@given(bodies(SETTLE_FIELDS, SETTLE_REQUIRED), st.sampled_from(["paid", "paid", "paid", "unpaid", "unknown"]))
def test_settlement(bundle, table, paid_orders, unpaid_order, body, which):
    # Once a settlement of an order went through, the next examples use another paid order: the
    # platform refuses a second settlement while the first is processing (a 422 platform_refused
    # that is the platform's answer, not a fault of the bundle).
    order_no = {"paid": paid_orders.current, "unpaid": lambda: unpaid_order, "unknown": lambda: "fz-unknown"}[which]()
    status, _ = call_and_check(
        bundle,
        table,
        "POST",
        f"/payments/{order_no}/settlements",
        "POST /payments/{out_order_no}/settlements",
        body=body,
    )
    if status < 300:
        assert which == "paid"
        paid_orders.spend()


@pytest.fixture
def unpaid_order(bundle, table) -> str:
    """An order created on the platform and never paid (CREATED)."""
    body = {"out_order_no": "fz-unpaid", "total_amount": 100, "subject": "s", "body": "b"}
    assert bundle.create_payment(body)[0] == 201
    table.changed()
    return "fz-unpaid"


@pytest.fixture
def one_of_each(bundle, table, paid_order) -> None:
    """A paid order, a refund and a settlement of it (both PROCESSING, so refresh=true asks the
    platform)."""
    assert paid_order == EXISTING["payments"]
    refund = {"out_refund_no": EXISTING["refunds"], "refund_amount": 1, "reason": "r"}
    assert bundle.refund(paid_order, refund)[0] == 201
    assert bundle.settle(paid_order, {"out_settle_no": EXISTING["settlements"], "settle_desc": "d"})[0] == 201
    table.changed()


@fuzz(60, fixtures=True)
@given(
    st.sampled_from(
        [
            ("payments", "GET /payments/{out_order_no}"),
            ("refunds", "GET /refunds/{out_refund_no}"),
            ("settlements", "GET /settlements/{out_settle_no}"),
        ]
    ),
    st.one_of(path_refs, st.sampled_from(sorted(EXISTING.values()))),
    st.one_of(
        st.none(),
        st.sampled_from(["true", "TRUE", "1", "false", "0", "", "yes"]).map(lambda v: f"refresh={v}"),
        st.text(max_size=10).map(lambda v: "refresh=" + quote(v)),
    ),
)
def test_get_routes(bundle, table, one_of_each, what, ref, query):
    collection, route = what
    status, answer = call_and_check(bundle, table, "GET", f"/{collection}/{ref}", route, query=query)
    if status == 200:
        assert ref == EXISTING[collection]
        assert answer[KEY_OF[collection]] == ref
    elif status == 400 and answer["code"] == "invalid_query":  # a flag it does not understand: never ignored
        assert query is not None
        assert unquote(query.split("=", 1)[1]).lower() not in ("true", "1", "false", "0"), query
    elif status == 400:  # not a business number at all: refused before any table read
        assert answer["code"] == "invalid_business_no", answer
        assert not re.fullmatch(r"[0-9A-Za-z_*-]{1,64}", unquote(ref)), ref
    else:
        assert status == 404, answer
        assert answer["code"] in (NOT_FOUND[collection], "route_not_found"), answer
