"""A real InfluxDB 1.6 loaded once with simulator data, as our writer lays it out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core.site import load_site
from storage import site_tags
from storage.influx_ts import line_protocol
from tests.dashboards.plantdata import plant_readings
from tests.servers.influxdb import InfluxDB1

ROOT = Path(__file__).resolve().parents[2]
START = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)
STEPS, DT = 120, 60.0  # two hours, one reading per minute and machine
END = START + timedelta(seconds=STEPS * DT)


@dataclass
class LoadedInflux:
    server: InfluxDB1
    db: str


@pytest.fixture(scope="session")
def plant_influx(influxdb1: InfluxDB1) -> LoadedInflux:
    site = load_site(ROOT / "examples" / "site.yaml")
    readings = plant_readings(site, START, STEPS, DT)
    lines = line_protocol(readings, site_tags(site))
    influxdb1.create_database("plantroom")
    for i in range(0, len(lines), 5000):
        influxdb1.write_lines("plantroom", lines[i : i + 5000])
    return LoadedInflux(influxdb1, "plantroom")
