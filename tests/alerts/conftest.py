"""Ticket tests run on SQLite and on a real PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.alerts.rig import Rig
from tests.servers.postgres import Postgres


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'records.db'}"
    server: Postgres = request.getfixturevalue("postgres")
    return server.create_database()


@pytest.fixture
def rig(tmp_path: Path, db_url: str) -> Iterator[Rig]:
    r = Rig(tmp_path, db_url)
    r.tick()  # a first healthy step
    yield r
    r.close()
