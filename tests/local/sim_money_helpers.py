"""What the CPS-commission and auto-settlement tests share: the control routes over loopback HTTP
and the SDK's readers, so that every payload the simulator sends is also read by the SDK."""

from __future__ import annotations

import json
from typing import Any

from douyin_pay.ecpay.notices import AnyNotice, parse_callback
from tests.local.sim_helpers import TOKEN, Client, Receiver

# rake_of(10000), written out: 0.6 % of 10000 fen.
FEE_10000 = 60


def control(client: Client, method: str, path: str, body: Any = None) -> Any:
    response = client.control(method, path, body)
    assert response.status_code == 200, response.text
    return response.json()


def advance(client: Client, seconds: float) -> float:
    return control(client, "POST", "clock/advance", {"seconds": seconds})["now"]


def configure(client: Client, **switches: Any) -> dict[str, Any]:
    return control(client, "POST", "config", switches)


def state(client: Client) -> dict[str, Any]:
    return control(client, "GET", "state")


def pay(client: Client, no: str = "A1", amount: int = 10000, **args: Any) -> dict[str, Any]:
    """Create the order and pay it over the control route (``args``: way, commission,
    commission_delay); the paid order's view."""
    assert client.create_order(no, total_amount=amount)["err_no"] == 0
    return control(client, "POST", f"orders/{no}/pay", args)


def synced(client: Client, no: str = "A1") -> None:
    """Push the order as paid (order_status 1), which settle requires."""
    assert client.push_status(no, 1)["err_code"] == 0


def payees(amount: int, uid: str = "m1") -> str:
    return json.dumps([{"merchant_uid": uid, "amount": amount}])


def refused(answer: dict[str, Any]) -> str:
    assert answer["err_no"] == 2010, answer
    assert set(answer) == {"err_no", "err_tips"}
    return answer["err_tips"]


def accepted(answer: dict[str, Any]) -> dict[str, Any]:
    assert answer["err_no"] == 0, answer
    return answer


def parsed(receiver: Receiver, index: int) -> AnyNotice:
    """The SDK's reading of the ``index``-th callback the receiver got (signature checked)."""
    with receiver.cond:
        _, raw = receiver.received[index]
    return parse_callback(raw, TOKEN)
