"""Shared fixtures: real brokers on free ports, the example site, fresh stores."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from core.endpoints import MqttEndpoint
from core.logs import LineFormatter
from core.site import Site, load_site
from plantroom.broker import EmbeddedBroker
from storage import RecordsDB, SqliteTimeSeriesStore, site_tags
from tests.servers.fixtures import influxdb1, victoria  # noqa: F401  (session servers)
from tests.servers.mosquitto import Mosquitto, start_mosquitto
from tests.servers.postgres import Postgres, start_postgres

ROOT = Path(__file__).resolve().parent.parent


def pytest_sessionstart(session: pytest.Session) -> None:
    """Captured logs in failure reports show each event's fields (``what=… reason=…``), not
    just its name: a failing run on CI should say why without a rerun."""
    plugin = session.config.pluginmanager.get_plugin("logging-plugin")
    for name in ("report_handler", "caplog_handler"):
        handler = getattr(plugin, name, None)
        if handler is not None:
            handler.setFormatter(LineFormatter())


@pytest.fixture
def site() -> Site:
    return load_site(ROOT / "examples" / "site.yaml")


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[Mosquitto]:
    broker = start_mosquitto(tmp_path / "mosquitto")
    yield broker
    broker.stop()


@pytest.fixture
async def embedded_broker() -> AsyncIterator[MqttEndpoint]:
    broker = EmbeddedBroker()
    await broker.start()
    yield MqttEndpoint.parse("embedded").with_port(broker.port)
    await broker.stop()


@pytest.fixture
def ts_store(tmp_path: Path, site: Site) -> Iterator[SqliteTimeSeriesStore]:
    store = SqliteTimeSeriesStore(tmp_path / "ts.db", site_tags(site))
    yield store
    store.close()


@pytest.fixture
def records(tmp_path: Path) -> Iterator[RecordsDB]:
    db = RecordsDB(f"sqlite:///{tmp_path / 'records.db'}")
    yield db
    db.close()


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """One real PostgreSQL for the session; ``postgres.create_database()`` per test."""
    server = start_postgres()
    yield server
    server.stop()
