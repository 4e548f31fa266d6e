"""The KPIs of DESIGN §8, defined once, as SQL over the records DB's tickets and their cycles.

``/kpis`` and the reports run :func:`kpi_sql` on SQLite or PostgreSQL with bound times; the
Grafana panels run the very same text with Grafana's macros for the window and ``now()``
(``dashboards/``). What each number means:

- A **cycle** is a ticket's first life or one started by a reopen (``ticket_cycles`` keeps
  the finished ones). It belongs to the window in which it started (``cycle_start``).
  Cancelled (false-alarm) cycles never count. **Repair** cycles are those of the classes in
  ``REPAIR_CLASSES``; comms-loss cycles are reported apart (``comms_*``).
- **维修及时率** timeliness: repair cycles that met every one of their deadlines ÷ repair
  cycles whose deadlines have all fallen due or been met. Which time meets which deadline is
  ``core.tickets.MET_BY`` (an entrapment's first deadline needs staff on site).
- **返修率** repeat repairs: resolved repair cycles followed within 30 days of their repair by
  a reopen of the same ticket, or by a new, not cancelled, repair ticket for the same fault
  (the same rule; for a ticket reported by a person, the same category) on the same machine
  ÷ resolved repair cycles.
- **回访率** callback: resolved repair cycles called back by their ``callback_by`` (one working
  day after the repair, by the site calendar) ÷ resolved repair cycles, leaving out those
  whose callback is not due yet and not done.
- **满意率** satisfaction: callbacks "satisfied" ÷ callbacks, of the window's repair cycles.
- **完好率** good order: machine-hours without an open repair cycle ÷ machine-hours, from the
  window's start to its end (or now); a repair cycle is open from its start until resolved,
  and overlapping cycles of one machine count once.
- **MTTR**: mean of (resolved − cycle start) in hours over the window's resolved repair cycles.
- **MTBF**: (machine-hours − down hours) ÷ failures, in hours; failures are the window's
  repair cycles of rules that mark a failure (``FAILURE_RULES``: trips, faults, entrapments)
  or of tickets reported by a person in the classes ``FAILURE_CLASSES``.

Every number is reported per machine kind and overall (``grp`` ``*``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from core.rules import TicketClass
from core.tickets import MANUAL_RULE, DeadlineKind, TicketStatus, met_by

Dialect = Literal["postgresql", "sqlite"]

TARGETS = {"timeliness": 0.98, "repeat": 0.05, "callback": 0.95, "good_order": 0.98}
REPEAT_WINDOW = timedelta(days=30)
REPAIR_CLASSES = (
    TicketClass.ENTRAPMENT,
    TicketClass.ELEVATOR_FAULT,
    TicketClass.URGENT,
    TicketClass.GENERAL,
)
# rules whose firing is an equipment failure (not a warning, a level or a lost link)
FAILURE_RULES = (
    "pump_trip",
    "failure_to_start",
    "entrapment",
    "elevator_fault",
    "fire_panel_fault",
)
FAILURE_CLASSES = (TicketClass.ENTRAPMENT, TicketClass.ELEVATOR_FAULT, TicketClass.URGENT)


@dataclass(frozen=True, slots=True)
class KpiSqlParams:
    """Where the SQL gets its window, its ``now`` and the site's machines from.

    ``start``, ``end`` and ``now`` are SQL expressions: ``:start`` for a bound parameter,
    ``$__timeFrom()`` in Grafana. ``machines`` are (equipment, kind) of the site;
    ``machine_filter`` an optional extra condition on a column named ``equipment``."""

    dialect: Dialect
    machines: Sequence[tuple[str, str]]
    start: str = ":start"
    end: str = ":end"
    now: str = ":now"
    machine_filter: str | None = None


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _in(values: Sequence[str]) -> str:
    return "(" + ", ".join(_quote(str(v)) for v in values) + ")"


class _Sql:
    def __init__(self, p: KpiSqlParams) -> None:
        self.p = p
        self.pg = p.dialect == "postgresql"

    def ts(self, expr: str) -> str:
        """A time comparable across columns and bound values (SQLite stores text)."""
        return expr if self.pg else f"julianday({expr})"

    def hours(self, a: str, b: str) -> str:
        if self.pg:
            return f"(EXTRACT(EPOCH FROM ({b}) - ({a})) / 3600.0)"
        return f"((julianday({b}) - julianday({a})) * 24.0)"

    def within_days(self, later: str, earlier: str, days: int) -> str:
        """``later`` in (``earlier``, ``earlier`` + days]."""
        if self.pg:
            return f"({later} > {earlier} AND {later} <= {earlier} + INTERVAL '{days} days')"
        return (
            f"(julianday({later}) > julianday({earlier}) "
            f"AND julianday({later}) <= julianday({earlier}) + {days})"
        )

    def greatest(self, a: str, b: str) -> str:
        return f"GREATEST({a}, {b})" if self.pg else f"MAX({a}, {b})"

    def least(self, a: str, b: str) -> str:
        return f"LEAST({a}, {b})" if self.pg else f"MIN({a}, {b})"


def _met_sql(kind: DeadlineKind) -> str:
    def first(ticket_class: str) -> str:
        columns = [f"cy.{c}" for c in met_by(kind, ticket_class)]
        return columns[0] if len(columns) == 1 else f"COALESCE({', '.join(columns)})"

    return (
        f"CASE WHEN cy.ticket_class = {_quote(TicketClass.ENTRAPMENT)} "
        f"THEN {first(TicketClass.ENTRAPMENT)} ELSE {first(TicketClass.GENERAL)} END"
    )


_DUE = {
    DeadlineKind.RESPOND: "respond_by",
    DeadlineKind.ON_SITE: "on_site_by",
    DeadlineKind.RESOLVE: "resolve_by",
}
_CYCLE_COLUMNS = (
    "cycle_start",
    "respond_by",
    "on_site_by",
    "resolve_by",
    "acknowledged_at",
    "staff_on_site_at",
    "on_site_at",
    "released_at",
    "resolved_at",
    "callback_by",
)


def cycles_sql(p: KpiSqlParams) -> str:
    """The CTEs ``machines`` and ``cycles`` (every cycle, current and finished, with its
    ticket's machine, class and fault) and ``scoped`` (the cycles the panel's machine filter
    keeps), shared by the KPIs and the panels."""
    machines = ", ".join(f"({_quote(eq)}, {_quote(kind)})" for eq, kind in p.machines)
    fault = (
        f"CASE WHEN t.rule_id = {_quote(MANUAL_RULE)} "
        f"THEN {_quote(MANUAL_RULE + ':')} || COALESCE(t.category, t.title) ELSE t.rule_id END"
    )

    def columns(prefix: str) -> str:
        return ", ".join(f"{prefix}.{c}" for c in _CYCLE_COLUMNS)

    where = f" WHERE {p.machine_filter}" if p.machine_filter else ""
    machines = machines or "('', '')"  # a site without machines: one row no ticket matches
    return (
        f"machines(equipment, kind) AS (VALUES {machines}),\n"
        "cycles AS (\n"
        f"  SELECT t.id AS ticket_id, t.equipment, t.ticket_class, t.rule_id, {fault} AS fault,"
        f" t.opened_at, t.status, t.cycle, {columns('t')}\n"
        "  FROM tickets t\n"
        "  UNION ALL\n"
        f"  SELECT t.id, t.equipment, t.ticket_class, t.rule_id, {fault}, t.opened_at, x.status,"
        f" x.cycle, {columns('x')}\n"
        "  FROM ticket_cycles x JOIN tickets t ON t.id = x.ticket_id\n"
        f"),\nscoped AS (SELECT * FROM cycles{where})"
    )


def kpi_sql(p: KpiSqlParams) -> str:
    """One row per machine kind and one overall (``grp`` = ``*``) with every KPI's
    numerator and denominator, MTTR and the hours behind 完好率 and MTBF."""
    s = _Sql(p)
    start, end, now = p.start, p.end, p.now
    until = s.least(end, now)
    repair = f"cy.ticket_class IN {_in(REPAIR_CLASSES)}"
    failure = (
        f"(cy.rule_id IN {_in(FAILURE_RULES)} OR (cy.rule_id = {_quote(MANUAL_RULE)} "
        f"AND cy.ticket_class IN {_in(FAILURE_CLASSES)}))"
    )
    cancelled = _quote(TicketStatus.CANCELLED)
    missed, pending = [], []
    for kind, due_col in _DUE.items():
        due, met = f"cy.{due_col}", _met_sql(kind)
        missed.append(
            f"CASE WHEN {due} IS NOT NULL AND (({met}) IS NOT NULL AND {s.ts(f'({met})')} > "
            f"{s.ts(due)} OR ({met}) IS NULL AND {s.ts(due)} < {s.ts(now)}) THEN 1 ELSE 0 END"
        )
        pending.append(
            f"CASE WHEN {due} IS NOT NULL AND ({met}) IS NULL AND {s.ts(due)} >= {s.ts(now)} "
            "THEN 1 ELSE 0 END"
        )
    reopened_soon = (
        "EXISTS (SELECT 1 FROM cycles n WHERE n.ticket_id = cy.ticket_id "
        f"AND n.cycle = cy.cycle + 1 AND {s.within_days('n.cycle_start', 'cy.resolved_at', 30)})"
    )
    new_ticket_soon = (
        "EXISTS (SELECT 1 FROM cycles n WHERE n.cycle = 1 AND n.ticket_id <> cy.ticket_id "
        "AND n.equipment = cy.equipment AND n.fault = cy.fault "
        f"AND n.ticket_class IN {_in(REPAIR_CLASSES)} "
        f"AND n.status <> {cancelled} "
        f"AND {s.within_days('n.cycle_start', 'cy.resolved_at', 30)})"
    )
    first_callback = (
        "(SELECT MIN(cb.at) FROM callbacks cb WHERE cb.ticket_id = cy.ticket_id "
        "AND cb.cycle = cy.cycle)"
    )
    in_window = (
        f"{s.ts('cy.cycle_start')} >= {s.ts(start)} AND {s.ts('cy.cycle_start')} < {s.ts(end)}"
    )
    judged = f"""judged AS (
  SELECT cy.*, COALESCE(m.kind, 'other') AS kind,
    CASE WHEN {repair} THEN 1 ELSE 0 END AS repair,
    CASE WHEN {failure} THEN 1 ELSE 0 END AS failure,
    {" + ".join(missed)} AS missed,
    {" + ".join(pending)} AS pending,
    CASE WHEN cy.resolved_at IS NOT NULL AND ({reopened_soon} OR {new_ticket_soon})
      THEN 1 ELSE 0 END AS repeat,
    {first_callback} AS callback_at,
    {s.hours("cy.cycle_start", "cy.resolved_at")} AS repair_hours
  FROM scoped cy LEFT JOIN machines m ON m.equipment = cy.equipment
  WHERE {in_window} AND cy.status <> {cancelled}
)"""
    cancelled_cycles = f"""cancelled_cycles AS (
  SELECT COALESCE(m.kind, 'other') AS kind, COUNT(*) AS n
  FROM scoped cy LEFT JOIN machines m ON m.equipment = cy.equipment
  WHERE {in_window} AND cy.status = {cancelled} GROUP BY COALESCE(m.kind, 'other')
)"""
    spans = f"""spans AS (
  SELECT cy.equipment, {s.greatest("cy.cycle_start", start)} AS s,
    {s.least(f"COALESCE(cy.resolved_at, {until})", until)} AS e
  FROM scoped cy
  WHERE cy.ticket_class IN {_in(REPAIR_CLASSES)} AND cy.status <> {cancelled}
    AND {s.ts("cy.cycle_start")} < {s.ts(until)}
    AND (cy.resolved_at IS NULL OR {s.ts("cy.resolved_at")} > {s.ts(start)})
),
ordered AS (
  SELECT equipment, s, e, MAX(e) OVER (PARTITION BY equipment ORDER BY s, e
    ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS reach FROM spans
),
islands AS (
  SELECT equipment, s, e, SUM(CASE WHEN reach IS NULL OR {s.ts("s")} > {s.ts("reach")}
    THEN 1 ELSE 0 END) OVER (PARTITION BY equipment ORDER BY s, e ROWS UNBOUNDED PRECEDING)
    AS island FROM ordered
),
down AS (
  SELECT i.equipment, COALESCE(m.kind, 'other') AS kind,
    {s.hours("MIN(i.s)", "MAX(i.e)")} AS hours
  FROM islands i LEFT JOIN machines m ON m.equipment = i.equipment
  GROUP BY i.equipment, COALESCE(m.kind, 'other'), i.island
),
fleet AS (
  SELECT kind, COUNT(*) * {s.hours(start, until)} AS hours FROM machines
  WHERE equipment <> '' {"AND " + p.machine_filter if p.machine_filter else ""}
  GROUP BY kind
)"""

    def aggregate(grp: str, where: str) -> str:
        r = "j.repair = 1"
        resolved = f"{r} AND j.resolved_at IS NOT NULL"
        cb_due = (
            f"{resolved} AND NOT (j.callback_at IS NULL AND j.callback_by IS NOT NULL "
            f"AND {s.ts('j.callback_by')} >= {s.ts(now)})"
        )
        cb_ok = (
            f"{resolved} AND j.callback_at IS NOT NULL AND j.callback_by IS NOT NULL "
            f"AND {s.ts('j.callback_at')} <= {s.ts('j.callback_by')}"
        )
        kind_of = "" if grp == "'*'" else f" AND x.kind = {grp}"
        return f"""SELECT {grp} AS grp,
    (SELECT COUNT(*) FROM judged j WHERE {r}{where}) AS repair_cycles,
    (SELECT COALESCE(SUM(n), 0) FROM cancelled_cycles x WHERE 1 = 1{kind_of}) AS cancelled,
    (SELECT COUNT(*) FROM judged j WHERE {r} AND j.pending = 0 AND j.missed = 0{where}) AS timely,
    (SELECT COUNT(*) FROM judged j WHERE {r} AND j.pending = 0{where}) AS timely_due,
    (SELECT COUNT(*) FROM judged j WHERE {resolved} AND j.repeat = 1{where}) AS repeats,
    (SELECT COUNT(*) FROM judged j WHERE {resolved}{where}) AS resolved,
    (SELECT COUNT(*) FROM judged j WHERE {cb_ok}{where}) AS called_back,
    (SELECT COUNT(*) FROM judged j WHERE {cb_due}{where}) AS callback_due,
    (SELECT COUNT(*) FROM callbacks cb JOIN judged j ON j.ticket_id = cb.ticket_id
      AND j.cycle = cb.cycle WHERE {r} AND cb.satisfied{where}) AS satisfied,
    (SELECT COUNT(*) FROM callbacks cb JOIN judged j ON j.ticket_id = cb.ticket_id
      AND j.cycle = cb.cycle WHERE {r}{where}) AS callbacks,
    (SELECT AVG(j.repair_hours) FROM judged j WHERE {resolved}{where}) AS mttr_hours,
    (SELECT COUNT(*) FROM judged j WHERE {r} AND j.failure = 1{where}) AS failures,
    (SELECT COALESCE(SUM(x.hours), 0) FROM fleet x WHERE 1 = 1{kind_of})
      AS machine_hours,
    (SELECT COALESCE(SUM(x.hours), 0) FROM down x WHERE 1 = 1{kind_of})
      AS down_hours,
    (SELECT COUNT(*) FROM judged j WHERE j.ticket_class = {_quote(TicketClass.COMMS)}{where})
      AS comms_cycles,
    (SELECT AVG(j.repair_hours) FROM judged j WHERE j.ticket_class = {_quote(TicketClass.COMMS)}
      AND j.resolved_at IS NOT NULL{where}) AS comms_mttr_hours"""

    kinds = sorted({kind for _eq, kind in p.machines})
    per_kind = [aggregate(_quote(k), f" AND j.kind = {_quote(k)}") for k in kinds]
    body = "\nUNION ALL\n".join([aggregate("'*'", ""), *per_kind])
    return (
        f"WITH {cycles_sql(p)},\n{judged},\n{cancelled_cycles},\n{spans}\n"
        f"SELECT * FROM (\n{body}\n) kpis"
    )


@dataclass(frozen=True, slots=True)
class KpiRow:
    """The KPIs of one group (a machine kind, or ``*`` for all)."""

    grp: str
    repair_cycles: int
    cancelled: int
    timely: int
    timely_due: int
    repeats: int
    resolved: int
    called_back: int
    callback_due: int
    satisfied: int
    callbacks: int
    mttr_hours: float | None
    failures: int
    machine_hours: float
    down_hours: float
    comms_cycles: int
    comms_mttr_hours: float | None

    @staticmethod
    def _ratio(n: int, d: int) -> float | None:
        return n / d if d else None

    @property
    def timeliness(self) -> float | None:
        return self._ratio(self.timely, self.timely_due)

    @property
    def repeat_rate(self) -> float | None:
        return self._ratio(self.repeats, self.resolved)

    @property
    def callback_rate(self) -> float | None:
        return self._ratio(self.called_back, self.callback_due)

    @property
    def satisfaction(self) -> float | None:
        return self._ratio(self.satisfied, self.callbacks)

    @property
    def good_order(self) -> float | None:
        if self.machine_hours <= 0:
            return None
        return 1 - self.down_hours / self.machine_hours

    @property
    def mtbf_hours(self) -> float | None:
        if not self.failures:
            return None
        return (self.machine_hours - self.down_hours) / self.failures
