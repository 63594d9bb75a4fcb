"""The layer's requirements are a hash-pinned lock of its whole dependency tree, and the build
refuses anything else (pip's hash-checking mode: ``--require-hashes``)."""

from __future__ import annotations

import re
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

LAYER = Path(__file__).resolve().parents[2] / "layers" / "douyin_pay"
PIN = re.compile(r"(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>[A-Za-z0-9.+!-]+)")
HASH = re.compile(r"--hash=sha256:[0-9a-f]{64}")
# boto3 (and so botocore, s3transfer) comes from the Lambda runtime: never bundled.
FROM_THE_RUNTIME = {"boto3", "botocore", "s3transfer"}
# What a requirement's environment markers are evaluated against: CPython 3.13 on Lambda's arm64.
LAMBDA_ENVIRONMENT = default_environment() | {
    "implementation_name": "cpython",
    "platform_machine": "aarch64",
    "platform_system": "Linux",
    "sys_platform": "linux",
    "os_name": "posix",
    "python_version": "3.13",
    "python_full_version": "3.13.0",
}


def logical_lines(text: str) -> list[str]:
    """Requirement lines with their backslash continuations joined, comments and blanks dropped."""
    joined = re.sub(r"\\\n", " ", text)
    lines = (line.split(" #", 1)[0].strip() for line in joined.splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def lock_problems(text: str) -> list[str]:
    problems = []
    for line in logical_lines(text):
        requirement, _, options = line.partition(" ")
        if not PIN.fullmatch(requirement):
            problems.append(f"not name==version: {line!r}")
        hashes = HASH.findall(options)
        if not hashes:
            problems.append(f"no --hash=sha256: {line!r}")
        if re.sub(r"\s+", " ", options).strip() != " ".join(hashes):
            problems.append(f"options other than hashes: {line!r}")
    return problems


def pins(text: str) -> dict[str, str]:
    found = (PIN.match(line) for line in logical_lines(text))
    return {canonicalize_name(m["name"]): m["version"] for m in found if m}


def unpinned_dependencies(pinned: dict[str, str]) -> list[str]:
    """Runtime dependencies (no extras, markers as on Lambda) of each pinned package, as the dev
    venv's installed metadata declares them, that the lock does not list."""
    missing = []
    for name in pinned:
        try:
            requires = distribution(name).requires or []
        except PackageNotFoundError:
            missing.append(f"{name} is not installed here: cannot check its dependencies")
            continue
        for spec in map(Requirement, requires):
            if spec.marker and not spec.marker.evaluate(LAMBDA_ENVIRONMENT | {"extra": ""}):
                continue
            dep = canonicalize_name(spec.name)
            if dep not in pinned and dep not in FROM_THE_RUNTIME:
                missing.append(f"{name} needs {spec}")
    return missing


@pytest.fixture
def requirements() -> str:
    return (LAYER / "requirements.txt").read_text(encoding="utf-8")


def test_every_requirement_is_an_exact_pin_with_a_hash(requirements):
    assert logical_lines(requirements)
    assert lock_problems(requirements) == []


def test_the_lock_is_the_whole_tree_without_boto3(requirements):
    pinned = pins(requirements)
    assert {"requests", "cryptography", "aws-lambda-powertools"} <= set(pinned)
    assert not set(pinned) & FROM_THE_RUNTIME
    assert unpinned_dependencies(pinned) == []


def test_the_locked_versions_are_the_dev_venvs(requirements):
    # Tests run against what the layer ships.
    constraints = pins((LAYER.parents[1] / "constraints.txt").read_text(encoding="utf-8"))
    assert {name: constraints.get(name) for name in pins(requirements)} == pins(requirements)


def test_the_layer_build_requires_hashes():
    makefile = (LAYER / "Makefile").read_text(encoding="utf-8")
    recipe = makefile.split("build-DouyinPayLayer:", 1)[1].split("\n\n", 1)[0]
    install = recipe.split("pip install", 1)[1].split("\n\tcp ", 1)[0]
    assert "--require-hashes" in install
    assert "-r requirements.txt" in install


@pytest.mark.parametrize(
    "text",
    [
        "requests==2.34.2\n",
        "requests>=2.34 --hash=sha256:" + "0" * 64 + "\n",
        "requests --hash=sha256:" + "0" * 64 + "\n",
        "requests==2.34.2 --hash=sha256:abc\n",
        "requests==2.34.2 --hash=md5:" + "0" * 32 + "\n",
        "requests==2.34.2 --hash=sha256:" + "0" * 64 + " --index-url https://example.com\n",
    ],
    ids=["no-hash", "range", "unpinned", "short-hash", "md5", "extra-option"],
)
def test_checker_lock_catches(text):
    assert lock_problems(text)


def test_checker_lock_accepts_continuations():
    text = "# a wheel\nrequests==2.34.2 \\\n    --hash=sha256:" + "a" * 64 + " \\\n    --hash=sha256:" + "b" * 64 + "\n"
    assert lock_problems(text) == []
    assert pins(text) == {"requests": "2.34.2"}


def test_checker_tree_catches_a_missing_dependency(requirements):
    pinned = pins(requirements)
    del pinned["urllib3"]
    assert [p for p in unpinned_dependencies(pinned) if "urllib3" in p]
    assert all(p.startswith("requests needs urllib3") for p in unpinned_dependencies(pinned))


def test_the_dev_requirements_pin_the_layers_top_level_packages_without_hashes():
    # A hashed file pulled in with -r puts the whole dev install in --require-hashes mode, and a
    # fresh `make test` then fails before any test runs.
    dev = (LAYER.parents[1] / "requirements-dev.txt").read_text()
    assert "-r layers/douyin_pay/requirements.txt" not in dev
    assert "--hash" not in dev
    top = re.search(r"^TOP_LEVEL = (.+)$", (LAYER / "Makefile").read_text(), re.M)
    assert top is not None
    pinned = {line.strip() for line in dev.splitlines() if "==" in line and not line.startswith("#")}
    assert set(top.group(1).split()) <= pinned
