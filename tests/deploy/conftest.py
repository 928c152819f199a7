"""Deployment fixtures: the project built as a wheel and installed, non-editable, into a
fresh virtualenv (its dependencies taken from the test run's own environment, offline),
and a reduced copy of the bundled data for runs that must stay short."""

from __future__ import annotations

import gzip
import os
import shutil
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

import pytest

from knowledge.bundled import BUNDLED_FILES
from tests.conftest import DATA_DIR, REPO_ROOT

#: What the image's build stage copies: the project itself, nothing of the checkout else.
SOURCES = ("pyproject.toml", "README.md", "knowledge", "indexer", "bot", "data")


@dataclass(frozen=True)
class Installed:
    """A virtualenv holding the project as a normal (non-editable) install."""

    wheel: Path
    venv: Path

    @property
    def bin(self) -> Path:
        return self.venv / "bin"

    def env(self, **settings: str) -> dict[str, str]:
        """A minimal environment: this venv first on PATH, no TTHC_ setting but ``settings``."""
        env = {
            "PATH": f"{self.bin}{os.pathsep}/usr/bin{os.pathsep}/bin",
            "HOME": os.environ.get("HOME", "/tmp"),
            "LANG": "C.UTF-8",
            "OMP_NUM_THREADS": "1",
            "HF_HUB_OFFLINE": "1",
        }
        env.update(settings)
        return env


def run(
    *args: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a command; fail the test with its output when it fails."""
    result = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, f"{args}: {result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="session")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """Wheel built from a copy of the sources, installed into a fresh virtualenv."""
    root = tmp_path_factory.mktemp("install")
    src = root / "src"
    src.mkdir()
    for name in SOURCES:
        path = REPO_ROOT / name
        if path.is_dir():
            # symlinks=True: knowledge/bundled_data stays a link to ../data, as in git.
            shutil.copytree(
                path,
                src / name,
                symlinks=True,
                ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"),
            )
        else:
            shutil.copy2(path, src / name)
    dist = root / "dist"
    pip = (sys.executable, "-m", "pip")
    run(*pip, "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q", "-w", dist, src)
    [wheel] = dist.glob("*.whl")
    venv = root / "venv"
    python = venv / "bin" / "python"
    run(sys.executable, "-m", "venv", "--without-pip", venv)
    # Dependencies: this environment's site-packages, appended by a .pth file. Its own
    # .pth files (among them the editable install of the checkout) are not processed
    # for a directory added this way, so the project can only come from the wheel.
    where = "import sysconfig; print(sysconfig.get_path('purelib'))"
    purelib = Path(run(python, "-c", where).stdout.strip())
    (purelib / "_tthc_test_dependencies.pth").write_text(
        sysconfig.get_path("purelib") + "\n", "utf-8"
    )
    run(*pip, "--python", python, "install", "--no-deps", "--no-index", "-q", wheel)
    return Installed(wheel=wheel, venv=venv)


def small_bundle(dest: Path, rows: int = 12) -> Path:
    """The bundled files, each cut to its first ``rows`` records (same names and formats).

    The full data takes minutes to embed; this keeps every importer and the index build
    in the loop at a few hundred passages.
    """
    from openpyxl import load_workbook

    for name in BUNDLED_FILES:
        source, target = DATA_DIR / name, dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if name.endswith(".jsonl.gz"):
            with gzip.open(source, "rt", encoding="utf-8") as lines:
                head = [line for _, line in zip(range(rows), lines, strict=False)]
            with gzip.open(target, "wt", encoding="utf-8") as out:
                out.writelines(head)
        elif name.endswith(".xlsx"):
            book = load_workbook(source)
            for sheet in book.worksheets:
                if sheet.max_row > rows:
                    sheet.delete_rows(rows + 1, sheet.max_row - rows)
            book.save(target)
        else:
            shutil.copy2(source, target)
    return dest
