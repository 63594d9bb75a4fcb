"""layers/douyin_pay: the README's examples run, and pyproject's dependencies and pins are what it says."""

from __future__ import annotations

import re
import runpy
import tomllib
from pathlib import Path

import pytest

LAYER = Path(__file__).resolve().parents[2] / "layers" / "douyin_pay"


EXAMPLES = re.findall(r"```python\n(.*?)```", (LAYER / "README.md").read_text(encoding="utf-8"), flags=re.DOTALL)


def test_readme_has_the_ecpay_and_the_trade_example():
    assert len(EXAMPLES) == 2, "an example was lost (or a new one is not run here)"
    assert "douyin_pay.trade" in EXAMPLES[1]


@pytest.mark.parametrize("code", EXAMPLES, ids=lambda code: "trade" if "douyin_pay.trade" in code else "ecpay")
def test_readme_example_prints_what_it_says(tmp_path, capsys, code):
    # Each print line ends with "  # <what it prints>".
    expected = [line.split("  # ", 1)[1] for line in code.splitlines() if line.startswith("print(")]
    assert len(expected) >= 2, "the example's print lines lost their expected output"
    example = tmp_path / "example.py"
    example.write_text(code, encoding="utf-8")
    runpy.run_path(str(example), run_name="__main__")
    assert capsys.readouterr().out.splitlines() == expected


def test_sdk_needs_requests_and_cryptography_and_the_bundle_the_aws_extra():
    # The README promises `pip install ./layers/douyin_pay` brings no AWS packages.
    project = tomllib.loads((LAYER / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    names = [re.split(r"[<>=!~;\[ ]", dep, maxsplit=1)[0] for dep in project["dependencies"]]
    assert names == ["requests", "cryptography"]
    aws = {re.split(r"[<>=!~;\[ ]", dep, maxsplit=1)[0] for dep in project["optional-dependencies"]["aws"]}
    assert {"boto3", "aws-lambda-powertools"} <= aws


def test_the_layer_pins_cryptography_at_the_projects_constraint():
    # The layer is built for arm64 from requirements.txt; the dev venv from constraints.txt. One version.
    # Lines are "name==version \\" with the wheel's --hash on the next (pip's hash-checking mode).
    pins = dict(
        re.match(r"([A-Za-z0-9_.-]+)==([^\s\\]+)", line).groups()
        for line in (LAYER / "requirements.txt").read_text(encoding="utf-8").splitlines()
        if "==" in line and not line.startswith("#")
    )
    constraints = (LAYER.parents[1] / "constraints.txt").read_text(encoding="utf-8")
    assert f"cryptography=={pins['cryptography']}" in constraints.splitlines()
