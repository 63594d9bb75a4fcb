"""Properties of request_sign (MD5 + SALT) and callback_sign (SHA1 + token).

The expected behaviour is restated here independently of the implementation: a value's *effective
rendering* is its text (plain digits for an int), trimmed with Go's white-space set, stripped of one
pair of surrounding double quotes and trimmed again; ``""`` and ``"null"`` are dropped. The
signature depends only on the salt and the multiset of effective renderings of the signed keys.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from douyin_pay import UNSIGNED_KEYS, UnsignableValueError, callback_sign, request_sign
from tests.profile import FUZZ

# Go's unicode.IsSpace, spelled independently of douyin_pay.signing: the Latin-1 spaces
# ('\t', '\n', '\v', '\f', '\r', ' ', U+0085, U+00A0) plus Unicode's White_Space property.
GO_SPACE = frozenset(
    "\t\n\v\f\r \x85\xa0\u1680" + "".join(chr(c) for c in range(0x2000, 0x200B)) + "\u2028\u2029\u202f\u205f\u3000"
)
NOT_GO_SPACE = "\x1c\x1d\x1e\x1f\u200b\ufeff"  # Python's str.strip() removes the first four; Go does not

MD5_HEX = re.compile(r"[0-9a-f]{32}")
SHA1_HEX = re.compile(r"[0-9a-f]{40}")


def effective(value: str | int) -> str | None:
    """The rendering that is signed, or None when the value is left out of the signature."""
    text = str(value)
    text = _trim(text)
    if len(text) > 1 and text[0] == '"' and text[-1] == '"':
        text = text[1:-1]
    text = _trim(text)
    return None if text in ("", "null") else text


def _trim(text: str) -> str:
    start, end = 0, len(text)
    while start < end and text[start] in GO_SPACE:
        start += 1
    while end > start and text[end - 1] in GO_SPACE:
        end -= 1
    return text[start:end]


# -- strategies ---------------------------------------------------------------------------------
# All text is valid Unicode (no lone surrogates: they cannot be UTF-8 encoded and are a separate
# finding, see test_known_bugs.py).

# Text with the characters that matter here over-represented: Go/non-Go white space, quotes,
# "null", the separator "&", CJK and emoji (sort order by code point).
_tricky_chars = st.sampled_from(sorted(GO_SPACE) + list(NOT_GO_SPACE) + ['"', "&", "n", "u", "l", "字", "😀", "0"])
texts = st.one_of(
    st.text(),
    st.text(st.one_of(_tricky_chars, st.characters(codec="utf-8")), max_size=12),
    st.sampled_from(["", "null", '""', '"null"', " null ", '" "', '"', "0", " 0 ", "-0", "1e+06"]),
)
ints = st.one_of(st.integers(), st.integers(min_value=-(10**40), max_value=10**40), st.sampled_from([0, -1, 10**10]))
values = st.one_of(texts, ints)
signed_keys = st.text(max_size=10).filter(lambda k: k not in UNSIGNED_KEYS)
params = st.dictionaries(st.one_of(signed_keys, st.sampled_from(sorted(UNSIGNED_KEYS))), values, max_size=8)
salts = st.text(min_size=1, max_size=20)

# For "a change is always visible": values without "&", so that the joined string determines the
# multiset it was joined from (with "&" inside values, two different multisets can join alike).
amp_free_texts = st.text(st.characters(codec="utf-8", exclude_characters="&"), max_size=16)
amp_free_values = st.one_of(amp_free_texts, ints)
amp_free_params = st.dictionaries(signed_keys, amp_free_values, max_size=8)
amp_free_salts = st.text(st.characters(codec="utf-8", exclude_characters="&"), min_size=1, max_size=20)

anything = st.one_of(
    st.none(),
    st.booleans(),
    st.floats(allow_nan=True),
    texts,
    ints,
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=4), st.integers(), max_size=3),
)
unsignable = st.one_of(
    st.none(),
    st.booleans(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(10**15), 10**15).map(float),  # integral floats too: 1.0 is not 1
)


# -- request_sign -------------------------------------------------------------------------------


@FUZZ
@given(params, salts)
def test_request_sign_is_32_lowercase_hex(p, salt):
    assert MD5_HEX.fullmatch(request_sign(p, salt))


@FUZZ
@given(params, salts, st.data())
def test_key_order_never_matters(p, salt, data):
    items = data.draw(st.permutations(list(p.items())))
    assert request_sign(dict(items), salt) == request_sign(p, salt)


@FUZZ
@given(
    params,
    salts,
    st.dictionaries(st.sampled_from(sorted(UNSIGNED_KEYS)), anything),
    st.sets(st.sampled_from(sorted(UNSIGNED_KEYS))),
)
def test_unsigned_keys_never_matter(p, salt, changes, removals):
    # Adding, changing (to anything at all, even a float: they are never rendered) or removing
    # app_id / thirdparty_id / sign / other_settle_params leaves the signature as it was.
    changed = {k: v for k, v in p.items() if k not in removals} | changes
    assert request_sign(changed, salt) == request_sign(p, salt)


@FUZZ
@given(amp_free_params, amp_free_salts, st.data())
def test_changing_a_signed_value_to_another_rendering_changes_the_signature(p, salt, data):
    # Either change an existing signed key or add a new one (a new key whose value is dropped from
    # the signature is "no change" and is filtered out below).
    key = data.draw(st.one_of(st.sampled_from(sorted(p)), signed_keys) if p else signed_keys, label="key")
    new = data.draw(amp_free_values, label="new value")
    old = effective(p[key]) if key in p else None
    assume(effective(new) != old)
    assert request_sign({**p, key: new}, salt) != request_sign(p, salt)


@FUZZ
@given(amp_free_params, amp_free_salts, st.data())
def test_removing_a_signed_value_that_renders_changes_the_signature(p, salt, data):
    assume(any(effective(v) is not None for v in p.values()))
    key = data.draw(st.sampled_from(sorted(k for k, v in p.items() if effective(v) is not None)))
    assert request_sign({k: v for k, v in p.items() if k != key}, salt) != request_sign(p, salt)


@FUZZ
@given(params, salts, st.data())
def test_changes_that_render_alike_do_not_change_the_signature(p, salt, data):
    # The legitimate "no change" cases: padding with Go white space, one pair of quotes, "" vs
    # "null" vs leaving the key out, an int vs its digits, and swapping two keys' values.
    assume(p)
    key = data.draw(st.sampled_from(sorted(p)), label="key")
    value = p[key]
    pad = st.text(st.sampled_from(sorted(GO_SPACE)), max_size=3)
    how = data.draw(st.sampled_from(["pad", "quote", "drop", "digits", "swap"]), label="how")
    if how == "pad":
        alike = data.draw(pad) + str(value) + data.draw(pad)
        if effective(value) is not None and '"' not in str(value):
            alike = data.draw(pad) + '"' + alike + '"' + data.draw(pad)
    elif how == "quote":
        text = str(value)
        assume(_trim(text) == text and not (len(text) > 1 and text[0] == text[-1] == '"'))
        alike = '"' + text + '"'
    elif how == "drop":
        assume(effective(value) is None or key in UNSIGNED_KEYS)
        alike = data.draw(st.sampled_from(["", "null", '""', '"null"', " \t", '" null "', None]))
    elif how == "digits":
        assume(isinstance(value, int))
        alike = str(value)
    else:
        # Swap within the signed keys (or within the unsigned ones): a multiset permutation.
        same_side = sorted(k for k in p if (k in UNSIGNED_KEYS) == (key in UNSIGNED_KEYS))
        other = data.draw(st.sampled_from(same_side), label="other key")
        changed = {**p, key: p[other], other: value}
        assert request_sign(changed, salt) == request_sign(p, salt)
        return
    changed = {k: v for k, v in p.items() if k != key} if alike is None else {**p, key: alike}
    assert request_sign(changed, salt) == request_sign(p, salt)


@FUZZ
@given(st.text(st.sampled_from(NOT_GO_SPACE), min_size=1, max_size=2), st.text(min_size=1, max_size=8), salts)
def test_white_space_go_keeps_is_signed(pad, value, salt):
    # Python's str.strip() would drop U+001C..U+001F; Go's TrimSpace keeps them, and so must we.
    assume(effective(value) is not None and effective(pad + value) != effective(value))
    assert request_sign({"k": pad + value}, salt) != request_sign({"k": value}, salt)


@FUZZ
@given(params, salts, signed_keys, unsignable)
def test_floats_bools_and_none_are_refused(p, salt, key, bad):
    with pytest.raises(UnsignableValueError) as raised:
        request_sign({**p, key: bad}, salt)
    assert isinstance(raised.value, TypeError)
    assert raised.value.key == key


# -- callback_sign ------------------------------------------------------------------------------


@FUZZ
@given(st.lists(st.text(max_size=16), min_size=4, max_size=4), st.data())
def test_callback_sign_is_symmetric_and_40_lowercase_hex(parts, data):
    signature = callback_sign(*parts)
    assert SHA1_HEX.fullmatch(signature)
    assert callback_sign(*data.draw(st.permutations(parts))) == signature
