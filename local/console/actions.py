"""What the console's buttons do, server-side: the buyer, the backend creating orders, the clock
and the simulators' fault switches.

The buyer is played the way the simulators document it:

* ecpay (担保支付): ``DouyinSimulator.pay(out_order_no, way)`` is tt.pay succeeding, with the
  ``way`` of ecpay's payment callback (1 WeChat, 2 Alipay, 10 Douyin Pay; ecpay-spec §6.1);
  ``cancel`` is the user closing the cashier (nothing is notified, the order expires later).
* trade (通用交易系统): tt.requestOrder with the order's pay_params, then tt.getOrderPayment with the
  orderId it answered — outcome "pay" with a ``pay_channel`` (1, 2, 10; 20 pays a DIAMOND order),
  or "cancel" (a CANCEL / USER_CANCEL callback; trade-spec §5). The bundle signs pay_params only
  when asked (a read shows none: the signature ages), so the console has the bundle's own trade
  adapter sign them, as the create answer does.

Expiry is simulated time passing: the clock both platforms and the bundle read moves past the
order's pay window (the bundle's ``pay_window`` for its protocol, and for a trade order the
platform's own ``expire_at``, which starts at tt.requestOrder).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import requests

from douyin_pay.bundle.platforms import PaymentProtocol, pay_window, protocol_of
from douyin_pay.bundle.states import Kind
from douyin_pay.bundle.store import object_key

if TYPE_CHECKING:
    from local.stack import LocalStack

# The fault switches the console may flip, per simulator (both configs name them alike).
SWITCHES = ("drop", "delays", "duplicates", "rate_limits")
ECPAY_WAYS = (1, 2, 10)  # ecpay-spec §6.1: 1 WeChat, 2 Alipay, 10 Douyin Pay
EXPIRY_MARGIN = 5  # simulated seconds past the deadline, so both sides see the order expired


class ActionError(Exception):
    """A refused action: ``status`` is the HTTP status the console answers with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class Actions:
    def __init__(self, stack: LocalStack) -> None:
        self._stack = stack
        self._http = requests.Session()
        self._http.trust_env = False  # loopback only: never through a proxy

    def close(self) -> None:
        self._http.close()

    # -- reading --------------------------------------------------------------------------------

    def order_item(self, out_order_no: str) -> dict[str, Any]:
        from douyin_pay.bundle.store import from_item

        stack = self._stack
        got = stack._client("dynamodb").get_item(
            TableName=stack.resources.table_name, Key=object_key(Kind.ORDER, out_order_no), ConsistentRead=True
        )
        item = from_item(got.get("Item"))
        if item is None:
            raise ActionError(404, f"no order {out_order_no!r} in the table")
        return item

    def stack_info(self) -> dict[str, Any]:
        """The stack's protocol and URLs, and the fields a create request of its protocol needs
        besides out_order_no, total_amount and subject (the ones ``make demo`` sends)."""
        from local.demo import SYNC_FIELDS, TRADE_ORDER

        stack = self._stack
        if stack.config.protocol == "trade":
            template = {k: v for k, v in TRADE_ORDER.items() if k not in ("out_order_no", "total_amount", "subject")}
        else:
            template = {"body": "拿铁 大杯", **SYNC_FIELDS}
        return {
            "protocol": stack.config.protocol,
            "api_url": stack.api.url,
            "ecpay_simulator": stack.sim.base_url,
            "trade_simulator": stack.trade_sim.base_url,
            "order_template": template,
        }

    # -- the backend ----------------------------------------------------------------------------

    def create_order(self, body: Mapping[str, Any]) -> tuple[int, Any]:
        """POST /payments through the stack's API gateway, as a backend would; its answer as is."""
        answer = self._http.post(f"{self._stack.api.url}/payments", json=dict(body), timeout=30)
        try:
            return answer.status_code, answer.json()
        except ValueError:
            return answer.status_code, {"body": answer.text[:400]}

    # -- the buyer ------------------------------------------------------------------------------

    def pay(self, out_order_no: str, channel: Any) -> dict[str, Any]:
        item = self.order_item(out_order_no)
        if protocol_of(item.get("protocol")).value == "trade":
            return self._trade_cashier(item, "pay", channel)
        if type(channel) is not int or channel not in ECPAY_WAYS:
            raise ActionError(400, f"an ecpay way is one of {ECPAY_WAYS}")
        return self._sim_call(lambda: self._stack.sim.pay(out_order_no, way=channel))

    def cancel(self, out_order_no: str) -> dict[str, Any]:
        item = self.order_item(out_order_no)
        if protocol_of(item.get("protocol")).value == "trade":
            return self._trade_cashier(item, "cancel", None)
        return self._sim_call(lambda: self._stack.sim.cancel(out_order_no))

    def expire(self, out_order_no: str) -> dict[str, Any]:
        item = self.order_item(out_order_no)
        window = pay_window(item, default=int(item.get("valid_time", 0)))
        deadline = int(item["created_at"]) + window
        if protocol_of(item.get("protocol")).value == "trade":
            platform_order = self._stack.trade_sim.state()["orders"].get(out_order_no)
            if platform_order:
                deadline = max(deadline, platform_order["expire_at"] / 1000)  # milliseconds (trade-spec §4.3)
        seconds = max(0.0, deadline - self._stack.sim.clock.now()) + EXPIRY_MARGIN
        self._stack.advance(seconds)
        return {"advanced": seconds, "now": self._stack.sim.clock.now()}

    def advance(self, seconds: Any) -> dict[str, Any]:
        if type(seconds) not in (int, float) or not 0 < seconds <= 400 * 86400:
            raise ActionError(400, "seconds must be a number between 0 and 400 days")
        self._stack.advance(seconds)
        return {"now": self._stack.sim.clock.now()}

    def _trade_cashier(self, item: Mapping[str, Any], outcome: str, channel: Any) -> dict[str, Any]:
        sim = self._stack.trade_sim
        no = item["out_order_no"]
        existing = sim.state()["orders"].get(no)
        order_id = existing["order_id"] if existing else self._request_order(item)
        return self._sim_call(lambda: sim.get_order_payment(order_id, outcome, channel))

    def _request_order(self, item: Mapping[str, Any]) -> str:
        """tt.requestOrder with the pay_params the bundle gives the front end for this order."""
        params = self._pay_params(item)
        opened = self._sim_call(
            lambda: self._stack.trade_sim.request_order(params["data"], params["byteAuthorization"])
        )
        if "orderId" not in opened:
            raise ActionError(409, f"tt.requestOrder refused the order: {opened}")
        return opened["orderId"]

    @staticmethod
    def _pay_params(item: Mapping[str, Any]) -> dict[str, Any]:
        """What the bundle's create answer carries as pay_params, signed now by the bundle's own
        adapter (the stack runs the functions in this process, on this process's settings): a read
        shows none, because the signature ages (trade-spec §3.3)."""
        from douyin_pay.bundle import runtime

        params = runtime.platforms(1).get(PaymentProtocol.TRADE).pay_params(item)
        if not params:
            raise ActionError(409, f"order {item['out_order_no']!r} is {item.get('status')}: nothing to pay")
        return params

    @staticmethod
    def _sim_call(call: Any) -> dict[str, Any]:
        from local.douyin_sim.platform import ControlError as EcpayControlError
        from local.trade_sim.records import ControlError as TradeControlError

        try:
            return call()
        except (EcpayControlError, TradeControlError) as exc:
            raise ActionError(exc.status, exc.message) from None

    # -- fault switches -------------------------------------------------------------------------

    def simulator(self, protocol: Any) -> Any:
        if protocol == "ecpay":
            return self._stack.sim
        if protocol == "trade":
            return self._stack.trade_sim
        raise ActionError(400, 'protocol must be "ecpay" or "trade"')

    def switches(self) -> dict[str, Any]:
        """The current fault switches and what each may be set to."""
        from local.douyin_sim.config import ENDPOINTS as ECPAY_ENDPOINTS
        from local.douyin_sim.config import NOTICE_TYPES as ECPAY_NOTICES
        from local.trade_sim.config import ENDPOINTS as TRADE_ENDPOINTS
        from local.trade_sim.config import NOTICE_TYPES as TRADE_NOTICES

        out = {}
        for protocol, notices, endpoints in (
            ("ecpay", ECPAY_NOTICES, ECPAY_ENDPOINTS),
            ("trade", TRADE_NOTICES, TRADE_ENDPOINTS),
        ):
            config = self.simulator(protocol).config
            out[protocol] = {
                "drop": "all" if config.drop == "all" else sorted(config.drop),
                "delays": dict(config.delays),
                "duplicates": config.duplicates,
                "rate_limits": dict(config.rate_limits),
                "notice_types": list(notices),
                "endpoints": list(endpoints),
            }
        return out

    def configure(self, protocol: Any, changes: Mapping[str, Any]) -> dict[str, Any]:
        unknown = set(changes) - set(SWITCHES)
        if unknown:
            raise ActionError(400, f"the console flips only {', '.join(SWITCHES)}; not {sorted(unknown)}")
        sim = self.simulator(protocol)
        try:
            sim.configure(**changes)
        except (ValueError, TypeError) as exc:
            raise ActionError(400, str(exc)) from None
        return self.switches()[protocol]
