"""A normal (non-editable) install finds the bundled data from any directory."""

from __future__ import annotations

import json
import subprocess
import zipfile
from pathlib import Path

import pytest

from knowledge.bundled import BUNDLED_FILES
from tests.deploy.conftest import Installed, run


def test_wheel_holds_the_bundled_data_as_files(installed: Installed) -> None:
    with zipfile.ZipFile(installed.wheel) as wheel:
        infos = {info.filename: info for info in wheel.infolist()}
    for name in BUNDLED_FILES:
        info = infos[f"knowledge/bundled_data/{name}"]
        assert info.file_size > 0
        assert (info.external_attr >> 16) & 0o170000 != 0o120000  # a file, not a symlink
    assert "knowledge/bundled_data/hotlines/README.md" in infos  # provenance ships too


def test_installed_package_is_not_the_checkout(installed: Installed, tmp_path: Path) -> None:
    out = run(
        installed.bin / "python",
        "-c",
        "import knowledge, bot; from knowledge.bundled import DEFAULT_DATA_DIR as d; "
        "print(knowledge.__file__); print(bot.__file__); print(d.resolve())",
        cwd=tmp_path,
        env=installed.env(),
    ).stdout.split()
    assert all(Path(p).is_relative_to(installed.venv) for p in out), out
    data = Path(out[2])
    assert not data.is_symlink() and (data / "hotlines" / "hotlines.csv").is_file()


def test_installed_reranker_loads_with_its_example_questions(
    installed: Installed, tmp_path: Path
) -> None:
    """The model files and the example questions beside them ship in the wheel."""
    out = run(
        installed.bin / "python",
        "-c",
        "from indexer.rerank import DEFAULT_MODEL, LightGBMReranker; "
        "r = LightGBMReranker(DEFAULT_MODEL); print(DEFAULT_MODEL); print(len(r.examples)); "
        "print(r.meta['example_questions']['count'])",
        cwd=tmp_path,
        env=installed.env(),
    ).stdout.split()
    assert Path(out[0]).is_relative_to(installed.venv), out
    assert int(out[1]) == int(out[2]) > 0


@pytest.mark.slow
def test_kb_import_bundled_from_another_directory(installed: Installed, tmp_path: Path) -> None:
    """`tthc kb init` + `tthc kb import --bundled` of the whole bundled data, then the
    first-start import (`--if-empty`) leaves the filled knowledge base alone."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = installed.env(TTHC_DATA_DIR=str(tmp_path / "var"))
    tthc = installed.bin / "tthc"

    run(tthc, "kb", "init", cwd=elsewhere, env=env)
    report = json.loads(
        run(tthc, "kb", "import", "--bundled", "--json", cwd=elsewhere, env=env).stdout
    )

    assert report["created"] == {"procedure": 5738, "faq": 477, "hotline": 3, "plan": 5}
    assert all(Path(path).is_relative_to(installed.venv) for path in report["files"])
    again = json.loads(
        run(
            tthc, "kb", "import", "--bundled", "--if-empty", "--json", cwd=elsewhere, env=env
        ).stdout
    )
    assert again["imported"] is False and again["knowledge_revision"] > 0


def test_bundled_data_dir_setting_is_honoured(installed: Installed, tmp_path: Path) -> None:
    empty = tmp_path / "no-data-here"
    empty.mkdir()
    result = subprocess.run(
        [str(installed.bin / "tthc"), "kb", "import", "--bundled"],
        cwd=tmp_path,
        env=installed.env(TTHC_DATA_DIR=str(tmp_path / "var"), TTHC_BUNDLED_DATA_DIR=str(empty)),
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "Không tìm thấy dữ liệu kèm theo" in result.stderr and str(empty) in result.stderr
    assert not (tmp_path / "var" / "tthc.sqlite3").exists()  # nothing touched
