"""Where the bundled public data is found, and the first-start import (``--if-empty``).

The non-editable install itself is exercised in ``tests/deploy/test_install.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from indexer.settings import IndexSettings
from knowledge.bundled import BUNDLED_FILES, DEFAULT_DATA_DIR, bundled_paths
from knowledge.cli import kb
from knowledge.settings import KnowledgeSettings
from tests.conftest import DATA_DIR


def test_bundled_data_is_package_data() -> None:
    import knowledge

    package = Path(knowledge.__file__).resolve().parent
    assert DEFAULT_DATA_DIR.parent == package  # found next to the code, not the checkout
    paths = bundled_paths()
    assert len(paths) == len(BUNDLED_FILES)
    # In a checkout the package folder is a link to data/: one copy of the files in git.
    assert paths[0].resolve() == (DATA_DIR / BUNDLED_FILES[0]).resolve()


def test_empty_settings_mean_the_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    """`NAME=` lines copied from .env.example must not turn paths into the current folder."""
    for name in ("TTHC_BUNDLED_DATA_DIR", "TTHC_INDEX_DIR", "TTHC_GLOSSARY_PATH"):
        monkeypatch.setenv(name, "")
    monkeypatch.setenv("TTHC_DATA_DIR", "")
    monkeypatch.setenv("TTHC_RERANKER_PATH", "")
    assert KnowledgeSettings().bundled_data_dir is None
    index = IndexSettings()
    assert index.resolved_index_dir() == Path("var") / "index"
    assert index.glossary_path is None and index.reranker_path is None


def test_bundled_data_dir_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "elsewhere"
    empty.mkdir()
    monkeypatch.setenv("TTHC_BUNDLED_DATA_DIR", str(empty))
    result = CliRunner().invoke(kb, ["import", "--bundled"])
    assert result.exit_code == 2
    assert str(empty / BUNDLED_FILES[0]) in result.output


def test_import_if_empty_leaves_a_filled_knowledge_base_alone(tmp_path: Path) -> None:
    runner = CliRunner()
    hotlines = str(DATA_DIR / "hotlines" / "hotlines.csv")
    first = runner.invoke(kb, ["import", hotlines, "--if-empty", "--json"])
    assert first.exit_code == 0, first.output
    assert json.loads(first.output)["created"] == {"hotline": 3}
    again = runner.invoke(kb, ["import", "--bundled", "--if-empty", "--json"])
    assert again.exit_code == 0, again.output
    assert json.loads(again.output) == {"imported": False, "knowledge_revision": 3}
