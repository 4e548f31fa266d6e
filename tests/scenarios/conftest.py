"""Fixtures shared by the scenario tests: one mosquitto per module, the example site on free
ports (each test starts its Modbus gateways anew)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from core.site import Site
from tests.scenarios.harness import site_on_free_ports
from tests.servers.mosquitto import Mosquitto, start_mosquitto

EXAMPLE_SITE = Path(__file__).resolve().parent.parent.parent / "examples" / "site.yaml"


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mosquitto]:
    server = start_mosquitto(tmp_path_factory.mktemp("mosquitto"))
    yield server
    server.stop()


@pytest.fixture
def example_site() -> Site:
    return site_on_free_ports(EXAMPLE_SITE)
