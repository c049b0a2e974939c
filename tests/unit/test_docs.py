"""The docs cite tests by name: a renamed or deleted test must not leave a table pointing at nothing."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CITED = re.compile(r"(test_[a-z0-9_]+\.py)::([a-z0-9_]+)")


def _fault_rows(text: str) -> list[str]:
    return [line for line in text.splitlines() if re.match(r"\|\s*\d+\s*\|", line)]


@pytest.mark.parametrize("doc", ["docs/reliability.md", "docs/performance.md", "docs/protocol.md"])
def test_every_cited_test_exists(doc):
    path = ROOT / doc
    if not path.exists():
        pytest.fail(f"{doc} is missing")
    cited = set(CITED.findall(path.read_text(encoding="utf-8")))
    for file, name in cited:
        found = sorted((ROOT / "tests").rglob(file))
        assert found, f"{doc} cites {file}, which does not exist"
        source = found[0]
        assert re.search(rf"^(async )?def {name}\b", source.read_text(encoding="utf-8"), re.M), \
            f"{doc} cites {file}::{name}, which does not exist"


def test_reliability_table_lists_at_least_30_faults_each_with_a_test():
    rows = _fault_rows((ROOT / "docs/reliability.md").read_text(encoding="utf-8"))
    numbers = [int(re.match(r"\|\s*(\d+)", row).group(1)) for row in rows]
    assert len(rows) >= 30 and len(set(numbers)) == len(numbers)
    for row in rows:
        cells = [c.strip() for c in row.strip().strip("|").split("|")]
        assert len(cells) == 4 and all(cells), row  # fault, outcome and test all filled in
