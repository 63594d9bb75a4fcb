"""Shared fixtures: the team's known-answer vectors live outside the repo, in ../shared."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("DOUYIN_SHARED_DIR", REPO.parent / "shared"))
VECTORS_FILE = SHARED / "vectors" / "ecpay-vectors.json"


def load_vectors(kind: str) -> list[dict]:
    # A missing vectors file is a failure, not a skip: every vector must pass.
    vectors = json.loads(VECTORS_FILE.read_text(encoding="utf-8"))
    return [v for v in vectors if v["kind"] == kind]


@pytest.fixture(scope="session")
def vectors_file() -> Path:
    return VECTORS_FILE
