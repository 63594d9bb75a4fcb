"""parse_callback on hostile input: whatever the body, only douyin_pay's typed errors come out, and
a correctly signed envelope is never refused for its signature.

Hostile bodies include lone surrogates (as JSON escapes, as raw str and as surrogate-escaped
bytes) and nesting past the JSON decoder's recursion limit, which first escaped as
UnicodeEncodeError / RecursionError (see test_regressions.py). Signed envelopes are valid Unicode:
the signature is over UTF-8.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import assume, event, given
from hypothesis import strategies as st

from douyin_pay import (
    DouyinPayError,
    GenericNotice,
    MalformedCallbackError,
    Notice,
    PaymentNotice,
    RefundNotice,
    SettleFinishNotice,
    SettleNotice,
    SignatureError,
    WithdrawNotice,
    callback_sign,
    parse_callback,
)
from tests.profile import FUZZ, fuzz

TOKENS = ("fuzz-token", "fuzz-previous-token")
ENVELOPE_KEYS = ("msg", "msg_signature", "nonce", "timestamp", "type")
TYPED = {
    "payment": PaymentNotice,
    "refund": RefundNotice,
    "settle": SettleNotice,
    "settle_finish": SettleFinishNotice,
    "withdraw": WithdrawNotice,
}

# Field names the notice builders read, so that fuzzed msg objects hit real code paths.
MSG_FIELDS = sorted(
    {
        # payment
        "appid",
        "cp_orderno",
        "order_id",
        "total_amount",
        "status",
        "way",
        "paid_at",
        "cp_extra",
        "channel_no",
        "channel_gateway_no",
        "payment_order_no",
        "out_channel_order_no",
        "seller_uid",
        "extra",
        "item_id",
        "message",
        "ec_pay_trade_no",
        # refund
        "cp_refundno",
        "refund_amount",
        "refund_no",
        "is_all_settled",
        "refunded_at",
        # settle
        "app_id",
        "cp_settle_no",
        "settle_amount",
        "rake",
        "commission",
        "settle_no",
        "out_order_no",
        "settle_detail",
        "settled_at",
        "channel_settle_id",
        "is_auto_settle",
        # settle_finish
        "ma_app_id",
        "out_order_id",
        "auto_settle_list",
        "settle_info",
        "merchant_uid",
        "amount",
        "settle_plat_no",
        "settle_status",
        "service_charge",
        "cps",
        "created_at",
        "settle_way",
    }
)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(-(10**30), 10**30),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
    st.sampled_from(["", "0", "1", "-1", "10", "true", "false", "SUCCESS", "FAIL", "1.5", "１２", "٣"]),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(MSG_FIELDS), st.text(max_size=8)), inner, max_size=5),
    ),
    max_leaves=20,
)
# For the unsigned, hostile bodies: text may hold lone surrogates.
lone_surrogates = st.sampled_from(["\ud800", "x\udfff", "\udc00\ud800", "\ud83d"])
hostile_values = st.recursive(
    st.one_of(scalars, st.text(st.characters(), max_size=6), lone_surrogates),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(st.characters(), max_size=6), inner)),
    max_leaves=20,
)
deep_bodies = st.sampled_from(
    [b"[" * 12_000, b'{"a":' * 12_000, b"[" * 15_000 + b"]" * 15_000, b'{"msg":' + b"[" * 12_000]
)
msg_objects = st.dictionaries(st.one_of(st.sampled_from(MSG_FIELDS), st.text(max_size=8)), json_values, max_size=12)
# A valid msg of each modelled type; the near-valid strategy overrides or deletes a few fields.
VALID_MSGS = {
    "payment": {"appid": "tt1", "cp_orderno": "o-1", "total_amount": 100, "way": "10", "paid_at": 1764072000},
    "refund": {"appid": "tt1", "cp_refundno": "r-1", "refund_amount": 100, "status": "SUCCESS"},
    "settle": {"app_id": "tt1", "cp_settle_no": "s-1", "status": "SUCCESS", "settle_amount": 100, "rake": 1},
    "settle_finish": {
        "ma_app_id": "tt1",
        "out_order_id": "o-1",
        "auto_settle_list": [{"settle_no": "S1", "settle_info": [{"merchant_uid": "m1", "amount": 100}], "cps": 0}],
    },
}
_deleted = object()


@st.composite
def near_valid(draw: st.DrawFn) -> tuple[str, dict]:
    notice_type = draw(st.sampled_from(sorted(VALID_MSGS)))
    msg = dict(VALID_MSGS[notice_type])
    changes = st.one_of(st.just(_deleted), json_values)
    overrides = draw(st.dictionaries(st.sampled_from(MSG_FIELDS), changes, max_size=3))
    for key, value in overrides.items():
        if value is _deleted:
            msg.pop(key, None)
        else:
            msg[key] = value
    return notice_type, msg


types = st.one_of(st.sampled_from(sorted(TYPED)), st.text(max_size=12))
# The platform's form: 10 digits of unix seconds (anything else is malformed before verification).
platform_timestamps = st.integers(10**9, 10**10 - 1).map(str)
tokens = st.one_of(
    st.sampled_from([TOKENS, TOKENS[0], list(TOKENS)]),
    st.lists(st.text(max_size=8), max_size=3),  # includes [] and [""]: ConfigurationError
    st.text(max_size=8),
)


def only_typed_errors(body: bytes | str, toks: object = TOKENS) -> Notice | None:
    try:
        return parse_callback(body, toks)
    except DouyinPayError:
        return None


def encode(value: object, how: str) -> bytes | str:
    text = json.dumps(value, ensure_ascii=how == "ascii")
    # "surrogatepass" writes a lone surrogate as the (invalid) UTF-8 of its code point
    return text if how == "str" else text.encode("utf-8", "surrogatepass")


encodings = st.sampled_from(["ascii", "utf8", "str"])


@FUZZ
@given(st.one_of(st.binary(max_size=300), deep_bodies), tokens)
def test_arbitrary_bytes(body, toks):
    only_typed_errors(body, toks)


@FUZZ
@given(st.one_of(st.text(max_size=300), st.text(st.characters(), max_size=50)), tokens)
def test_arbitrary_text(body, toks):
    only_typed_errors(body, toks)
    only_typed_errors(body.encode("utf-8", "surrogatepass"), toks)


@FUZZ
@given(hostile_values, encodings)
def test_arbitrary_json(value, how):
    only_typed_errors(encode(value, how))


# Mostly strings (so that bodies get past the envelope checks to verification), sometimes with
# lone surrogates, sometimes any JSON value.
field_text = st.one_of(st.text(max_size=12), lone_surrogates, hostile_values)


@FUZZ
@given(
    st.fixed_dictionaries(
        {
            "msg": st.one_of(field_text, msg_objects.map(json.dumps)),
            "msg_signature": st.one_of(field_text, st.text(st.sampled_from("0123456789abcdef"), max_size=40)),
            "nonce": field_text,
            "timestamp": st.one_of(field_text, st.integers(0, 10**12)),
            "type": st.one_of(field_text, types),
        }
    ),
    st.sets(st.sampled_from(ENVELOPE_KEYS), max_size=2),
    st.dictionaries(st.text(max_size=8), hostile_values, max_size=3),
    encodings,
    tokens,
)
def test_envelopes_with_fuzzed_fields(envelope, left_out, extra, how, toks):
    envelope = {k: val for k, val in envelope.items() if k not in left_out}
    only_typed_errors(encode({**extra, **envelope}, how), toks)


@FUZZ
@given(st.data())
def test_repeated_envelope_keys_are_malformed(data):
    key = data.draw(st.sampled_from(ENVELOPE_KEYS))
    fields = {k: "x" for k in ENVELOPE_KEYS}
    parts = [f"{json.dumps(k)}:{json.dumps(v)}" for k, v in fields.items()]
    parts.append(f"{json.dumps(key)}:{json.dumps(data.draw(st.text(max_size=5)))}")
    with pytest.raises(MalformedCallbackError):
        parse_callback("{" + ",".join(parts) + "}", TOKENS)


@fuzz(300)
@given(
    typed_msg=st.one_of(st.tuples(types, msg_objects), near_valid()),
    msg_how=st.sampled_from(["ascii", "utf8", "spaced"]),
    timestamp=st.one_of(st.text(max_size=12), st.integers(0, 10**15)),
    nonce=st.text(max_size=12),
    token=st.sampled_from(TOKENS),
    how=encodings,
)
def test_validly_signed_envelope_is_never_a_signature_error(typed_msg, msg_how, timestamp, nonce, token, how):
    notice_type, msg = typed_msg
    if msg_how == "spaced":
        msg_text = json.dumps(msg, ensure_ascii=False, indent=1)
    else:
        msg_text = json.dumps(msg, ensure_ascii=msg_how == "ascii", separators=(",", ":"))
    # A numeric timestamp is signed over its exact digits, as the platform sends it.
    signed_timestamp = str(timestamp)
    envelope = {
        "timestamp": timestamp,
        "nonce": nonce,
        "msg": msg_text,
        "type": notice_type,
        "msg_signature": callback_sign(token, signed_timestamp, nonce, msg_text),
    }
    try:
        notice = parse_callback(encode(envelope, how), TOKENS)
    except MalformedCallbackError as exc:
        event(f"malformed: {exc.field}")
        return
    event(type(notice).__name__)
    assert isinstance(notice, TYPED.get(notice_type, GenericNotice))
    assert (notice.type, notice.msg, notice.timestamp, notice.nonce) == (notice_type, msg_text, signed_timestamp, nonce)
    if notice_type not in TYPED:
        assert notice.data == msg


@fuzz(100)
@given(
    st.one_of(st.sampled_from(sorted(TYPED)), st.text(min_size=1, max_size=12)),
    msg_objects,
    platform_timestamps,
    st.text(max_size=12),
    st.text(min_size=1, max_size=12),
)
def test_wrong_token_is_a_signature_error(notice_type, msg, timestamp, nonce, wrong_token):
    msg_text = json.dumps(msg)
    signature = callback_sign(wrong_token, timestamp, nonce, msg_text)
    # Sorting before concatenating means another token can sign alike; such a token is not "wrong".
    assume(signature not in {callback_sign(t, timestamp, nonce, msg_text) for t in TOKENS})
    envelope = {"timestamp": timestamp, "nonce": nonce, "msg": msg_text, "type": notice_type}
    envelope["msg_signature"] = signature
    with pytest.raises(SignatureError):
        parse_callback(json.dumps(envelope), TOKENS)
