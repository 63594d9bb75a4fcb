"""A faithful local simulator of the Douyin 担保支付 (ecpay v1) platform.

See ``simulator.DouyinSimulator`` for the API and ``server`` for the HTTP routes.
"""

from .config import SimulatorConfig
from .notifier import Delivery
from .simulator import DouyinSimulator

__all__ = ["Delivery", "DouyinSimulator", "SimulatorConfig"]
