"""Paths and loaders shared by the event tests."""

from __future__ import annotations

import functools
import importlib.util
import json
from pathlib import Path
from types import ModuleType
from typing import Any

REPO = Path(__file__).resolve().parents[2]
EVENTS_DIR = REPO / "events"


@functools.cache
def make_events() -> ModuleType:
    """scripts/make_events.py, which is a script, not a package."""
    spec = importlib.util.spec_from_file_location("make_events", REPO / "scripts" / "make_events.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_event(name: str) -> dict[str, Any]:
    return json.loads((EVENTS_DIR / name).read_text(encoding="utf-8"))
