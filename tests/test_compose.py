"""compose.yaml, .env.example and the Dockerfile stay valid: the production-like topology the
README promises. ``docker compose config`` checks the file where Docker Compose is
installed; everywhere (``make test`` needs no Docker) every service, command, health check
and variable is checked against the settings class and the command line."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml
from dotenv import dotenv_values

from application.config import Settings
from interfaces.cli import app as cli

ROOT = Path(__file__).parent.parent
COMPOSE = yaml.safe_load((ROOT / "compose.yaml").read_text())
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
WORKSYNC = {name for name, s in SERVICES.items() if s.get("image") == "worksync:latest"}
ONE_SHOT = {name for name, s in SERVICES.items() if s.get("restart") == "no"}
# Read by a process, not by the settings class: prometheus-client's multiprocess folder.
PROCESS_VARIABLES = {"PROMETHEUS_MULTIPROC_DIR"}
INTERPOLATION = re.compile(r"\$\{([A-Z0-9_]+)(?::?[-?][^}]*)?\}")


def setting_names() -> set[str]:
    names = set()
    for field in Settings.model_fields.values():
        alias = field.validation_alias
        names.update(getattr(alias, "choices", None) or [alias])
    return names


def example() -> dict[str, str | None]:
    """.env.example with every commented-out default uncommented."""
    lines = (ROOT / ".env.example").read_text().splitlines()
    text = "\n".join(
        line.removeprefix("# ") if re.match(r"^# [A-Z][A-Z0-9_]*=", line) else line
        for line in lines
    )
    path = ROOT / ".pytest-env-example"
    try:
        path.write_text(text)
        return dotenv_values(path)
    finally:
        path.unlink()


class CliRefused(Exception):
    """The command line would refuse these arguments."""


def check_cli(args: list[str]) -> None:
    """Parse ``worksync ...`` as the command line would (unknown commands or options raise)."""
    assert args[0] == "worksync", args
    command: Any = typer.main.get_command(cli)
    rest = list(args[1:])
    while hasattr(command, "commands"):  # a group (typer carries its own click)
        assert rest, "a command is missing"
        name, rest = rest[0], rest[1:]
        if name not in command.commands:
            raise CliRefused(f"unknown command {name!r}")
        command = command.commands[name]
    try:
        command.make_context(command.name or "", rest)
    except Exception as e:  # typer's own click: its UsageError is not click's
        if type(e).__name__ not in (
            "NoSuchOption",
            "BadOptionUsage",
            "BadParameter",
            "UsageError",
            "MissingParameter",
            "BadArgumentUsage",
        ):
            raise
        raise CliRefused(str(e)) from e


@pytest.mark.skipif(
    shutil.which("docker") is None
    or subprocess.run(
        ["docker", "compose", "version"], capture_output=True, check=False
    ).returncode,
    reason="Docker Compose is not installed here (the parse below checks the file instead)",
)
def test_docker_compose_accepts_the_file():
    done = subprocess.run(
        ["docker", "compose", "--env-file", ".env.example", "config", "--quiet"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def test_the_topology_has_every_service_the_readme_names():
    assert {
        "postgres",
        "postgres-replica",
        "redis",
        "migrate",
        "api",
        "proxy",
        "projector",
        "realtime",
        "worker",
        "minio",
        "minio-init",
        "mailpit",
    } <= set(SERVICES)
    assert SERVICES["api"]["deploy"]["replicas"] >= 2
    assert SERVICES["realtime"]["deploy"]["replicas"] >= 2  # failover
    assert "ports" not in SERVICES["api"]  # only through the proxy
    assert {"migrate", "minio-init"} == ONE_SHOT


def test_every_worksync_command_is_one_the_cli_accepts():
    assert {"migrate", "api", "projector", "realtime", "worker"} <= WORKSYNC
    for name in WORKSYNC:
        check_cli(SERVICES[name]["command"])
    api = SERVICES["api"]["command"]
    assert {"--no-projector", "--no-realtime-emitter", "--workers"} <= set(api)
    assert SERVICES["projector"]["command"] == ["worksync", "projector"]
    with pytest.raises(CliRefused):
        check_cli(["worksync", "serve", "--no-such-option"])
    with pytest.raises(CliRefused):
        check_cli(["worksync", "no-such-command"])


def test_every_long_running_service_has_a_health_check_and_dependencies_exist():
    for name, service in SERVICES.items():
        if name not in ONE_SHOT:
            test = service.get("healthcheck", {}).get("test")
            assert test, f"{name} has no health check"
            assert test[0] in ("CMD", "CMD-SHELL"), name
            if test[0] == "CMD" and test[1] == "worksync":
                check_cli(test[1:])
            if test[0] == "CMD" and test[1:3] == ["python", "-c"]:
                compile(test[3], f"{name} healthcheck", "exec")  # valid Python
        for dependency, condition in (service.get("depends_on") or {}).items():
            assert dependency in SERVICES, f"{name} depends on unknown {dependency}"
            wanted = condition["condition"]
            if wanted == "service_healthy":
                assert "healthcheck" in SERVICES[dependency], (name, dependency)
            if wanted == "service_completed_successfully":
                assert dependency in ONE_SHOT, (name, dependency)


def test_every_variable_is_a_setting_and_every_setting_is_in_the_example():
    settings = setting_names()
    for name in WORKSYNC:
        for variable in SERVICES[name]["environment"]:
            assert variable in settings | PROCESS_VARIABLES, f"{name}: {variable} is no setting"
    documented = example()
    missing = sorted(settings - set(documented))
    assert not missing, f".env.example lacks {missing}"
    # Every value in it (the defaults uncommented) is one the settings class accepts.
    parsed = Settings(**{k: v for k, v in documented.items() if k in settings and v})
    assert parsed.jwt_expires_in == 900
    # Every ${VARIABLE} compose.yaml interpolates is in .env.example (the required ones set).
    text = (ROOT / "compose.yaml").read_text()
    for match in INTERPOLATION.finditer(text):
        assert match.group(1) in documented, f"{match.group(1)} is not in .env.example"
        if ":?" in match.group(0):
            assert documented[match.group(1)], f"{match.group(1)} must have a value"


def test_reads_go_to_the_replica_and_commands_to_the_primary():
    env = SERVICES["api"]["environment"]
    assert "@postgres:5432/" in env["DATABASE_URL"]
    assert "@postgres-replica:5432/" in env["DATABASE_READ_URL"]
    replica = SERVICES["postgres-replica"]
    script = (ROOT / "deploy/postgres/replica-entrypoint.sh").read_text()
    assert "pg_basebackup" in script
    assert " -R " in script  # standby.signal + primary_conninfo
    assert any("replica-entrypoint.sh" in v for v in replica["volumes"])
    assert "pg_is_in_recovery" in replica["healthcheck"]["test"][1]
    primary = " ".join(SERVICES["postgres"]["command"])
    assert "wal_level=replica" in primary
    init = (ROOT / "deploy/postgres/primary-init.sh").read_text()
    assert "REPLICATION" in init
    assert "host replication replicator" in init


def test_the_proxy_keeps_socket_io_polling_sessions_on_one_replica():
    proxy = SERVICES["proxy"]
    assert any("haproxy.cfg" in v for v in proxy["volumes"])
    config = (ROOT / "deploy/haproxy/haproxy.cfg").read_text()
    backend = config.split("backend api", 1)[1]
    assert re.search(r"^\s*cookie \w+ insert .*dynamic", backend, re.M)
    assert "dynamic-cookie-key" in backend
    assert re.search(r"server-template \w+ \d+ api:8000 check resolvers docker", backend)
    assert "timeout tunnel" in config  # websockets outlive the client and server timeouts
    address = proxy["networks"]["worksync"]["ipv4_address"]
    assert SERVICES["api"]["environment"]["FORWARDED_ALLOW_IPS"] == address


def test_shell_commands_escape_their_dollars():
    """``$VAR`` in a shell command must be ``$$VAR`` (else compose interpolates it)."""
    for name, service in SERVICES.items():
        parts = []
        for key in ("command", "entrypoint"):
            value = service.get(key) or []
            parts += value if isinstance(value, list) else [value]
        parts += [str(p) for p in service.get("healthcheck", {}).get("test", [])]
        for part in parts:
            bare = re.findall(r"(?<!\$)\$(?![${])", part.replace("$$", ""))
            assert not bare, f"{name}: unescaped $ in {part!r}"


def test_the_dockerfile_builds_wheels_and_runs_slim_as_a_user():
    text = (ROOT / "Dockerfile").read_text()
    stages = re.findall(r"^FROM (\S+) AS (\w+)", text, re.M)
    assert [stage for _, stage in stages] == ["build", "runtime"]
    build, runtime = re.split(r"^FROM .* AS runtime$", text, flags=re.M)
    assert "pip wheel" in build
    assert "--no-index --find-links /wheels" in runtime
    assert all(image.endswith("-slim") for image, _ in stages)
    users = re.findall(r"^USER (\S+)", runtime, re.M)
    assert users
    assert users[-1].split(":")[0] not in ("root", "0")
    command = shlex.split(re.search(r"^CMD (.+)$", runtime, re.M).group(1).replace('"', " "))
    check_cli([c.strip("[],") for c in command if c.strip("[],")])
