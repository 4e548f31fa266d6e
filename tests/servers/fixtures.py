"""Session-scoped time-series servers, shared by the contract suite and the dashboard tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.servers.influxdb import InfluxDB1, start_influxdb1
from tests.servers.victoria import VictoriaMetrics, start_victoria


@pytest.fixture(scope="session")
def influxdb1(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InfluxDB1]:
    """Debian's InfluxDB 1.6, authentication on; ``create_database`` per test."""
    server = start_influxdb1(tmp_path_factory.mktemp("influxdb1"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def victoria(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VictoriaMetrics]:
    """A real VictoriaMetrics, which takes InfluxDB line protocol on ``/api/v2/write``."""
    server = start_victoria(tmp_path_factory.mktemp("victoria"))
    yield server
    server.stop()
