"""The project's documents hold together: every "ecpay-spec §X.Y" / "trade-spec §X.Y" the code and
the documents cite names a numbered heading of docs/ecpay-spec.md / docs/trade-spec.md, every
relative markdown link points at a file of the repository (and, into docs/, at a heading that
exists), and nothing refers to documents outside the repository."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SPECS = {"ecpay": REPO / "docs" / "ecpay-spec.md", "trade": REPO / "docs" / "trade-spec.md"}

# Where citations are looked for, and the kinds of files read there.
CITING_ROOTS = ("layers", "functions", "local", "template.yaml", "README.md", "docs")
TEXT_SUFFIXES = {".py", ".md", ".yaml", ".yml", ".json", ".toml", ".txt", ".cfg", ".ini"}
SKIPPED_DIRS = {".git", ".venv", "venv", "node_modules", "__pycache__", ".aws-sam", ".pytest_cache", ".ruff_cache"}
# The simulators' READMEs cite their own protocol's spec with a bare "§X.Y".
BARE_SECTION_FILES = {"local/douyin_sim/README.md": "ecpay", "local/trade_sim/README.md": "trade"}

SECTION = r"\d+(?:\.\d+)*"
# "ecpay-spec §3.2, §3.4", "trade-spec §4.5–4.9", "ecpay-spec.md §5.2 / §6.2", and a citation split
# over two comment lines ("(ecpay-spec\n    # §3.7 [S])").
# A listed section carries its own "§"; only the end of a range may leave it out.
CITATION = re.compile(
    rf"\b(ecpay|trade)-spec(?:\.md)?(?:\s|#|//|\*)*(§{SECTION}(?:\s*(?:(?:,|/|and|or|&)\s*§|[–-]\s*§?){SECTION})*)"
)
BARE = re.compile(rf"§({SECTION})")
NUMBERED_HEADING = re.compile(rf"^#{{1,6}}\s+§?\s*({SECTION})(?:\.|\s|$)")

LINK = re.compile(r"\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
LINK_DEFINITION = re.compile(r"^[ ]{0,3}\[[^\]]+\]:[ \t]*<?([^\s>]+)>?[ \t]*$", re.MULTILINE)
FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
INLINE_CODE = re.compile(r"`[^`\n]*`")

FORBIDDEN = ("../shared", "shared docs")


def _files(root: Path) -> Iterator[Path]:
    if root.is_file():
        yield root
        return
    for path in sorted(root.rglob("*")):
        if path.is_file() and not SKIPPED_DIRS.intersection(path.relative_to(REPO).parts):
            yield path


def _rel(path: Path) -> str:
    return path.relative_to(REPO).as_posix()


def cited_sections(text: str) -> Iterator[tuple[str, str]]:
    """(protocol, section) for every spec citation in ``text``; a range names both of its ends."""
    for match in CITATION.finditer(text):
        for number in re.findall(SECTION, match.group(2)):
            yield match.group(1), number


def heading_numbers(markdown: str) -> set[str]:
    """The section numbers of a document's headings: "## 3. Endpoints" → "3", "### 3.1 create" → "3.1"."""
    body = FENCE.sub("", markdown)
    return {m.group(1) for line in body.splitlines() if (m := NUMBERED_HEADING.match(line))}


def missing_sections(citations: list[tuple[str, str, str]], headings: dict[str, set[str]]) -> list[str]:
    return sorted(
        {f"{where}: {proto}-spec §{number}" for where, proto, number in citations if number not in headings[proto]}
    )


def github_slugs(markdown: str) -> set[str]:
    """The anchors GitHub gives a document's headings (lowercase, punctuation dropped, spaces to
    hyphens, a repeated slug numbered -1, -2, …)."""
    seen: dict[str, int] = {}
    slugs = set()
    for line in FENCE.sub("", markdown).splitlines():
        heading = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if not heading:
            continue
        text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading.group(1)).replace("`", "")
        slug = re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        slugs.add(slug if count == 0 else f"{slug}-{count}")
    return slugs


def links(markdown: str) -> Iterator[str]:
    prose = INLINE_CODE.sub("", FENCE.sub("", markdown))
    yield from (m.group(1) for m in LINK.finditer(prose))
    yield from (m.group(1) for m in LINK_DEFINITION.finditer(prose))


def linking_documents() -> list[Path]:
    docs = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md")), REPO / "layers" / "douyin_pay" / "README.md"]
    return docs + sorted(p for p in (REPO / "local").rglob("README.md") if "__pycache__" not in p.parts)


def _headings() -> dict[str, set[str]]:
    return {proto: heading_numbers(path.read_text(encoding="utf-8")) for proto, path in SPECS.items()}


# -- (a) citations resolve ------------------------------------------------------------------------


@pytest.mark.parametrize("proto", sorted(SPECS))
def test_the_protocol_specs_are_in_the_repository_with_numbered_sections(proto: str) -> None:
    numbers = _headings()[proto]
    assert {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10"} <= numbers, sorted(numbers)


def test_every_spec_citation_names_a_section_that_exists() -> None:
    citations = []
    for root in CITING_ROOTS:
        for path in _files(REPO / root):
            if path.suffix not in TEXT_SUFFIXES:
                continue
            text = path.read_text(encoding="utf-8", errors="replace")
            citations += [(_rel(path), proto, number) for proto, number in cited_sections(text)]
            if (bare := BARE_SECTION_FILES.get(_rel(path))) is not None:
                citations += [(_rel(path), bare, number) for number in BARE.findall(text)]
    assert len(citations) > 100, "the citation scan found almost nothing: is the pattern still right?"
    assert missing_sections(citations, _headings()) == []


def test_the_citation_scan_reads_lists_ranges_and_split_lines() -> None:
    text = (
        "(ecpay-spec §3.2, §3.4, §3.6; a newer mirror) trade-spec §4.5–4.9. ecpay-spec.md §5.2 / §6.2\n"
        "    # the latter is documented in one source only (ecpay-spec\n"
        "    # §3.7 [S]); trade-spec §4.3, §10.7 and 3 more"
    )
    assert list(cited_sections(text)) == [
        ("ecpay", "3.2"),
        ("ecpay", "3.4"),
        ("ecpay", "3.6"),
        ("trade", "4.5"),
        ("trade", "4.9"),
        ("ecpay", "5.2"),
        ("ecpay", "6.2"),
        ("ecpay", "3.7"),
        ("trade", "4.3"),
        ("trade", "10.7"),
    ]


def test_a_citation_of_a_missing_section_is_reported() -> None:
    headings = {"ecpay": heading_numbers("## 3. Endpoints\n### 3.1 `create_order`\n"), "trade": set()}
    citations = [("x.py", p, n) for p, n in cited_sections("ecpay-spec §3.1, §3.2 and trade-spec §4")]
    assert missing_sections(citations, headings) == ["x.py: ecpay-spec §3.2", "x.py: trade-spec §4"]


# -- (b) links resolve ----------------------------------------------------------------------------


def _link_problem(doc: Path, target: str, slugs: dict[Path, set[str]]) -> str | None:
    """What is wrong with one link of ``doc``, or None. URLs are not followed; an anchor is checked
    only in docs/ (README.md's own anchors belong to the sessions that edit its sections)."""
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", target):
        return None
    path_part, _, anchor = target.partition("#")
    resolved = (doc.parent / path_part).resolve() if path_part else doc
    if not resolved.is_relative_to(REPO) or not resolved.exists():
        return "no such file in the repository"
    if not anchor or resolved.suffix != ".md" or resolved.parent != REPO / "docs":
        return None
    if resolved not in slugs:
        slugs[resolved] = github_slugs(resolved.read_text(encoding="utf-8"))
    return None if anchor in slugs[resolved] else "no such heading"


def test_every_relative_link_points_at_a_file_of_the_repository() -> None:
    slugs: dict[Path, set[str]] = {}
    broken = [
        f"{_rel(doc)}: {target} ({problem})"
        for doc in linking_documents()
        for target in links(doc.read_text(encoding="utf-8"))
        if (problem := _link_problem(doc, target, slugs))
    ]
    assert broken == []


def test_the_slugs_follow_github() -> None:
    doc = "## 10. Open questions\n### 3.1 `create_order` — 服务端预下单\n### 10.1 Integers ≥ 1 000 000\n"
    doc += "## Notes\n## Notes\n"
    assert github_slugs(doc) == {
        "10-open-questions",
        "31-create_order--服务端预下单",
        "101-integers--1-000-000",
        "notes",
        "notes-1",
    }


# -- (c) nothing outside the repository -----------------------------------------------------------


def test_no_file_refers_to_documents_outside_the_repository() -> None:
    offenders = []
    for path in _files(REPO):
        if path == Path(__file__).resolve():
            continue
        data = path.read_bytes()
        if b"\0" in data[:8192]:
            continue  # binary
        text = data.decode("utf-8", errors="replace").lower()
        offenders += [f"{_rel(path)}: {word!r}" for word in FORBIDDEN if word in text]
    assert offenders == []
