"""The plan form on the five real seed plans: what the form shows, submitted untouched,
is the plan exactly (every section, level and table cell)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.admin.plan_forms import parse_plan, plan_values
from knowledge.codec import to_json
from knowledge.importers.plans import read_plan_file
from tests.conftest import DATA_DIR

SEEDS = sorted((DATA_DIR / "seeds").glob("*.txt"))


@pytest.mark.parametrize("path", SEEDS, ids=[p.name for p in SEEDS])
def test_untouched_form_gives_back_the_plan(path: Path) -> None:
    data = to_json(read_plan_file(path))
    values = plan_values(data)
    assert int(values["sections"]) > 30  # every section has its row, plus the blank one
    parsed, errors = parse_plan(values, data)
    assert errors == {} and parsed == data


def test_a_section_moved_one_level_up_changes_its_parent() -> None:
    data = to_json(read_plan_file(SEEDS[0]))
    values = plan_values(data)
    deepest = max((k for k in values if k.endswith("_level")), key=lambda k: int(values[k]))
    values[deepest] = str(int(values[deepest]) - 1)
    parsed, errors = parse_plan(values, data)
    assert errors == {} and parsed is not None and parsed != data
