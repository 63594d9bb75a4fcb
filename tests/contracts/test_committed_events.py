"""The committed sample events are exactly what scripts/make_events.py generates, and stay documented."""

from __future__ import annotations

import subprocess
import sys

import pytest

from .event_files import EVENTS_DIR, REPO, make_events

GENERATED = make_events().generate()


def test_every_committed_event_is_generated_and_vice_versa() -> None:
    committed = {p.name for p in EVENTS_DIR.glob("*.json")}
    assert committed == set(GENERATED)


@pytest.mark.parametrize("name", sorted(GENERATED))
def test_committed_file_matches_generator_byte_for_byte(name: str) -> None:
    expected = make_events().render(GENERATED[name]).encode("utf-8")
    assert (EVENTS_DIR / name).read_bytes() == expected, f"events/{name} drifted: run python scripts/make_events.py"


def test_generation_is_deterministic() -> None:
    again = make_events().generate()
    assert {k: make_events().render(v) for k, v in again.items()} == {
        k: make_events().render(v) for k, v in GENERATED.items()
    }


def test_check_mode_passes_on_the_committed_tree() -> None:
    result = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "make_events.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_readme_documents_every_file_the_token_and_sam_local_invoke() -> None:
    readme = (EVENTS_DIR / "README.md").read_text(encoding="utf-8")
    for name in GENERATED:
        assert f"`{name}`" in readme, f"events/README.md does not list {name}"
    assert make_events().TEST_TOKEN in readme
    assert "sam local invoke -e events/" in readme
    for logical_id in (
        "CreatePaymentFunction",
        "CreateRefundFunction",
        "CreateSettlementFunction",
        "QueryFunction",
        "CallbackFunction",
        "ReconcileFunction",
        "SweeperFunction",
    ):
        assert logical_id in readme
