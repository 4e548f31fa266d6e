"""Running the KPI definitions (``core.kpis``) on the records DB, SQLite or PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core.kpis import Dialect, KpiRow, KpiSqlParams, kpi_sql

_AT = sa.DateTime(timezone=True)


def kpis(
    conn: Connection,
    machines: Sequence[tuple[str, str]],
    start: datetime,
    end: datetime,
    now: datetime,
) -> dict[str, KpiRow]:
    """The KPIs of the cycles started in [start, end), as of ``now``: one row per machine
    kind of ``machines`` (equipment, kind) and ``*`` for all."""
    dialect: Dialect = "postgresql" if conn.dialect.name == "postgresql" else "sqlite"
    query = sa.text(kpi_sql(KpiSqlParams(dialect, machines))).bindparams(
        sa.bindparam("start", type_=_AT),
        sa.bindparam("end", type_=_AT),
        sa.bindparam("now", type_=_AT),
    )
    # in UTC: SQLite keeps no offset and compares the stored text
    values = {k: v.astimezone(UTC) for k, v in (("start", start), ("end", end), ("now", now))}
    out: dict[str, KpiRow] = {}
    for row in conn.execute(query, values).mappings():
        out[str(row["grp"])] = KpiRow(
            grp=str(row["grp"]),
            repair_cycles=int(row["repair_cycles"]),
            cancelled=int(row["cancelled"]),
            timely=int(row["timely"]),
            timely_due=int(row["timely_due"]),
            repeats=int(row["repeats"]),
            resolved=int(row["resolved"]),
            called_back=int(row["called_back"]),
            callback_due=int(row["callback_due"]),
            satisfied=int(row["satisfied"]),
            callbacks=int(row["callbacks"]),
            mttr_hours=_float(row["mttr_hours"]),
            failures=int(row["failures"]),
            machine_hours=float(row["machine_hours"]),
            down_hours=float(row["down_hours"]),
            comms_cycles=int(row["comms_cycles"]),
            comms_mttr_hours=_float(row["comms_mttr_hours"]),
        )
    return out


def _float(value: object) -> float | None:
    return None if value is None else float(value)  # type: ignore[arg-type]
