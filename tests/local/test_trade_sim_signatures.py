"""Signatures: the simulator's RSA code against the spec's vectors, the byteAuthorization parser,
and tt.requestOrder's authorization checks (11004) over HTTP."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import ClassVar

import pytest

from local.trade_sim import crypto
from tests.local.trade_helpers import (
    APP_KEY,
    APP_KEY_2,
    OFFICIAL_ORDER,
    STRANGER_KEY,
    byte_authorization,
    dumps,
    order_data,
    public_pem,
)

# trade-spec §3.4 V-R1: a published key and signature (PKCS#8, bare base64 DER).
V_R1_KEY = (
    "MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQCZSHNcFfthd/bVYexEJWOBVEjjDcXjfr1fYevuraNFfMmL"
    "PKV836BbvCiUSWHzJYEpkJ934e/j28NBEcEbPDLiGlLTd6AVwR22TkUwpLr41oQprz0HKFwhVPZ0HQCGIv0pVMA53TFSitIq"
    "iqbNLmgm5yzSNqNy1t/0X/RfqEtA6Eoxw9u/Sx57i+pBFuLlZYanlm57+b7t1khg9JHvF0ulo7DScyJ4qgrD7oQf0RIQB0rq"
    "CFIeYuYO1cfvnxb9x4DPodEyVoAM4i9YdFop9ZHt73W/icuLku/P8/G1+arzB5b7S1S3ky5/KdS8AEA9Ww5czZcdf9Jgm2S6"
    "RymjFGjzAgMBAAECggEBAIryGNgdePyWcSJmHHR9a+CdFWD0aDBa/7CJpAN8VKc1gcB8Xgp+7+6X9jTM/EQa+CVEWrmiDgF/"
    "gVPnkyNsAzff4rqcEnoFzzglZSS9/lp4od7jYa+uTy1LxgflDkeJSfEASStqrT4EZpR3kNInQfQZ1BBNxQXhb6smm+9mL6kK"
    "QJjAqBgEqtUAmNv0GnH89ZPPgZuIZeeL4cb4BhMEoa5MBnI+HDf07cN1nECQXRJlHU/iyhAPfP7RpO8O9KGDEDE36qebu0Cu"
    "4yUjWANXiqECFv93sQzONotkl3VPealvXM+jzGT7YdgHo/t3QKE8flMBo/XUzGTqi8j5AOXiaBkCgYEAylKVtjQMYgg4qMwd"
    "9Je+KZ9qL6QVHCsB2NPUt8N99oj70efsG4aGaEAadr8meNhIJ5lpoK+FXqSBIbbDS/xeOVI3XoMx/EdKLw/ZNi87G/EHYK9z"
    "7Fr3W7q8DFXe2hZ/ojFXC/aaBanjVVBK/6RfPzXfnx+vGX/t1FhcLC+yQD8CgYEAwfMtrXfH+3dW77dxXT/CTFJVs/o1K2qb"
    "epnQ6A33KMHPLBtPZZ6z5rzIO7OMSNItOTXTEoRXHmOKc5FtXGtbCvGSRByb6FgDWG3p2Bp2sZLuJBzXmLbSnEbHTNHM6uTg"
    "xNgWAh8pYpjPY8xF7BqYz2rGT47OPBmctRzDjnzjak0CgYAqkM1mk/S2+zvQZ4E14GblouBYPZEjZ/jvgUGTl9F8eL1iIAUQ"
    "lXDZpgLrULPrYLVtf101rTfF/Z4dVbIo3mOEc8OqYre1d9onpJHyUGWDL2Z59O/SniDEb7j4b2h/QZSArxi9L5if8GofnNDq"
    "j85qIg92Dthr6PpEXoKl2TMLSQKBgFzQBHHYukiqSV4ZyRQ4qMBhPkYMXFlUgObgqMoDtN06MewHfa1BjxHCEYgQWfeXLLEO"
    "At3/mrkeJWk8lLr/XOgVxkr17d34EFHG93rE3zwG9hMuAjZAdvT2IfWvCIL32GAakB2fz+ww+D3nySY9bBcGH7R+wE6eaxF4"
    "nFSZizKZAoGBAJzuaWCnVK0djfgvUsjmGUtyDvgyREcpAsXvES1pB2NLVeEUxm0uRtj6k4DhCv3rJfUwfMr0+sa9NUnXuaSR"
    "VqLYvAD8bNPKXwn7ymzQ7WioCqmZuUhLnQRppkjhfQGKLH0MnMw9Xh9FwJ9kzGNEUnTEhaaHsoaHMlLlRET32gyG"
)
V_R1_PUBLIC = (
    "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAmUhzXBX7YXf21WHsRCVjgVRI4w3F4369X2Hr7q2jRXzJizylfN+g"
    "W7wolElh8yWBKZCfd+Hv49vDQRHBGzwy4hpS03egFcEdtk5FMKS6+NaEKa89ByhcIVT2dB0AhiL9KVTAOd0xUorSKoqmzS5o"
    "Jucs0jajctbf9F/0X6hLQOhKMcPbv0see4vqQRbi5WWGp5Zue/m+7dZIYPSR7xdLpaOw0nMieKoKw+6EH9ESEAdK6ghSHmLm"
    "DtXH758W/ceAz6HRMlaADOIvWHRaKfWR7e91v4nLi5Lvz/Pxtfmq8weW+0tUt5MufynUvABAPVsOXM2XHX/SYJtkukcpoxRo"
    "8wIDAQAB"
)
V_R1_SIGNATURE = (
    "RFQ65hHlo4xyZ6EC31LZC0SzsyN0nd2Fb2wAiISvY1mkiC6G8gn2QZwLGq7qgjenRGl/Z8OrTtkBHWb9GOazkJFkHrPeRqog"
    "qnwZ+kSOxGvtou8FPN669E1wwb+BShN4pIUgPFzaukR9/rCRBsbLoq9RPVA2sbf3iKoHGa81zhXjQSuFbF1CyiWkL5qqniNT"
    "M/BSfwfLZfPW8nBanRl3U+mQaymbj0DCF0ZdWhFz1FnZPAfEpx8YEwFNZWtxzz4p3WJ1swnUocJC4LXoDazo6DhEPDuoZXOX"
    "rB1SqzL1wRqA4p8uj3Z8Seki/PMGWiGpGWPMv3tJyvWmzMOuVJtEjg=="
)
# §3.4 V-R2 [lab]: a tt.requestOrder signature with the V-R1 key.
V_R2_DATA = (
    '{"skuList":[{"skuId":"sku_001","price":100,"quantity":1,"title":"测试商品","imageList":["https'
    '://example.com/a.png"],"type":401,"tagGroupId":"tag_group_7272625659888041996"}],"outOrder'
    'No":"ORDER20240101001","totalAmount":100,"payExpireSeconds":900,"payNotifyUrl":"https://ex'
    'ample.com/douyin/notify","orderEntrySchema":{"path":"pages/order/detail","params":"{\\"id\\"'
    ':\\"ORDER20240101001\\"}"}}'
)
V_R2_SIGNATURE = (
    "WRhhnNPu5RBRHHcJHIpzTYw8wdR16nxHtla+pjn6FRWbTyOGXoOb8lvzWmN/tcWykLGTtriUU5YCz9RWYExSA/W0OjzJQM52"
    "lsFTXKU8lxeWG0trIhB1R3sF4pC8jEPO3yf5eOOvw4yPPBNwYiPOBP9F0qQZLHxrzFlDb080Epd9GfPFyj9nAYb0YzgOn78R"
    "d8AqCZ2kHN35IqbUnvK1VcsSiqp3gghgYRSF935jvsiHtXEYt0XgeGojJpPQLzewJtgn+zbVNPLZ9SgvvavAW9Tu8K78j8vf"
    "iie8oMMXkHmLcamCdm8Ql41QSKHpYUTOCi2hK8exBtqk2hPa760wvQ=="
)
# §5.6 [lab]: a callback Byte-Signature, the V-R1 key playing the platform.
V_R3_BODY = (
    '{"version":"3.0","msg":"{\\"app_id\\":\\"tt0000000000000000\\",\\"out_order_no\\":\\"ORDER2024010'
    '1001\\",\\"order_id\\":\\"motb0000000000000000000001\\",\\"status\\":\\"SUCCESS\\",\\"total_amount\\"'
    ':100,\\"discount_amount\\":0,\\"pay_channel\\":10,\\"channel_pay_id\\":\\"TP000000000000000000000'
    '1\\",\\"user_bill_pay_id\\":\\"DTPS0000000000000000000001\\",\\"merchant_uid\\":\\"700000000000000'
    '00000\\",\\"event_time\\":1700000000000}","type":"payment"}'
)
V_R3_SIGNATURE = (
    "ckJWQmgGMEZbF8y859NcPDHgieG5dj2gflCstCASahHI2S21iZ31pBO2u1qb5QAdGQmM6jl+TQs2rG/4vBc0pzk1nBsPRIrP"
    "PO924KRgD9xyv9KRRTNPde73Mv3QAY02pv3zFbGP/Yp73CDtgFzExabrhy2pdaNfi8xKWlAxdTFAsZKB0mtTKAABCz9JlZgK"
    "dAGmbySx3UwRHoST/zcBPnzzkLTXLHovdAME+qPCee/RGVrCXjR5zXeuojALGy9yz0Xlmk/skqiGMMYauN4VVlVc6Y4MkgDF"
    "nlCDVg8QOUQhNroOZZDL2MZaQ9JkQlLmpxMalF1cRT80/asdmXo2Mw=="
)


# ---------------------------------------------------------------------------- the spec's vectors


class TestVectors:
    def test_generic_five_line_rule_v_r1(self):
        message = b'POST\n/abc\n1680835692\ngjjRNfQlzoDIJtVDOfUe\n{"eventTime":1677653869000,"status":102}\n'
        assert crypto.sign(V_R1_KEY, message) == V_R1_SIGNATURE
        assert crypto.verify(V_R1_PUBLIC, message, V_R1_SIGNATURE)
        assert not crypto.verify(V_R1_PUBLIC, message.replace(b"102", b"103"), V_R1_SIGNATURE)

    def test_request_order_message_v_r2(self):
        message = crypto.request_order_message("1700000000", "abcdef1234567890", V_R2_DATA)
        assert crypto.sign(V_R1_KEY, message) == V_R2_SIGNATURE

    def test_callback_message_v_r3_and_its_reserialised_negative(self):
        raw = V_R3_BODY.encode()
        nonce = "m7cgbhrKIYu9V94xgCOEekbG9Vh7y50j"
        assert crypto.sign(V_R1_KEY, crypto.callback_message("1700000001", nonce, raw)) == V_R3_SIGNATURE
        reserialised = json.dumps(json.loads(raw)).encode()  # default separators ", " / ": "
        assert not crypto.verify(
            V_R1_PUBLIC, crypto.callback_message("1700000001", nonce, reserialised), V_R3_SIGNATURE
        )

    def test_keys_load_as_pem_or_bare_der_and_app_keys_must_be_2048_bit(self):
        assert crypto.load_private_key(V_R1_KEY).key_size == 2048
        assert crypto.load_app_public_key(V_R1_PUBLIC).key_size == 2048
        assert crypto.load_app_public_key(public_pem(APP_KEY)).key_size == 2048
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        other = rsa.generate_private_key(public_exponent=65537, key_size=3072).public_key()
        pem = other.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
        with pytest.raises(ValueError, match="RSA-2048"):
            crypto.load_app_public_key(pem)

    def test_verify_refuses_non_base64_signatures(self):
        message = b"x"
        good = crypto.sign(V_R1_KEY, message)
        assert crypto.verify(V_R1_PUBLIC, message, good)
        assert not crypto.verify(V_R1_PUBLIC, message, good.replace("=", ""))
        assert not crypto.verify(V_R1_PUBLIC, message, "!!" + good)


# ---------------------------------------------------------------------------- the parser


class TestParser:
    FIELDS: ClassVar[dict[str, str]] = {
        "appid": "tt1",
        "nonce_str": "n1",
        "timestamp": "17",
        "key_version": "2",
        "signature": "ab+/c==",
    }

    @pytest.mark.parametrize(
        "header",
        [
            "SHA256-RSA2048 appid=tt1,nonce_str=n1,timestamp=17,key_version=2,signature=ab+/c==",
            'SHA256-RSA2048 appid="tt1",nonce_str="n1",timestamp="17",key_version="2",signature="ab+/c=="',
            "SHA256-RSA2048 appid=tt1,nonce_str=n1,key_version=2,timestamp=17,signature=ab+/c==",  # OD-CSO order
            'SHA256-RSA2048 signature="ab+/c==",key_version=2,timestamp="17",nonce_str=n1,appid="tt1"',
            "SHA256-RSA2048 appid=tt1, nonce_str=n1, timestamp=17, key_version=2, signature=ab+/c==",
            'SHA256-RSA2048 appid="tt1",nonce_str=n1,timestamp=17,key_version=2,signature=ab+/c==,extra=x',
        ],
    )
    def test_quoted_and_unquoted_in_any_order(self, header):
        assert crypto.parse_byte_authorization(header) == self.FIELDS

    @pytest.mark.parametrize(
        "header",
        [
            "appid=tt1,nonce_str=n1,timestamp=17,key_version=2,signature=s",  # no scheme
            "SHA256-RSA appid=tt1,nonce_str=n1,timestamp=17,key_version=2,signature=s",
            "sha256-rsa2048 appid=tt1,nonce_str=n1,timestamp=17,key_version=2,signature=s",
            "SHA256-RSA2048 appid=tt1,nonce_str=n1,timestamp=17,key_version=2",  # no signature
            "SHA256-RSA2048 appid=tt1,appid=tt1,nonce_str=n1,timestamp=17,key_version=2,signature=s",
            'SHA256-RSA2048 appid="tt1,nonce_str=n1,timestamp=17,key_version=2,signature=s',
            "SHA256-RSA2048 appid=,nonce_str=n1,timestamp=17,key_version=2,signature=s",
            "SHA256-RSA2048 appid tt1",
        ],
    )
    def test_malformed_headers_are_refused(self, header):
        with pytest.raises(crypto.AuthorizationError):
            crypto.parse_byte_authorization(header)


# ---------------------------------------------------------------------------- tt.requestOrder (11004)


def _ok(answer):
    assert set(answer) == {"orderId", "itemOrderList", "logId"}, answer
    return answer


def _refused(answer, err_no=11004):
    assert set(answer) == {"errNo", "errMsg", "errLogId"}, answer
    assert answer["errNo"] == err_no, answer
    return answer["errMsg"]


class TestRequestOrderAuthorization:
    def test_unquoted_official_order_is_accepted(self, trade_sim):
        _, client = trade_sim
        _ok(client.request_order(order_data()))

    @pytest.mark.parametrize("quoted", [False, True])
    @pytest.mark.parametrize("order", [OFFICIAL_ORDER, ("signature", "key_version", "timestamp", "nonce_str", "appid")])
    def test_quoted_unquoted_and_any_order_are_accepted(self, trade_sim, quoted, order):
        _, client = trade_sim
        _ok(client.request_order(order_data(), quoted=quoted, order=order))

    def test_a_signature_by_another_key_is_refused(self, trade_sim):
        _, client = trade_sim
        assert "signature" in _refused(client.request_order(order_data(), key=STRANGER_KEY))

    def test_an_unregistered_key_version_is_refused(self, trade_sim):
        _, client = trade_sim
        assert "key_version" in _refused(client.request_order(order_data(), key_version="2"))

    def test_the_right_key_under_the_wrong_version_is_refused(self, make_trade_sim):
        _, client = make_trade_sim(app_public_keys={"1": public_pem(APP_KEY), "2": public_pem(APP_KEY_2)})
        _refused(client.request_order(order_data(), key=APP_KEY, key_version="2"))
        _ok(client.request_order(order_data("O2"), key=APP_KEY_2, key_version="2"))

    def test_another_appid_is_refused(self, trade_sim):
        _, client = trade_sim
        assert "appid" in _refused(client.request_order(order_data(), appid="tt0000000000000000"))

    def test_a_timestamp_older_than_one_hour_is_refused(self, trade_sim):
        _, client = trade_sim
        now = client.now()
        _ok(client.request_order(order_data("O1"), timestamp=now - 3600))
        assert "1 hour" in _refused(client.request_order(order_data("O2"), timestamp=now - 3601))

    def test_an_old_signature_is_refused_once_the_clock_moves_on(self, trade_sim):
        sim, client = trade_sim
        text = dumps(order_data())
        auth = byte_authorization(text, client.now())
        sim.advance(3601)
        _refused(client.request_order(text, auth=auth))

    def test_a_timestamp_more_than_five_minutes_ahead_is_refused(self, trade_sim):
        _, client = trade_sim
        _ok(client.request_order(order_data("O1"), timestamp=client.now() + 300))
        assert "future" in _refused(client.request_order(order_data("O2"), timestamp=client.now() + 301))

    @pytest.mark.parametrize("timestamp", ["17e8", "-1", "1750000000.5", "１７５０"])
    def test_a_timestamp_must_be_digits(self, trade_sim, timestamp):
        _, client = trade_sim
        text = dumps(order_data())
        auth = byte_authorization(text, 0).replace("timestamp=0", f"timestamp={timestamp}")
        assert "digits" in _refused(client.request_order(text, auth=auth))

    def test_tampered_data_is_refused(self, trade_sim):
        _, client = trade_sim
        text = dumps(order_data())
        auth = byte_authorization(text, client.now())
        _refused(client.request_order(text.replace('"totalAmount":100', '"totalAmount":1'), auth=auth))

    def test_reserialised_data_is_refused(self, trade_sim):
        _, client = trade_sim
        text = dumps(order_data())
        auth = byte_authorization(text, client.now())
        _refused(client.request_order(json.dumps(json.loads(text)), auth=auth))  # ", " and ": "

    def test_a_tampered_nonce_is_refused(self, trade_sim):
        _, client = trade_sim
        text = dumps(order_data())
        auth = byte_authorization(text, client.now(), nonce="abc")
        _refused(client.request_order(text, auth=auth.replace("nonce_str=abc", "nonce_str=abd")))

    def test_a_malformed_header_is_refused(self, trade_sim):
        _, client = trade_sim
        _refused(client.request_order(order_data(), auth="Bearer xyz"))

    def test_the_authorization_is_checked_before_the_data(self, trade_sim):
        _, client = trade_sim
        text = "not json"
        _refused(client.request_order(text, key=STRANGER_KEY))
        assert client.request_order(text)["errNo"] == 10000

    def test_every_answer_has_a_fresh_log_id(self, trade_sim):
        _, client = trade_sim
        ids = {client.request_order(order_data(), key=STRANGER_KEY)["errLogId"] for _ in range(3)}
        ids.add(_ok(client.request_order(order_data()))["logId"])
        assert len(ids) == 4


class TestAppKeyRotation:
    def test_a_new_key_version_can_be_uploaded_and_the_old_one_retired(self, trade_sim):
        _, client = trade_sim
        response = client.control("keys/app", {"key_version": "2", "public_key": public_pem(APP_KEY_2)})
        assert response.json() == {"key_versions": ["1", "2"]}
        _ok(client.request_order(order_data("O1"), key=APP_KEY_2, key_version="2"))
        _ok(client.request_order(order_data("O2"), key=APP_KEY, key_version="1"))
        assert client.control("keys/app", {"key_version": "1", "public_key": None}).status_code == 200
        _refused(client.request_order(order_data("O3"), key=APP_KEY, key_version="1"))
        _ok(client.request_order(order_data("O4"), key=APP_KEY_2, key_version="2"))

    def test_an_upload_must_be_an_rsa_2048_public_key(self, trade_sim):
        _, client = trade_sim
        response = client.control("keys/app", {"key_version": "2", "public_key": "not a key"})
        assert response.status_code == 400
        assert client.control("keys/app", {"key_version": "9", "public_key": None}).status_code == 404


def test_the_simulator_does_not_import_the_sdk():
    code = (
        "import sys, local.trade_sim, local.trade_sim.__main__; "
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('douyin_pay', 'layers')); "
        "assert not bad, bad"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
