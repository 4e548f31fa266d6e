"""Grafana provisioning: the fields Grafana requires, matching datasources and mounts."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from dashboards.grafana import INFLUX_UID, POSTGRES_UID

ROOT = Path(__file__).resolve().parents[2]
PROVISIONING = ROOT / "dashboards" / "provisioning"
COMPOSE: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text("utf-8"))
GRAFANA = COMPOSE["services"]["grafana"]


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(path.read_text("utf-8"))
    return data


def mounts() -> dict[str, str]:
    """Grafana's bind mounts: container path -> repository path."""
    out = {}
    for volume in GRAFANA["volumes"]:
        source, target = volume.split(":")[:2]
        if source.startswith("./"):
            out[target] = source[2:]
    return out


def test_datasources_have_what_grafana_requires() -> None:
    data = load(PROVISIONING / "datasources" / "plantroom.yaml")
    assert data["apiVersion"] == 1
    by_uid = {d["uid"]: d for d in data["datasources"]}
    assert set(by_uid) == {INFLUX_UID, POSTGRES_UID}  # the uids the dashboards use
    for ds in by_uid.values():
        assert {"name", "type", "uid", "access", "url"} <= set(ds), ds["uid"]
        assert ds["access"] == "proxy"
    assert sum(bool(d.get("isDefault")) for d in by_uid.values()) == 1
    influx = by_uid[INFLUX_UID]
    assert influx["type"] == "influxdb"
    assert influx["jsonData"]["version"] == "InfluxQL"  # the dashboards' queries are InfluxQL
    assert influx["jsonData"]["dbName"] and influx["user"]
    assert influx["secureJsonData"]["password"]
    assert influx["url"] == "http://influxdb:8086"
    pg = by_uid[POSTGRES_UID]
    assert pg["type"] == "grafana-postgresql-datasource"
    assert pg["url"] == "postgres:5432" and pg["user"]
    assert pg["jsonData"]["database"] and pg["secureJsonData"]["password"]


def test_datasource_variables_are_given_to_grafana() -> None:
    text = (PROVISIONING / "datasources" / "plantroom.yaml").read_text("utf-8")
    used = set(re.findall(r"\$\{([A-Z_]+)\}", text))
    assert used
    assert used <= set(GRAFANA["environment"]), used - set(GRAFANA["environment"])


def test_dashboard_provider_points_at_the_generated_dashboards() -> None:
    data = load(PROVISIONING / "dashboards" / "plantroom.yaml")
    assert data["apiVersion"] == 1
    (provider,) = data["providers"]
    assert {"name", "type", "options"} <= set(provider)
    assert provider["type"] == "file"
    path = provider["options"]["path"]
    assert mounts()[path] == "dashboards/generated"
    assert mounts()["/etc/grafana/provisioning"] == "dashboards/provisioning"
    # one folder of dashboards per site, shown by Grafana as a folder of that name
    assert provider["options"]["foldersFromFilesStructure"] is True
    assert list((ROOT / "dashboards" / "generated").glob("*/*.json"))
    home = GRAFANA["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    # ${GRAFANA_HOME_DASHBOARD:-default}: the default is the example site's overview
    default = home.split(":-", 1)[1].rstrip("}") if ":-" in home else home
    assert default.startswith(path + "/")
    assert (ROOT / "dashboards" / "generated" / default.removeprefix(path + "/")).is_file()
