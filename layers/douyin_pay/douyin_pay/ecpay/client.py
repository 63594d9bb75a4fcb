"""The ecpay v1 platform client: one method per endpoint, validated, signed, typed.

Every request body is built once, signed, serialised once, and those exact bytes are what is sent —
on the first attempt and on every retry, because for a repeated business number the platform keeps
the first request's parameters (ecpay-spec §2). Queries retry retryable failures with backoff;
mutating calls retry them too, but only by resending the identical bytes.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import requests

from .._http import (
    DEFAULT_RETRY,
    DEFAULT_TIMEOUT,
    RetryPolicy,
    SessionOwner,
    check_base_url,
    post_json_object,
    transport_errors,
)
from .._http import NO_RETRY as NO_RETRY  # re-exported: ecpay.NO_RETRY
from ..errors import ConfigurationError, PlatformError, PlatformTransportError, ValidationError
from . import validation as rules
from .request_fields import optional, order_fields, refund_fields, settle_fields
from .results import (
    CreateOrderResult,
    OrderQueryResult,
    PlatformOrderResult,
    RefundQueryResult,
    RefundResult,
    ReturnInfo,
    SettleQueryResult,
    SettleResult,
    UnsettleAmountResult,
)
from .signing import request_sign, wire_value

# The bills and the merchant's funds load with the first call that needs them: a handler that
# creates orders or queries them never does (each module is cold start it would pay).
if TYPE_CHECKING:
    from . import bills
    from .bills import BillType
    from .funds import MerchantBalance, WithdrawOrderResult, WithdrawResult

PRODUCTION_BASE_URL = "https://developer.toutiao.com"
SANDBOX_BASE_URL = "https://open-sandbox.douyin.com"
API_PREFIX = "/api/apps/ecpay/v1/"

# The retry policy, timeouts and base-URL rule are shared with the trade client (douyin_pay._http);
# their names stay importable from here, where they have always been.
_check_base_url = check_base_url


class EcpayClient(SessionOwner):
    """Client of the 担保支付 (ecpay v1) server API.

    ``app_id`` and ``salt`` come from the Douyin console; in service-provider mode pass
    ``thirdparty_id`` and the provider's secret as ``salt``. ``thirdparty_id`` is sent, never signed.
    ``base_url`` has no default on purpose: :data:`SANDBOX_BASE_URL` or :data:`PRODUCTION_BASE_URL`
    (or a simulator on loopback) is a choice to make and see, since the sandbox and production keep
    different SALTs and a silent default sent sandbox tests to real money.
    """

    def __init__(
        self,
        app_id: str,
        salt: str,
        *,
        base_url: str,
        thirdparty_id: str | None = None,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        session: requests.Session | None = None,
        retry: RetryPolicy = DEFAULT_RETRY,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not isinstance(app_id, str) or not 0 < len(app_id) <= 64:
            raise ConfigurationError("app_id must be a non-empty string of at most 64 characters")
        if not isinstance(salt, str) or not salt:
            raise ConfigurationError("salt must be a non-empty string")
        if thirdparty_id is not None and (not isinstance(thirdparty_id, str) or not 0 < len(thirdparty_id) <= 64):
            raise ConfigurationError("thirdparty_id must be a non-empty string of at most 64 characters")
        connect, read = timeout
        if not (connect > 0 and read > 0):
            raise ConfigurationError("timeouts must be positive")
        self.app_id = app_id
        self.thirdparty_id = thirdparty_id
        self.base_url = _check_base_url(base_url)
        self.timeout = (float(connect), float(read))
        self.retry = retry
        self._salt = salt
        self._owns_session = session is None
        self._session = session or requests.Session()
        self._sleep = sleep

    def __repr__(self) -> str:  # never show the SALT
        return f"EcpayClient(app_id={self.app_id!r}, base_url={self.base_url!r})"

    # -- payments -------------------------------------------------------------------------------

    def create_order(
        self,
        out_order_no: str,
        total_amount: int,
        subject: str,
        body: str,
        valid_time: int,
        **optional: Any,
    ) -> CreateOrderResult:
        """服务端预下单. Returns ``order_id`` + ``order_token`` for ``tt.pay``.

        Optional fields: ``cp_extra``, ``notify_url``, ``disable_msg``, ``msg_page``, ``store_uid``,
        ``limit_pay_way``, ``expand_order_info`` (see :func:`order_fields`).
        """
        fields = order_fields(out_order_no, total_amount, subject, body, valid_time, **optional)
        return self.submit("create_order", fields)

    def query_order(self, out_order_no: str) -> OrderQueryResult:
        """支付结果查询."""
        fields = {"out_order_no": rules.business_no("out_order_no", out_order_no)}
        return self._call("query_order", fields, OrderQueryResult.from_response, query=True)

    # -- refunds --------------------------------------------------------------------------------

    def create_refund(
        self,
        out_order_no: str,
        out_refund_no: str,
        refund_amount: int,
        reason: str,
        **optional: Any,
    ) -> RefundResult:
        """发起退款. Acceptance only: the outcome arrives by callback or :meth:`query_refund`.

        Optional fields: ``cp_extra``, ``notify_url``, ``disable_msg``, ``msg_page``, ``all_settle``,
        ``total_amount`` (the order's amount; see :func:`refund_fields`).
        """
        fields = refund_fields(out_order_no, out_refund_no, refund_amount, reason, **optional)
        return self.submit("create_refund", fields)

    def query_refund(self, out_refund_no: str) -> RefundQueryResult:
        """退款结果查询."""
        fields = {"out_refund_no": rules.business_no("out_refund_no", out_refund_no)}
        return self._call("query_refund", fields, RefundQueryResult.from_response, query=True)

    # -- settlements ----------------------------------------------------------------------------

    def settle(
        self,
        out_settle_no: str,
        out_order_no: str,
        settle_desc: str,
        **optional: Any,
    ) -> SettleResult:
        """发起结算及分账. Optional: ``settle_params`` (third-party payees only, ≤4; an empty list is
        sent as ``"[]"``), ``cp_extra``, ``notify_url``, ``finish`` (see :func:`settle_fields`)."""
        fields = settle_fields(out_settle_no, out_order_no, settle_desc, **optional)
        return self.submit("settle", fields)

    def query_settle(self, out_settle_no: str) -> SettleQueryResult:
        """结算结果查询."""
        fields = {"out_settle_no": rules.business_no("out_settle_no", out_settle_no)}
        return self._call("query_settle", fields, SettleQueryResult.from_response, query=True)

    def unsettle_amount(self, out_order_no: str, *, out_item_order_no: str | None = None) -> UnsettleAmountResult:
        """可分账余额查询."""
        fields = {
            "out_order_no": rules.business_no("out_order_no", out_order_no),
            "out_item_order_no": optional(rules.business_no, "out_item_order_no", out_item_order_no),
        }
        return self._call("unsettle_amount", fields, UnsettleAmountResult.from_response, query=True)

    def query_platform_order(self, out_order_no: str, *, query_type: int = 1) -> PlatformOrderResult:
        """Settlements of an order, including automatic ones."""
        fields = {
            "out_order_no": rules.business_no("out_order_no", out_order_no),
            "query_type": rules.integer_range("query_type", query_type, 1, 99),
        }
        return self._call("query_platform_order", fields, PlatformOrderResult.from_response, query=True)

    # -- settlement returns (分账回退) -----------------------------------------------------------

    def create_return(
        self,
        out_return_no: str,
        merchant_uid: str,
        return_amount: int,
        return_desc: str,
        *,
        settle_no: str | None = None,
        out_settle_no: str | None = None,
        cp_extra: str | None = None,
        notify_url: str | None = None,
    ) -> ReturnInfo:
        """发起退分账 from a payee of an earlier settlement, named by ``settle_no``, ``out_settle_no``
        or both (MA-RETURN asks for one of them; its documented sample sends both, and DOC-HG's
        ``CreateReturnParams`` carries both)."""
        given = rules.at_least_one((("settle_no", settle_no), ("out_settle_no", out_settle_no)))
        fields = {
            **{name: rules.business_no(name, value) for name, value in given},
            "out_return_no": rules.business_no("out_return_no", out_return_no),
            "return_desc": rules.text("return_desc", return_desc, max_chars=100),
            "merchant_uid": rules.merchant_uid("merchant_uid", merchant_uid),
            "return_amount": rules.amount("return_amount", return_amount),
            "cp_extra": optional(rules.text, "cp_extra", cp_extra, max_bytes=2048, required=False),
            "notify_url": optional(rules.https_url, "notify_url", notify_url),
        }
        return self._call("create_return", fields, ReturnInfo.from_response, query=False)

    def query_return(self, *, out_return_no: str | None = None, return_no: str | None = None) -> ReturnInfo:
        """退分账结果查询 by ``out_return_no`` and/or ``return_no``."""
        if out_return_no is None and return_no is None:
            raise ValidationError("out_return_no / return_no", "at least one must be given", code="missing_field")
        fields = {
            "out_return_no": optional(rules.business_no, "out_return_no", out_return_no),
            "return_no": optional(rules.business_no, "return_no", return_no),
        }
        return self._call("query_return", fields, ReturnInfo.from_response, query=True)

    # -- merchant balance and withdrawal (ecpay-spec §3.12; shapes and sources in funds.py) -------

    def query_merchant_balance(self, merchant_uid: str, channel_type: str) -> MerchantBalance:
        """可提现余额查询 of ``merchant_uid`` on ``channel_type`` (alipay / wx / hz / yeepay / yzt)."""
        from . import funds
        from .funds import MerchantBalance

        fields = funds.balance_fields(merchant_uid, channel_type)
        return self._call(
            "query_merchant_balance", fields, MerchantBalance.from_response, query=True, prefix=funds.SAAS_PREFIX
        )

    def merchant_withdraw(
        self,
        merchant_uid: str,
        channel_type: str,
        withdraw_amount: int,
        out_order_id: str,
        *,
        callback: str | None = None,
        cp_extra: str | None = None,
    ) -> WithdrawResult:
        """商户提现 of ``withdraw_amount`` fen; ``out_order_id`` is its business number. Acceptance
        only: the outcome comes by the ``withdraw`` callback or :meth:`query_withdraw_order`."""
        from . import funds
        from .funds import WithdrawResult

        fields = funds.withdraw_fields(
            merchant_uid, channel_type, withdraw_amount, out_order_id, callback=callback, cp_extra=cp_extra
        )
        return self._call(
            "merchant_withdraw", fields, WithdrawResult.from_response, query=False, prefix=funds.SAAS_PREFIX
        )

    def query_withdraw_order(self, merchant_uid: str, channel_type: str, out_order_id: str) -> WithdrawOrderResult:
        """提现结果查询 (SUCCESS / FAIL / PROCESSING / REEXCHANGE)."""
        from . import funds
        from .funds import WithdrawOrderResult

        fields = funds.withdraw_query_fields(merchant_uid, channel_type, out_order_id)
        return self._call(
            "query_withdraw_order", fields, WithdrawOrderResult.from_response, query=True, prefix=funds.SAAS_PREFIX
        )

    # -- bills (ecpay-spec §3.10; shapes, sources and assumptions in bills.py) --------------------

    def query_bill(
        self, start_date: str, end_date: str, seller: str, bill_type: BillType | str
    ) -> tuple[bills.BillRow, ...]:
        """The old ``GET /api/apps/bill``, parsed into typed rows of ``bill_type``."""
        from . import bills

        fields = bills.bill_fields(start_date, end_date, seller, bill_type)
        # Its ``app_id`` is "the app id or thirdparty_id bound to the merchant" (DOC-2021); it has no
        # separate thirdparty_id parameter.
        query = self.signed_query(fields, app_id=self.thirdparty_id or self.app_id, thirdparty=False)
        found = self._get_bill(bills.BILL_PATH, query, "bill")
        return bills.parse_bill(found.content, fields["bill_type"])

    def download_bills(self, merchant_id: str, bill_date: str, bill_type: str) -> bills.BillFile:
        """``GET /api/apps/bills``: the bill file as sent (its format is undocumented)."""
        from . import bills

        query = self.signed_query(bills.bills_fields(merchant_id, bill_date, bill_type))
        return self._get_bill(bills.BILLS_PATH, query, "bills")

    def download_fund_bills(
        self,
        merchant_id: str,
        bill_date: str,
        *,
        account_type: str = "ALL",
        payment_type: str = "ALL",
        trade_type: str = "ALL",
    ) -> bills.BillFile:
        """``GET /api/apps/fund/bills``: the fund bill file as sent (its format is undocumented)."""
        from . import bills

        fields = bills.fund_bills_fields(
            merchant_id, bill_date, account_type=account_type, payment_type=payment_type, trade_type=trade_type
        )
        return self._get_bill(bills.FUND_BILLS_PATH, self.signed_query(fields), "fund_bills")

    def signed_query(
        self, fields: Mapping[str, str], *, app_id: str | None = None, thirdparty: bool = True
    ) -> dict[str, str]:
        """The query parameters of a signed GET, exactly as sent: the body rule applied to the
        query values (every value but app_id / thirdparty_id / sign is signed)."""
        query = {"app_id": app_id or self.app_id, **fields}
        if thirdparty and self.thirdparty_id is not None:
            query["thirdparty_id"] = self.thirdparty_id
        query["sign"] = request_sign(query, self._salt)
        return query

    def _get_bill(self, path: str, query: Mapping[str, str], what: str) -> bills.BillFile:
        from . import bills

        url = self.base_url + path

        def attempt() -> bills.BillFile:
            with transport_errors(what):
                response = self._session.get(
                    url, params=dict(query), timeout=self.timeout, verify=True, allow_redirects=False
                )
            content_type = response.headers.get("Content-Type", "")
            return bills.bill_answer(response.status_code, response.content, content_type, what)

        return self._retrying(attempt, query=True)

    def _retrying[T](self, attempt: Callable[[], T], *, query: bool) -> T:
        attempts = self.retry.query_attempts if query else self.retry.mutation_attempts
        for number in range(attempts):
            try:
                return attempt()
            except PlatformError as exc:
                if not exc.retryable or number + 1 >= attempts:
                    raise
            self._sleep(self.retry.delay(number))
        raise AssertionError("unreachable: the loop returns or raises")

    # -- transport ------------------------------------------------------------------------------

    def submit(self, endpoint: str, fields: Mapping[str, object]) -> Any:
        """Send fields already built by :func:`order_fields`, :func:`refund_fields` or
        :func:`settle_fields` (the bundle validates and records a request before sending it)."""
        parse, query = _ENDPOINTS[endpoint]
        return self._call(endpoint, fields, parse, query=query)

    def build_body(self, fields: Mapping[str, object]) -> dict[str, object]:
        """The signed JSON body for ``fields`` (unset fields left out), exactly as it is sent."""
        body: dict[str, object] = {"app_id": self.app_id}
        if self.thirdparty_id is not None:
            body["thirdparty_id"] = self.thirdparty_id
        body.update({k: wire_value(k, value) for k, value in fields.items() if value is not None})
        body["sign"] = request_sign(body, self._salt)
        return body

    def _call[T](
        self,
        endpoint: str,
        fields: Mapping[str, object],
        parse: Callable[[Mapping[str, Any]], T],
        *,
        query: bool,
        prefix: str = API_PREFIX,
    ) -> T:
        data = json.dumps(self.build_body(fields), ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        return self._retrying(lambda: parse(self._post(prefix + endpoint, endpoint, data)), query=query)

    def _post(self, path: str, endpoint: str, data: bytes) -> Mapping[str, Any]:
        status, payload = post_json_object(self._session, self.base_url + path, data, self.timeout, endpoint)
        err_no = payload.get("err_no")
        if isinstance(err_no, bool) or not isinstance(err_no, int):
            raise PlatformTransportError(f"{endpoint}: response has no err_no", http_status=status)
        if err_no != 0:
            tips = payload.get("err_tips")
            raise PlatformError(err_no, tips if isinstance(tips, str) else "", http_status=status)
        return payload


_ENDPOINTS: dict[str, tuple[Callable[[Mapping[str, Any]], Any], bool]] = {
    "create_order": (CreateOrderResult.from_response, False),
    "create_refund": (RefundResult.from_response, False),
    "settle": (SettleResult.from_response, False),
}
