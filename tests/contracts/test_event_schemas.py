"""docs/events/ is what scripts/make_event_schemas.py generates (the tests in
tests/bundle/test_domain_events.py validate real events against those files)."""

from __future__ import annotations

import importlib.util

from tests.contracts.event_files import REPO


def test_committed_schemas_are_generated():
    spec = importlib.util.spec_from_file_location("make_event_schemas", REPO / "scripts" / "make_event_schemas.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["--check"]) == 0
