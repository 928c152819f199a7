"""The image's entrypoint, run for real outside Docker: the non-editable install on PATH,
settings pointing at temporary folders, a reduced copy of the bundled data.

From nothing (no database, no index) it migrates, imports the bundled data, builds the
index and serves; /readyz and the container healthcheck say ready; SIGTERM stops it; a
second start skips the import and the build; `worker` runs `tthc worker`; other commands
pass through.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import REPO_ROOT
from tests.deploy.conftest import Installed, run, small_bundle

ENTRYPOINT = REPO_ROOT / "docker" / "entrypoint.sh"
HEALTHCHECK = REPO_ROOT / "docker" / "healthcheck.py"
#: Index build of the reduced data with the real model, on a busy 2-core machine.
START_TIMEOUT = 240.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def deployment(installed: Installed, tmp_path: Path) -> dict[str, str]:
    """Settings of a fresh deployment: nothing exists yet but the reduced bundled data."""
    (tmp_path / "elsewhere").mkdir()
    return installed.env(
        TTHC_DATA_DIR=str(tmp_path / "var"),
        TTHC_BUNDLED_DATA_DIR=str(small_bundle(tmp_path / "bundle")),
        TTHC_HOST="127.0.0.1",  # the image listens on 0.0.0.0; tests stay on loopback
        TTHC_PORT=str(free_port()),
        TTHC_ROLE_FILE=str(tmp_path / "role"),
    )


def healthcheck(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """The image's HEALTHCHECK command, with the installed venv's python (first on PATH)."""
    return subprocess.run(
        ["python", str(HEALTHCHECK), *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )


@pytest.fixture
def serving(deployment: dict[str, str], tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    """`entrypoint.sh` with no argument (the image's default command: serve)."""
    log = (tmp_path / "entrypoint.log").open("w+")
    process = subprocess.Popen(
        ["sh", str(ENTRYPOINT)],
        cwd=tmp_path / "elsewhere",
        env=deployment,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        log.close()


def wait_ready(process: subprocess.Popen[str], port: str, log: Path) -> httpx.Response:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()
        try:
            response = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5)
            if response.status_code == 200:
                return response
        except httpx.TransportError:
            pass
        time.sleep(1)
    pytest.fail(f"not ready after {START_TIMEOUT} s:\n{log.read_text()}")


def test_from_nothing_to_serving_then_restart(
    serving: subprocess.Popen[str], deployment: dict[str, str], tmp_path: Path
) -> None:
    port, log = deployment["TTHC_PORT"], tmp_path / "entrypoint.log"
    ready = wait_ready(serving, port, log).json()

    index = Path(deployment["TTHC_DATA_DIR"]) / "index"
    current = (index / "current").readlink().name
    assert ready["generation"] == ready["current"] == current
    assert ready["fallback"] is False and ready["verified"] is True
    assert (tmp_path / "role").read_text().strip() == "serve"
    assert healthcheck(deployment).returncode == 0
    answer = httpx.post(
        f"http://127.0.0.1:{port}/api/chat",
        json={"message": "đường dây nóng", "session_id": "deploy-test"},
        timeout=120,
    )
    assert answer.status_code == 200 and answer.json()["text"]
    output = log.read_text()
    for step in ("migrating", "importing the bundled public data", "building it", "serving on"):
        assert step in output, output

    # `exec`: the entrypoint's process *is* `tthc serve` now, so a container's SIGTERM
    # reaches the server (uvicorn shuts down gracefully, then re-raises the signal).
    cmdline = Path(f"/proc/{serving.pid}/cmdline").read_bytes().split(b"\0")
    assert b"serve" in cmdline and any(part.endswith(b"/tthc") for part in cmdline), cmdline
    serving.send_signal(signal.SIGTERM)
    assert serving.wait(timeout=60) in (0, -signal.SIGTERM)
    unhealthy = healthcheck(deployment)
    assert unhealthy.returncode == 1 and "unreachable" in unhealthy.stderr

    # A restart (or another replica): everything is there, nothing is redone.
    again = run("sh", ENTRYPOINT, "setup", cwd=tmp_path / "elsewhere", env=deployment)
    assert "search index: present" in again.stderr
    assert "không nhập lại" in again.stdout
    assert [p.name for p in index.glob("gen-*")] == [current]

    # `worker` runs `tthc worker` (set-up skipped here: done above), which refuses
    # SQLite: workers need PostgreSQL; on SQLite `tthc serve` runs the reply jobs itself.
    worker = subprocess.run(
        ["sh", str(ENTRYPOINT), "worker"],
        cwd=tmp_path / "elsewhere",
        env={**deployment, "TTHC_SETUP": "0"},
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert (tmp_path / "role").read_text().strip() == "worker"
    assert "migrating" not in worker.stderr and "starting a worker" in worker.stderr
    assert worker.returncode == 2 and "PostgreSQL" in worker.stderr


def test_other_commands_pass_through(deployment: dict[str, str], tmp_path: Path) -> None:
    result = run("sh", ENTRYPOINT, "tthc", "kb", "init", cwd=tmp_path / "elsewhere", env=deployment)
    assert "Schema up to date" in result.stdout
    assert "migrating" not in result.stderr  # no set-up around an operator's command
    assert not (tmp_path / "role").exists()


def test_worker_healthcheck(deployment: dict[str, str], tmp_path: Path) -> None:
    env = dict(deployment)
    run("sh", ENTRYPOINT, "tthc", "kb", "init", cwd=tmp_path / "elsewhere", env=env)
    no_index = healthcheck(env, "worker")
    assert no_index.returncode == 1 and "no index generation" in no_index.stderr
    index = Path(deployment["TTHC_DATA_DIR"]) / "index"
    (index / "gen-1").mkdir(parents=True)
    (index / "current").symlink_to("gen-1")
    assert healthcheck(env, "worker").returncode == 0
    broken = {**env, "TTHC_DATABASE_URL": f"sqlite:///{tmp_path}/missing-dir/x.sqlite3"}
    assert healthcheck(broken, "worker").returncode == 1


def test_ready_json_is_what_the_healthcheck_reads(deployment: dict[str, str]) -> None:
    """A web container whose server answers 503 (no intact index yet) is unhealthy."""
    from http.server import BaseHTTPRequestHandler, HTTPServer
    from threading import Thread

    class NotReady(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps({"status": "not ready"}).encode()
            self.send_response(503)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", int(deployment["TTHC_PORT"])), NotReady)
    thread = Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        result = healthcheck(deployment, "serve")
    finally:
        server.shutdown()
        thread.join()
    assert result.returncode == 1 and "503" in result.stderr
