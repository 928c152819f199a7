"""The ``tthc kb`` commands on the whole bundled knowledge base (embedded SQLite)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from bot.cli import main


def run(*args: str) -> Any:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture(scope="module")
def bundled_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One import of every bundled file, shared by the read-only tests of this module."""
    data_dir = tmp_path_factory.mktemp("bundled")
    env = {**os.environ, "TTHC_DATA_DIR": str(data_dir)}
    env.pop("TTHC_DATABASE_URL", None)
    subprocess.run(
        [sys.executable, "-m", "bot.cli", "kb", "import", "--bundled", "--json"],
        check=True,
        env=env,
        capture_output=True,
    )
    return data_dir


@pytest.fixture
def on_bundled(bundled_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TTHC_DATA_DIR", str(bundled_db))


@pytest.mark.usefixtures("on_bundled")
def test_stats_meet_the_promised_counts() -> None:
    stats = json.loads(run("kb", "stats", "--json").stdout)
    procedures = stats["procedures"]
    assert procedures["total"] >= 5700
    assert procedures["by_detail"]["full"] >= 3000
    assert procedures["by_dataset"]["dvcqg_opengov_details"] == 502
    assert stats["faqs"]["total"] == 477
    assert stats["plans"]["total"] == 5
    assert stats["hotlines"]["total"] == 3
    assert set(procedures["by_online_level"]) == {"none", "mot_phan", "toan_trinh"}


@pytest.mark.usefixtures("on_bundled")
def test_show_thuong_tru() -> None:
    data = json.loads(run("kb", "show", "1.004222", "--json").stdout)
    channels = {c["method"]: c for c in data["channels"]}
    assert channels["truc_tuyen"]["fees"][0]["amount_vnd"] == 10000
    assert channels["truc_tiep"]["fees"][0]["amount_vnd"] == 20000
    assert channels["truc_tuyen"]["time_value"] == 7
    assert channels["truc_tuyen"]["time_unit"] == "working_day"
    assert data["online_level"] == "mot_phan"
    assert data["online_url"].startswith("https://dichvucong.gov.vn/")
    assert data["updated_at"]


@pytest.mark.usefixtures("on_bundled")
def test_show_khai_sinh_lists_documents_and_channels() -> None:
    data = json.loads(run("kb", "show", "1.001193", "--json").stdout)
    assert data["name"] == "Thủ tục đăng ký khai sinh"
    assert len(data["documents"]) >= 1 and all(d["name"] for d in data["documents"])
    assert len(data["channels"]) >= 1
    assert {c["method"] for c in data["channels"]} <= {"truc_tuyen", "truc_tiep", "buu_chinh"}


@pytest.mark.usefixtures("on_bundled")
def test_show_other_kinds_and_missing_code() -> None:
    faq = json.loads(run("kb", "show", "moh-faq-0017", "--kind", "faq", "--json").stdout)
    assert faq["source_id"] == "moh-faq-0017" and faq["answer"]
    missing = CliRunner().invoke(main, ["kb", "show", "0.000000"])
    assert missing.exit_code == 1
    assert "không có trong cơ sở tri thức" in missing.output


@pytest.mark.usefixtures("on_bundled")
def test_reimport_of_bundled_data_changes_nothing() -> None:
    result = run("kb", "import", "--bundled", "--json")
    report = json.loads(result.stdout)
    assert report["created"] == {} and report["updated"] == {}
    assert sum(report["unchanged"].values()) + sum(report["skipped"].values()) > 5700
    # The portal lists two different procedures under code 1.014325: the first is kept.
    assert any("1.014325" in w for w in report["warnings"])


def test_broken_file_exits_2_and_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "hotlines.csv"
    path.write_text("scope,area,name,phones,source\nnowhere,,Tên,0000 000 000,fixture\n", "utf-8")
    result = CliRunner().invoke(main, ["kb", "import", str(path)])
    assert result.exit_code == 2
    assert f"{path}:2:scope" in result.output
    stats = json.loads(run("kb", "stats", "--json").stdout)
    assert stats["hotlines"]["total"] == 0


def test_staff_status_history_rollback(tmp_path: Path) -> None:
    path = tmp_path / "hotlines.csv"
    path.write_text(
        "scope,area,name,phones,source\nprovince,Tỉnh Mẫu,Tên,0000 000 000,fixture\n", "utf-8"
    )
    run("kb", "import", str(path))
    key = "province|Tỉnh Mẫu|Tên"
    run("kb", "set-status", key, "retired", "--kind", "hotline", "--author", "staff1")
    assert (
        json.loads(run("kb", "show", key, "--kind", "hotline", "--json").stdout)["status"]
        == "retired"
    )
    history = run("kb", "history", key, "--kind", "hotline").output.splitlines()
    assert len(history) == 2 and "staff1" in history[1] and "status" in history[1]
    first_revision = history[0].split("\t")[0]
    run("kb", "rollback", key, first_revision, "--kind", "hotline", "--author", "staff1")
    assert (
        json.loads(run("kb", "show", key, "--kind", "hotline", "--json").stdout)["status"]
        == "published"
    )


def test_export_round_trip_via_cli(tmp_path: Path) -> None:
    src = Path(__file__).resolve().parents[2] / "data" / "moh_dvc_faq" / "faq_pairs.jsonl.gz"
    run("kb", "import", str(src))
    out = tmp_path / "faq.xlsx"
    assert (
        "faq=477"
        in run("kb", "export", "--format", "xlsx", "--kind", "faq", "--out", str(out)).output
    )
    report = json.loads(run("kb", "import", str(out), "--json").stdout)
    assert report["unchanged"] == {"faq": 477} and report["updated"] == {}
