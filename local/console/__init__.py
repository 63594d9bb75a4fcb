"""A local console for the embedded stack (``make dev``): one page on loopback that shows orders,
refunds and settlements live, a timeline of platform calls and callback deliveries, and lets a
developer play the buyer and flip the simulators' faults. See :mod:`local.console.server`."""

from .server import Console

__all__ = ["Console"]
