"""The ecpay known-answer vectors: the project's own copy, and the team's shared file when there is one.

The own copy (vectors/ecpay-vectors.json, see vectors/README.md) always runs, so a clone on its own
runs every vector. When the shared file exists its vectors run as well, all of them, so one added
there is tested here before anyone copies it in. Ids say which file a vector came from.

(Named vector_files, not vectors, so the module and the data folder beside it are not both
candidates for the import `tests.sdk.ecpay.vectors`.)
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from _pytest.mark import ParameterSet  # what pytest.param returns; pytest has no public name for it

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
OWN_FILE = HERE / "vectors" / "ecpay-vectors.json"
KINDS = ("request", "callback", "callback_body")


def shared_file() -> Path:
    # Read on every call, not at import, so a test can point it elsewhere with monkeypatch.setenv.
    shared_dir = Path(os.environ.get("DOUYIN_SHARED_DIR", REPO.parent / "shared"))
    return shared_dir / "vectors" / "ecpay-vectors.json"


def vector_files() -> dict[str, Path]:
    """Prefix → file. The own copy is listed whether or not it exists: missing, it fails to load."""
    files = {"own": OWN_FILE}
    shared = shared_file()
    if shared.is_file():
        files["shared"] = shared
    return files


def read_vectors(path: Path) -> list[dict]:
    vectors = json.loads(path.read_text(encoding="utf-8"))
    # A wrong shape would otherwise surface as a KeyError deep in some test's parametrisation.
    entries_ok = isinstance(vectors, list) and all(
        isinstance(v, dict) and {"kind", "source"} <= v.keys() for v in vectors
    )
    if not entries_ok:
        raise ValueError(f"{path}: expected a list of objects, each with 'kind' and 'source'")
    return vectors


def load_vectors(kind: str, where: Callable[[dict], bool] | None = None) -> list[ParameterSet]:
    """Every vector of `kind` (that `where` accepts) from every file, as pytest params with ids.

    A missing or unreadable own copy raises, which fails collection: it is never a skip.
    """
    params = []
    for prefix, path in vector_files().items():
        for vector in read_vectors(path):
            if vector["kind"] == kind and (where is None or where(vector)):
                params.append(pytest.param(vector, id=f"{prefix}:{vector['source']}"))
    return params
