"""The vector loader: our own copy always runs, the shared file adds to it, a missing copy fails."""

from __future__ import annotations

import json

import pytest

from tests.sdk.ecpay import vector_files
from tests.sdk.ecpay.vector_files import KINDS, OWN_FILE, REPO, load_vectors, read_vectors


def own_vectors() -> list[dict]:
    return json.loads(OWN_FILE.read_text(encoding="utf-8"))


def loaded(kind: str) -> list[tuple[str, dict]]:
    return [(param.id, param.values[0]) for param in load_vectors(kind)]


def write_shared(shared_dir, vectors: list[dict]) -> None:
    (shared_dir / "vectors").mkdir()
    (shared_dir / "vectors" / "ecpay-vectors.json").write_text(json.dumps(vectors), encoding="utf-8")


def test_own_copy_has_every_kind():
    # Guards against the parametrised tests silently running on an empty list on a bare clone.
    counts = {kind: sum(v["kind"] == kind for v in own_vectors()) for kind in KINDS}
    assert counts["request"] >= 6
    assert counts["callback"] >= 3
    assert counts["callback_body"] >= 1
    assert sum(counts.values()) == len(own_vectors()), "a vector of an unknown kind would never run"


def test_own_sources_are_unique():
    # The source is the test id; two equal ones would make a failure ambiguous.
    sources = [v["source"] for v in own_vectors()]
    assert len(sources) == len(set(sources))


def test_without_a_shared_file_exactly_our_copy_runs(monkeypatch, tmp_path):
    monkeypatch.setenv("DOUYIN_SHARED_DIR", str(tmp_path))
    for kind in KINDS:
        expected = [(f"own:{v['source']}", v) for v in own_vectors() if v["kind"] == kind]
        assert loaded(kind) == expected


def test_with_a_shared_file_both_run_and_a_vector_only_there_is_run_too(monkeypatch, tmp_path):
    extra = {"source": "only in the shared file", "kind": "request", "params": {"a": "A"}, "salt": "S", "sign": "x"}
    write_shared(tmp_path, [*own_vectors(), extra])
    monkeypatch.setenv("DOUYIN_SHARED_DIR", str(tmp_path))
    for kind in KINDS:
        own = [(f"own:{v['source']}", v) for v in own_vectors() if v["kind"] == kind]
        shared = [(f"shared:{v['source']}", v) for v in [*own_vectors(), extra] if v["kind"] == kind]
        assert loaded(kind) == own + shared
    assert ("shared:only in the shared file", extra) in loaded("request")


def test_shared_dir_defaults_to_shared_beside_the_repository(monkeypatch):
    monkeypatch.delenv("DOUYIN_SHARED_DIR", raising=False)
    assert vector_files.shared_file() == REPO.parent / "shared" / "vectors" / "ecpay-vectors.json"
    assert (REPO / "tests" / "sdk" / "ecpay" / "vector_files.py").is_file(), "REPO is not the repository root"


def test_a_missing_own_copy_fails_even_with_a_shared_file(monkeypatch, tmp_path):
    write_shared(tmp_path, own_vectors())
    monkeypatch.setenv("DOUYIN_SHARED_DIR", str(tmp_path))
    monkeypatch.setattr(vector_files, "OWN_FILE", tmp_path / "missing.json")
    with pytest.raises(FileNotFoundError):
        load_vectors("request")


@pytest.mark.parametrize("content", ["{}", "[1]", '[{"kind": "request"}]', '[{"source": "s"}]'])
def test_a_badly_shaped_file_is_refused(tmp_path, content):
    path = tmp_path / "v.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match="kind"):
        read_vectors(path)
