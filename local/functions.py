"""The bundle's Lambda handlers, loaded from ``functions/<name>/app.py`` and invoked in-process the
way Lambda runs them: each function is one execution environment, so it serves one invocation at
a time (its module-level state — the Powertools resolver's current event — is not shared)."""

from __future__ import annotations

import importlib.util
import sys
import threading
from pathlib import Path
from types import ModuleType
from typing import Any

from .aws_resources import FUNCTIONS, REPO, resource
from .events import lambda_context

_import_lock = threading.Lock()


def load_handler(name: str) -> ModuleType:
    """Import functions/<name>/app.py under a unique module name (every handler file is app.py).

    Locked: a second thread must never see a half-initialised module (Lambda finishes the init
    phase before the first invocation)."""
    module_name = f"fn_{name}"
    with _import_lock:
        return sys.modules.get(module_name) or _import(name, module_name)


def _import(name: str, module_name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(module_name, Path(REPO) / "functions" / name / "app.py")
    if spec is None or spec.loader is None:
        raise ImportError(f"no handler functions/{name}/app.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[module_name]  # a failed import must not leave a half-built module behind
        raise
    return module


class Functions:
    def __init__(self, *, discard_metrics: bool = False) -> None:
        self._locks = {logical_id: threading.Lock() for logical_id in FUNCTIONS}
        # With POWERTOOLS_METRICS_DISABLED, Powertools 3.37 skips printing at flush but also skips
        # clearing, so values pile up until its 100-value auto-flush prints them anyway. Locally we
        # clear after each invocation instead.
        self._discard_metrics = discard_metrics

    @staticmethod
    def timeout_ms(logical_id: str) -> int:
        from .aws_resources import load_template

        own = resource(logical_id)["Properties"].get("Timeout")
        default = load_template()["Globals"]["Function"].get("Timeout", 3)
        return int(own or default) * 1000

    def invoke(self, logical_id: str, event: dict[str, Any]) -> Any:
        module = load_handler(FUNCTIONS[logical_id])
        context = lambda_context(logical_id, timeout_ms=self.timeout_ms(logical_id))
        with self._locks[logical_id]:
            try:
                return module.lambda_handler(event, context)
            finally:
                metrics = getattr(module, "metrics", None)
                if self._discard_metrics and metrics is not None:
                    metrics.clear_metrics()
