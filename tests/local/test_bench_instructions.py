"""The bench's instruction counts: each target's count less the interpreter's start, over the
floor's, and an honest reason when valgrind is not there. valgrind itself is stood in for by a script
that reports a count taken from the child's code, so the arithmetic is checked on any machine."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from local.bench import cold_start
from local.bench.cold_imports import HANDLERS

# Reports what callgrind would: the child's code length x 1000, on stderr, like "==12== Collected : N".
FAKE_VALGRIND = """#!/bin/sh
for last; do :; done
code=$(printf '%s' "$last" | wc -c)
echo "==1== Collected : $((code * 1000))" >&2
"""


def fake_valgrind(monkeypatch, folder: Path, script: str) -> None:
    """``script`` as the valgrind the bench finds on the PATH."""
    fake = folder / "valgrind"
    fake.write_text(script)
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setattr(cold_start.shutil, "which", lambda _: str(fake))


def test_no_valgrind_is_a_reason_not_a_failure(monkeypatch):
    monkeypatch.setattr(cold_start.shutil, "which", lambda _: None)
    assert cold_start.count_instructions(Path("/nonexistent")) == {
        "skipped": "valgrind is not installed (apt-get install valgrind)"
    }


def test_counts_are_less_the_start_and_over_the_floor(monkeypatch, tmp_path):
    fake_valgrind(monkeypatch, tmp_path, FAKE_VALGRIND)

    counted = cold_start.count_instructions(tmp_path)

    def code_of(target, body=None):
        argv, _ = cold_start._command(tmp_path, target, body)
        return len(argv[-1].encode()) * 1000

    start = code_of(None, "pass")
    floor = code_of(None) - start
    assert counted["startup"] == start
    assert counted["floor"] == floor
    assert set(counted["handlers"]) == set(HANDLERS)
    for name in HANDLERS:
        own = code_of(name) - start
        assert counted["handlers"][name] == {"instructions": own, "ratio_to_floor": round(own / floor, 3)}


def test_a_failed_child_names_its_target(monkeypatch, tmp_path):
    fake_valgrind(monkeypatch, tmp_path, "#!/bin/sh\necho 'valgrind: boom' >&2\nexit 1\n")
    with pytest.raises(cold_start.BenchError, match=r"callgrind child for \w+ failed"):
        cold_start.count_instructions(tmp_path)
