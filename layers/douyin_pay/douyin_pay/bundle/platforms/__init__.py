"""The platform port and its adapters, one per payment protocol.

:class:`Platforms` holds the adapters one execution environment uses; an object is always handled
by the adapter of the protocol it was created with (``protocol`` on its item), whatever protocol
the stack now creates new orders with — so one stack serves both during a migration.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ...errors import ConfigurationError
from .protocol import PaymentProtocol, protocol_of

if TYPE_CHECKING:
    from .base import Platform

# The adapter module of each protocol, imported when a path first builds that protocol's adapter:
# the handlers of an ecpay-only stack never load the trade adapter. Importing one must stay cheap
# too: a platform client (and its HTTP library, and for the trade system its RSA library) is built
# only when a use case first needs it.
_ADAPTER_CLASSES: dict[PaymentProtocol, tuple[str, str]] = {
    PaymentProtocol.ECPAY: (".ecpay", "EcpayPlatform"),
    PaymentProtocol.TRADE: (".trade", "TradePlatform"),
}


# What the bundle knows of each protocol without its adapter (stored pay params, the pay window,
# whose callbacks are whose): plain functions, so a read or the callback's routing loads neither
# the adapter nor the port's types.
_TRAITS: dict[PaymentProtocol, str] = {
    PaymentProtocol.ECPAY: ".ecpay_traits",
    PaymentProtocol.TRADE: ".trade_traits",
}


def adapter_class(protocol: PaymentProtocol) -> type[Platform]:
    module, name = _ADAPTER_CLASSES[protocol]
    return getattr(importlib.import_module(module, __name__), name)


def traits_of(protocol: PaymentProtocol) -> Any:
    """The protocol's traits module (ecpay_traits.py, trade_traits.py)."""
    return importlib.import_module(_TRAITS[protocol], __name__)


# The order callbacks are offered to the adapters: those that recognise their own headers first;
# ecpay signs inside the body, so it takes whatever none of them claimed.
CALLBACK_ORDER = (PaymentProtocol.TRADE, PaymentProtocol.ECPAY)


def stored_pay_params(item: Mapping[str, Any]) -> dict[str, Any] | None:
    """What a read can show the front end to pay a stored order, as its protocol's traits say."""
    return traits_of(protocol_of(item.get("protocol"))).stored_pay_params(item)


def pay_window(item: Mapping[str, Any], *, default: int) -> int:
    """Seconds after ``created_at`` the order ``item`` stays payable, as its platform counts them
    (``default`` when it has no ``valid_time``): what local expiry and the reconcile give-up age
    count from, so neither gives up on an order that can still be paid."""
    return traits_of(protocol_of(item.get("protocol"))).pay_window(int(item.get("valid_time", default)))


class Platforms:
    """The adapters of one execution environment, each built on first use."""

    def __init__(self, factories: Mapping[PaymentProtocol, Callable[[], Platform]], default: PaymentProtocol) -> None:
        if default not in factories:
            raise ConfigurationError(f"no adapter for the default protocol {default.value!r}")
        self._factories = dict(factories)
        self._built: dict[PaymentProtocol, Platform] = {}
        self.default_protocol = default

    def get(self, protocol: PaymentProtocol) -> Platform:
        adapter = self._built.get(protocol)
        if adapter is None:
            factory = self._factories.get(protocol)
            if factory is None:
                raise ConfigurationError(f"this stack does not speak {protocol.value!r}")
            adapter = self._built[protocol] = factory()
        return adapter

    @property
    def default(self) -> Platform:
        """The adapter new orders are created with."""
        return self.get(self.default_protocol)

    def of(self, record: Mapping[str, Any]) -> Platform:
        """The adapter of a stored object or a reconcile message."""
        return self.get(protocol_of(record.get("protocol")))

    def for_callback(self, headers: Mapping[str, str]) -> Platform:
        """The adapter whose callbacks look like this request (the first that claims it)."""
        for protocol in CALLBACK_ORDER:
            if protocol in self._factories and traits_of(protocol).claims_callback(headers):
                return self.get(protocol)
        return self.default

    def close(self) -> None:
        for adapter in self._built.values():
            adapter.close()
        self._built.clear()


__all__ = [
    "PaymentProtocol",
    "Platforms",
    "adapter_class",
    "protocol_of",
    "stored_pay_params",
    "traits_of",
]
