"""docker-compose.yml, Dockerfile and .env.example hold together (DESIGN §3).

There is no Docker engine here, so the file is checked as data: services, images, volumes,
health checks, restart policies, the variables it needs from .env, and that every PLANTROOM_*
setting it passes is one the code reads. Where the compose plugin exists, ``docker compose
config`` must accept it too.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from plantroom.cli import _parser

ROOT = Path(__file__).resolve().parents[2]
COMPOSE: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text("utf-8"))
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
PLANTROOM_SERVICES = {"plantroom-collector", "plantroom-alerts", "plantroom-api", "simulators"}
INFRA_IMAGES = {
    "mosquitto": "eclipse-mosquitto:2",
    "influxdb": "influxdb:2",
    "postgres": "postgres:15",
    "grafana": "grafana/grafana-oss:11",
}

VAR = re.compile(r"\$\{([A-Z0-9_]+)(:?[-?][^}]*)?\}")


def env_example() -> dict[str, str]:
    out = {}
    for line in (ROOT / ".env.example").read_text("utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            out[key.strip()] = value.strip()
    return out


def parse_volume(volume: str) -> tuple[str, str]:
    """SOURCE:TARGET[:MODE], with ${VAR:-default} read as its default."""
    source, target = re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", volume).split(":")[:2]
    return source, target


def test_every_service_is_there() -> None:
    assert set(SERVICES) == set(INFRA_IMAGES) | PLANTROOM_SERVICES


def test_images_are_pinned_and_plantroom_services_share_one_build() -> None:
    for name, prefix in INFRA_IMAGES.items():
        image = SERVICES[name]["image"]
        assert image.startswith(prefix), (name, image)
        assert ":" in image and not image.endswith(":latest"), (name, image)
    for name in PLANTROOM_SERVICES:
        service = SERVICES[name]
        assert service["build"] == ".", name
        assert service["image"] == "plantroom:${IMAGE_TAG:-latest}", name
    assert (ROOT / "Dockerfile").is_file()


def test_plantroom_services_run_plantroom_subcommands() -> None:
    known = set(_parser()._subparsers._group_actions[0].choices)  # type: ignore[union-attr]
    for name in PLANTROOM_SERVICES:
        command = SERVICES[name]["command"]
        assert command[0] == "plantroom", name
        assert command[1] in known, (name, command)


def test_every_service_restarts_and_servers_have_health_checks() -> None:
    for name, service in SERVICES.items():
        assert service.get("restart") == "unless-stopped", name
    for name in [*INFRA_IMAGES, "plantroom-api"]:
        check = SERVICES[name].get("healthcheck")
        assert check and check["test"][0] in ("CMD", "CMD-SHELL"), name
        assert {"interval", "timeout", "retries"} <= set(check), name


def test_dependencies_wait_for_healthy_services() -> None:
    for name, service in SERVICES.items():
        shared = service.get("network_mode", "").removeprefix("service:")
        for dep, rule in (service.get("depends_on") or {}).items():
            assert dep in SERVICES, (name, dep)
            if dep == shared:  # joins that service's network namespace: it must only be up
                assert rule["condition"] == "service_started", (name, dep)
                continue
            assert rule["condition"] == "service_healthy", (name, dep)
            assert "healthcheck" in SERVICES[dep], (name, dep)


def test_simulated_modbus_devices_are_reachable_by_the_collector() -> None:
    """The example site's Modbus gateways are at 127.0.0.1: same namespace as the collector."""
    assert SERVICES["simulators"]["network_mode"] == "service:plantroom-collector"
    assert "ports" not in SERVICES["simulators"]


def test_state_lives_in_named_volumes_and_bind_mounts_exist() -> None:
    declared = set(COMPOSE["volumes"])
    used = set()
    for name, service in SERVICES.items():
        for volume in service.get("volumes", []):
            source, target = parse_volume(volume)
            if source.startswith("./"):
                assert (ROOT / source).exists(), (name, source)
            else:
                assert source in declared, (name, source)
                used.add(source)
            assert target.startswith("/"), (name, volume)
    assert used == declared
    for name, data in [
        ("plantroom-collector", "/var/lib/plantroom"),
        ("mosquitto", "/mosquitto/data"),
        ("influxdb", "/var/lib/influxdb2"),
        ("postgres", "/var/lib/postgresql/data"),
        ("grafana", "/var/lib/grafana"),
    ]:
        mounts = {t: s for s, t in map(parse_volume, SERVICES[name]["volumes"])}
        assert mounts[data] in declared, name


def test_secrets_come_from_env_and_the_example_defines_them() -> None:
    text = (ROOT / "docker-compose.yml").read_text("utf-8")
    needed = {m[1] for m in VAR.finditer(text) if not m[2] or "?" in m[2]}
    defaulted = {m[1] for m in VAR.finditer(text) if m[2] and "?" not in m[2]}
    for secret in (
        "MQTT_PASSWORD",
        "INFLUXDB_TOKEN",
        "POSTGRES_PASSWORD",
        "GRAFANA_ADMIN_PASSWORD",
    ):
        assert f"${{{secret}:?" in text, f"{secret} must be required, not silently empty"
    example = env_example()
    assert needed <= example.keys(), needed - example.keys()
    unused = example.keys() - needed - defaulted - {"COMPOSE_PROJECT_NAME"}
    assert not unused, f"unused in .env.example: {unused}"
    for key, value in example.items():
        if "PASSWORD" in key or "TOKEN" in key:
            assert "CHANGE-ME" in value, key
            # these values are put into URLs unescaped
            assert re.fullmatch(r"[A-Za-z0-9_-]+", value), key
    assert ".env" in (ROOT / ".gitignore").read_text("utf-8").split()
    # nothing secret is spelled out in the compose file itself
    assert "CHANGE-ME" not in text


def test_plantroom_settings_passed_are_ones_the_code_reads() -> None:
    passed = {
        key
        for name in PLANTROOM_SERVICES
        for key in (SERVICES[name].get("environment") or {})
        if key.startswith("PLANTROOM_")
    }
    code = "\n".join(
        p.read_text("utf-8")
        for package in ("core", "storage", "collectors", "alerts", "api", "simulators", "plantroom")
        for p in (ROOT / package).rglob("*.py")
    )
    read = set(re.findall(r"\"(PLANTROOM_[A-Z_]+)\"", code))
    assert passed, "no PLANTROOM_* settings passed"
    assert passed <= read, passed - read
    for name in PLANTROOM_SERVICES - {"simulators"}:
        env = SERVICES[name]["environment"]
        assert {"PLANTROOM_MQTT_URL", "PLANTROOM_TSDB_URL", "PLANTROOM_DB_URL"} <= set(env)
        assert env["PLANTROOM_TSDB_URL"].startswith("influxdb://${INFLUXDB_TOKEN}@influxdb:8086")


def test_simulators_run_only_in_their_profile() -> None:
    assert SERVICES["simulators"]["profiles"] == ["simulators"]
    for name in set(SERVICES) - {"simulators"}:
        assert "profiles" not in SERVICES[name], name


def test_influxdb_is_initialised_for_influxql_reads() -> None:
    env = SERVICES["influxdb"]["environment"]
    for key in ("ORG", "BUCKET", "ADMIN_TOKEN", "USERNAME", "PASSWORD"):
        assert f"DOCKER_INFLUXDB_INIT_{key}" in env
    assert env["DOCKER_INFLUXDB_INIT_MODE"] == "setup"
    script = (ROOT / "deploy/influxdb/init/10-plantroom.sh").read_text("utf-8")
    assert "influx v1 dbrp create" in script and "--default" in script
    assert "influx v1 auth create" in script and "--read-bucket" in script


@pytest.mark.parametrize(
    "script",
    [
        "deploy/mosquitto/entrypoint.sh",
        "deploy/influxdb/init/10-plantroom.sh",
        "deploy/postgres/init/10-grafana-reader.sh",
    ],
)
def test_deploy_scripts_are_valid_shell(script: str) -> None:
    shell = "bash" if "influxdb" in script or "postgres" in script else "sh"
    subprocess.run([shell, "-n", str(ROOT / script)], check=True)


def compose_command() -> list[str] | None:
    """``docker compose`` (v2 plugin) or Debian's ``docker-compose`` (v1), whichever exists."""
    docker = shutil.which("docker")
    if docker is not None:
        probe = subprocess.run([docker, "compose", "version"], capture_output=True, check=False)
        if probe.returncode == 0:
            return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    return [legacy] if legacy else None


@pytest.mark.skipif(compose_command() is None, reason="neither docker compose nor docker-compose")
def test_docker_compose_config_accepts_the_file(tmp_path: Path) -> None:
    command = compose_command()
    assert command is not None
    env = tmp_path / ".env"
    env.write_text((ROOT / ".env.example").read_text("utf-8"), "utf-8")
    base = [*command, "--env-file", str(env), "-f", str(ROOT / "docker-compose.yml")]
    checked = subprocess.run(
        [*base, "--profile", "simulators", "config"],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert checked.returncode == 0, checked.stderr
    resolved = yaml.safe_load(checked.stdout)
    assert set(resolved["services"]) == set(SERVICES)
    # a missing secret is an error, not an empty password
    env.write_text(
        "\n".join(
            line for line in env.read_text("utf-8").splitlines() if "MQTT_PASSWORD" not in line
        ),
        "utf-8",
    )
    broken = subprocess.run(
        [*base, "config"], capture_output=True, text=True, check=False, cwd=ROOT
    )
    assert broken.returncode != 0
    assert "set MQTT_PASSWORD in .env" in broken.stderr
