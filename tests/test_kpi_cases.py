"""The KPIs (``core.kpis``) on the golden cases, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.kpis import KpiRow
from storage import RecordsDB
from storage.kpi_queries import kpis
from tests.kpi_cases import KpiCase, load_cases, load_into
from tests.servers.postgres import Postgres

CASES = load_cases()


def check(case: KpiCase, got: dict[str, KpiRow]) -> None:
    """Every expected value of every group, counts exactly, hours and ratios to 1e-5."""
    for group, expected in case.expected.items():
        row = got[group]
        for name, value in expected.items():
            actual = getattr(row, name)
            if value is None or isinstance(value, bool):
                assert actual is value, f"{case.name} {group} {name}: {actual} != {value}"
            else:
                assert actual == pytest.approx(value, abs=1e-5), f"{case.name} {group} {name}"


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_golden_kpis(
    case: KpiCase, backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'records.db'}"
    else:
        server: Postgres = request.getfixturevalue("postgres")
        url = server.create_database()
    records = RecordsDB(url)
    try:
        load_into(case, records)
        with records.engine.connect() as conn:
            got = kpis(conn, case.machines, case.start, case.end, case.now)
    finally:
        records.close()
    check(case, got)
