"""The test suite stands alone on a plain clone: its vectors are inside the repository."""

from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import VECTORS

ROOT = Path(__file__).resolve().parents[1]


def test_vectors_are_inside_the_repository() -> None:
    assert VECTORS.is_dir()
    assert VECTORS.resolve().is_relative_to(ROOT)


def test_every_vector_file_named_in_the_readme_exists() -> None:
    readme = (VECTORS / "README.md").read_text(encoding="utf-8")
    named = set(re.findall(r"^\| `([^`*]+\.json)`", readme, flags=re.MULTILINE))
    assert len(named) >= 8, named
    for name in sorted(named):
        assert (VECTORS / name).is_file(), name
    assert len(list((VECTORS / "tlog/merkle/transparency-dev-merkle/testdata").rglob("*.json"))) == 518


def test_no_source_reads_beside_the_repository() -> None:
    beside = re.compile(r"""\.\./shared|["']shared["']|/work/""")
    offenders = [
        f"{path.relative_to(ROOT)}:{n}"
        for folder in ("src", "tests", "benchmarks", "docs")
        for path in sorted((ROOT / folder).rglob("*.py"))
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if beside.search(line) and path != Path(__file__).resolve()
    ]
    assert offenders == []
