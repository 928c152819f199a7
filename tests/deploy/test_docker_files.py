"""docker/: what can be checked without a Docker engine.

The compose file parses and names every setting of .env.example with the same default;
the Dockerfile is multi-stage, ends as a non-root user, copies files that exist and
wires the entrypoint and the healthcheck it copies; the entrypoint is POSIX sh.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import REPO_ROOT

DOCKER = REPO_ROOT / "docker"
ENV_EXAMPLE = REPO_ROOT / ".env.example"
INTERPOLATION = re.compile(r"\$\{([A-Z0-9_]+)(?::?[-?]([^}]*))?\}")


def env_example() -> dict[str, str]:
    """``NAME=value`` lines of .env.example (comments and blank lines skipped)."""
    out: dict[str, str] = {}
    for line in ENV_EXAMPLE.read_text("utf-8").splitlines():
        if line and not line.startswith("#") and "=" in line:
            name, value = line.split("=", 1)
            out[name.strip()] = value
    return out


#: Read by compose itself (replicas, ports, the database password), not by a process.
COMPOSE_ONLY = {
    "POSTGRES_PASSWORD",
    "TTHC_APP_REPLICAS",
    "TTHC_WORKER_REPLICAS",
    "TTHC_PUBLISH_PORTS",
}


def app_settings() -> list[str]:
    """What the processes read; TTHC_TEST_* configure the test suite, not a deployment."""
    return [
        name
        for name in env_example()
        if not name.startswith("TTHC_TEST_") and name not in COMPOSE_ONLY
    ]


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load((DOCKER / "compose.yaml").read_text("utf-8"))
    assert isinstance(data, dict)
    return data


def test_compose_services(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) >= {"postgres", "redis", "setup", "app", "worker"}
    app, worker, setup = services["app"], services["worker"], services["setup"]
    assert app["command"] == ["serve"] and worker["command"] == ["worker"]
    assert setup["command"] == ["setup"] and setup["restart"] == "no"
    # N web replicas and M workers, chosen by the operator.
    assert app["deploy"]["replicas"] == "${TTHC_APP_REPLICAS:-2}"
    assert worker["deploy"]["replicas"] == "${TTHC_WORKER_REPLICAS:-2}"
    # One index volume, shared by every process that reads or writes generations.
    for name in ("setup", "app", "worker"):
        assert "tthcdata:/var/lib/tthc" in services[name]["volumes"], name
        assert services[name]["environment"]["TTHC_DATA_DIR"] == "/var/lib/tthc"
        assert services[name]["build"]["dockerfile"] == "docker/Dockerfile"
        assert (REPO_ROOT / "docker" / services[name]["build"]["context"]).resolve() == REPO_ROOT
    assert "tthcdata" in compose["volumes"]
    # The replicas start once set-up is done and the servers are healthy.
    for name in ("app", "worker"):
        needs = services[name]["depends_on"]
        assert needs["setup"]["condition"] == "service_completed_successfully"
        assert needs["postgres"]["condition"] == needs["redis"]["condition"] == "service_healthy"
        assert services[name]["environment"]["TTHC_SETUP"] == "0"
    assert app["environment"]["TTHC_WORKER_IN_PROCESS"] == "false"
    assert app["environment"]["TTHC_HOST"] == "0.0.0.0"


def test_compose_healthchecks(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name in ("postgres", "redis", "app", "worker"):
        check = services[name]["healthcheck"]
        assert check["test"] and check["interval"], name
    assert services["app"]["healthcheck"]["test"][-1] == "serve"
    assert services["worker"]["healthcheck"]["test"][-1] == "worker"
    assert services["setup"]["healthcheck"] == {"disable": True}


def test_compose_names_every_setting_of_env_example(compose: dict[str, Any]) -> None:
    example = env_example()
    for service in ("setup", "app", "worker"):
        environment = compose["services"][service]["environment"]
        missing = [name for name in app_settings() if name not in environment]
        assert not missing, f"{service} does not name {missing}"
    environment = compose["services"]["app"]["environment"]
    for name in app_settings():
        match = INTERPOLATION.fullmatch(str(environment[name]))
        if match and match.group(1) == name:  # passed through: same default as the example
            assert (match.group(2) or "") == example[name], name


def test_compose_variables_are_in_env_example(compose: dict[str, Any]) -> None:
    text = (DOCKER / "compose.yaml").read_text("utf-8")
    used = {m.group(1) for m in INTERPOLATION.finditer(text)}
    assert used >= COMPOSE_ONLY
    assert not used - set(env_example()), "compose reads names .env.example does not list"


def test_the_compose_check_can_fail(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A setting added to .env.example but not to compose is reported."""
    copy = tmp_path / ".env.example"
    copy.write_text(ENV_EXAMPLE.read_text("utf-8") + "TTHC_SOMETHING_NEW=1\n", "utf-8")
    monkeypatch.setattr(f"{__name__}.ENV_EXAMPLE", copy)
    data = yaml.safe_load((DOCKER / "compose.yaml").read_text("utf-8"))
    with pytest.raises(AssertionError, match="TTHC_SOMETHING_NEW"):
        test_compose_names_every_setting_of_env_example(data)


def dockerfile_instructions() -> list[tuple[str, str]]:
    """``(INSTRUCTION, arguments)`` with continuation lines joined and comments dropped."""
    text = (DOCKER / "Dockerfile").read_text("utf-8")
    logical: list[str] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in logical]


def stages() -> list[list[tuple[str, str]]]:
    out: list[list[tuple[str, str]]] = []
    for instruction, args in dockerfile_instructions():
        if instruction == "FROM":
            out.append([])
        out[-1].append((instruction, args))
    return out


def test_dockerfile_is_multi_stage_and_non_root() -> None:
    build, runtime = stages()
    assert build[0][1].endswith(" AS build") and runtime[0][1].endswith(" AS runtime")
    users = [args for instruction, args in runtime if instruction == "USER"]
    assert users and users[-1].split(":")[0] not in {"root", "0"}
    user = users[-1].split(":")[0]
    assert any(
        instruction == "RUN" and "useradd" in args and user in args for instruction, args in runtime
    )
    # The runtime stage takes the built virtualenv, never the sources.
    copies = [args for instruction, args in runtime if instruction == "COPY"]
    assert any(args.startswith("--from=build /opt/tthc") for args in copies)
    assert not any(" knowledge" in args or " data " in args for args in copies)


def test_dockerfile_copies_what_exists_and_wires_the_entrypoint() -> None:
    destinations: dict[str, str] = {}
    for stage in stages():
        for instruction, args in stage:
            if instruction != "COPY" or "--from=" in args:
                continue
            parts = [p for p in args.split() if not p.startswith("--")]
            *sources, destination = parts
            for source in sources:
                assert (REPO_ROOT / source).exists(), source
                destinations[destination] = source
    instructions = dict(dockerfile_instructions())  # the last of each kind
    entrypoint = json.loads(instructions["ENTRYPOINT"])
    assert destinations[entrypoint[0]] == "docker/entrypoint.sh"
    assert json.loads(instructions["CMD"]) == ["serve"]
    check = instructions["HEALTHCHECK"]
    script = json.loads(check[check.index("CMD") + 3 :].strip())[-1]
    assert destinations[script] == "docker/healthcheck.py"
    assert "--start-period=" in check
    assert instructions["EXPOSE"] == env_example()["TTHC_PORT"]
    assert "TTHC_HOST=0.0.0.0" in instructions["ENV"]


def test_entrypoint_is_posix_sh() -> None:
    script = DOCKER / "entrypoint.sh"
    assert script.read_text("utf-8").startswith("#!/bin/sh\n")
    assert os.access(script, os.X_OK)
    mode = subprocess.run(
        ["git", "ls-files", "--stage", "docker/entrypoint.sh"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    assert not mode or mode.startswith("100755"), mode  # executable in git as well
    shells = [s for s in ("dash", "sh", "busybox") if shutil.which(s)]
    assert shells
    for shell in shells:
        args = (
            [shell, "sh", "-n", str(script)] if shell == "busybox" else [shell, "-n", str(script)]
        )
        result = subprocess.run(args, capture_output=True, text=True, check=False)
        assert result.returncode == 0, result.stderr


def test_dockerignore_keeps_secrets_out_and_what_the_image_copies_in() -> None:
    import fnmatch

    patterns = [
        line.strip()
        for line in (REPO_ROOT / ".dockerignore").read_text("utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]

    def ignored(path: str) -> bool:
        verdict = False
        for pattern in patterns:  # later lines win, "!" re-includes (Docker's rule)
            negate = pattern.startswith("!")
            pattern = pattern.lstrip("!")
            parts = path.split("/")
            if pattern.startswith("**/"):  # at any depth: match any one component
                hit = any(fnmatch.fnmatch(part, pattern[3:]) for part in parts)
            else:  # from the context root: the path or one of its parent folders
                hit = any(
                    fnmatch.fnmatch("/".join(parts[: i + 1]), pattern) for i in range(len(parts))
                )
            if hit:
                verdict = not negate
        return verdict

    assert ignored(".env") and ignored(".venv") and ignored(".git") and ignored("var")
    assert ignored("bot/__pycache__/app.cpython-311.pyc")
    for stage in stages():
        for instruction, args in stage:
            if instruction == "COPY" and "--from=" not in args:
                *sources, _ = [p for p in args.split() if not p.startswith("--")]
                for source in sources:
                    assert not ignored(source), source
    assert not ignored("knowledge/bundled_data") and not ignored("data/hotlines/hotlines.csv")
