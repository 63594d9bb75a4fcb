"""A faithful local simulator of the Douyin 通用交易系统 (trade_basic v1) platform.

See ``simulator.TradeSimulator`` for the API and ``server`` for the HTTP routes.
"""

from .config import TradeSimulatorConfig
from .notifier import Delivery
from .simulator import TradeSimulator

__all__ = ["Delivery", "TradeSimulator", "TradeSimulatorConfig"]
