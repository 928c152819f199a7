"""Knowledge fixtures: a few real procedures, for tests that need fees and documents fast."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from tests.conftest import DATA_DIR

DETAILS = DATA_DIR / "dvcqg_opengov_crawl" / "details.jsonl.gz"


def _largest_fee(line: str) -> float:
    methods = json.loads(line).get("executionMethods") or []
    values = [f.get("value") for m in methods for f in m.get("fees") or []]
    return max([0, *(v for v in values if isinstance(v, int | float))])


@pytest.fixture(scope="session")
def few_details(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """40 real procedure details (the first 30, and the 10 with the largest fees, one
    above a million) as a portal JSONL file: the whole file imports in a second."""
    with gzip.open(DETAILS, "rt", encoding="utf-8") as handle:
        lines = handle.readlines()
    big = sorted(lines[30:], key=_largest_fee, reverse=True)[:10]
    path = tmp_path_factory.mktemp("few") / "details.jsonl"
    path.write_text("".join(lines[:30] + big), encoding="utf-8")
    return path
