"""layers/douyin_pay: the README's example runs, and pyproject's dependencies are what it says."""

from __future__ import annotations

import re
import runpy
import tomllib
from pathlib import Path

LAYER = Path(__file__).resolve().parents[2] / "layers" / "douyin_pay"


def test_readme_example_prints_what_it_says(tmp_path, capsys):
    [code] = re.findall(r"```python\n(.*?)```", (LAYER / "README.md").read_text(encoding="utf-8"), flags=re.DOTALL)
    # Each print line ends with "  # <what it prints>".
    expected = [line.split("  # ", 1)[1] for line in code.splitlines() if line.startswith("print(")]
    assert len(expected) == 2, "the example's print lines lost their expected output"
    example = tmp_path / "example.py"
    example.write_text(code, encoding="utf-8")
    runpy.run_path(str(example), run_name="__main__")
    assert capsys.readouterr().out.splitlines() == expected


def test_sdk_needs_only_requests_and_the_bundle_the_aws_extra():
    # The README promises `pip install ./layers/douyin_pay` brings no AWS packages.
    project = tomllib.loads((LAYER / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    names = [re.split(r"[<>=!~;\[ ]", dep, maxsplit=1)[0] for dep in project["dependencies"]]
    assert names == ["requests"]
    aws = {re.split(r"[<>=!~;\[ ]", dep, maxsplit=1)[0] for dep in project["optional-dependencies"]["aws"]}
    assert {"boto3", "aws-lambda-powertools"} <= aws
