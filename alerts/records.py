"""Applying alert transitions to the records DB, atomically and at most once.

One transaction per alert change: a compare-and-set of the alert row on ``version`` (so when
two engines see the same change, one applies it and the other reloads), then its effects:
the ticket opened, re-armed or reopened, or marked recovered; an emergency incident; logbook
entries; outbox notifications. Killing the process anywhere leaves either all or none of it.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, RowMapping
from sqlalchemy.exc import IntegrityError

from alerts.engine import AlertState, Change, Status, Transition
from core.notices import AlertNotice, IncidentNotice, Notice
from core.rules import AlertsConfig, Rule, TicketClass
from core.tickets import Ticket, TicketEvent, TicketStatus, due_times
from storage import logbook, planned
from storage.tickets import (
    add_event,
    alerts,
    aware,
    enqueue,
    incidents,
    insert_ticket,
    iso,
    last_closed,
    live_ticket,
    reopen_ticket,
    tickets,
    update_ticket,
    within,
)


def load_states(engine: Engine) -> dict[str, AlertState]:
    with engine.connect() as conn:
        return {
            row["fingerprint"]: _state(row) for row in conn.execute(sa.select(alerts)).mappings()
        }


def load_state(conn: Connection, fingerprint: str) -> AlertState | None:
    row = conn.execute(sa.select(alerts).where(alerts.c.fingerprint == fingerprint)).mappings()
    first = row.first()
    return None if first is None else _state(first)


def _state(row: RowMapping) -> AlertState:
    return AlertState(
        fingerprint=row["fingerprint"],
        rule_id=row["rule_id"],
        subject=row["subject"],
        status=Status(row["status"]),
        episode=row["episode"],
        pending_since=aware(row["pending_since"]),
        firing_since=aware(row["firing_since"]),
        resolved_at=aware(row["resolved_at"]),
        condition=row["condition"],
        flips=tuple(datetime.fromisoformat(t) for t in json.loads(row["flips"])),
        flapping=row["flapping"],
        paged=row["paged"],
        suppressed=row["suppressed"],
        version=row["version"],
    )


def _row(state: AlertState, rule: Rule, now: datetime) -> dict[str, Any]:
    return {
        "rule_id": state.rule_id,
        "subject": state.subject,
        "title": rule.name,
        "severity": rule.severity.value,
        "ticket_class": rule.ticket.value,
        "status": state.status.value,
        "episode": state.episode,
        "pending_since": state.pending_since,
        "firing_since": state.firing_since,
        "resolved_at": state.resolved_at,
        "condition": state.condition,
        "flips": json.dumps([t.isoformat() for t in state.flips]),
        "flapping": state.flapping,
        "paged": state.paged,
        "suppressed": state.suppressed,
        "updated_at": now,
    }


class Conflict(Exception):
    """Another engine changed this alert first; reload it and evaluate again."""


def save(
    engine: Engine,
    old: AlertState,
    new: AlertState,
    transitions: list[Transition],
    rule: Rule,
    config: AlertsConfig,
    now: datetime,
) -> tuple[AlertState, list[Notice]]:
    """Persist ``new`` and apply the transitions' effects; raises Conflict on a lost race."""
    notices: list[Notice] = []
    try:
        with engine.begin() as conn:
            values = _row(new, rule, now)
            if old.version == 0:
                conn.execute(
                    alerts.insert().values(fingerprint=new.fingerprint, version=1, **values)
                )
            else:
                done = conn.execute(
                    alerts.update()
                    .where(alerts.c.fingerprint == new.fingerprint, alerts.c.version == old.version)
                    .values(version=alerts.c.version + 1, **values)
                )
                if done.rowcount != 1:
                    raise Conflict(new.fingerprint)
            for transition in transitions:
                notices += _effects(conn, transition, rule, config, now)
    except IntegrityError as err:
        raise Conflict(new.fingerprint) from err
    return replace(new, version=old.version + 1), notices


def _alert_notice(t: Transition, rule: Rule) -> AlertNotice:
    s = t.state
    return AlertNotice(
        event=t.change.value,
        fingerprint=s.fingerprint,
        rule_id=s.rule_id,
        equipment=s.subject,
        title=rule.name,
        status=s.status.value,
        episode=s.episode,
        at=str(iso(t.at)),
        severity=rule.severity.value,
        ticket_class=rule.ticket.value,
        suppressed=s.suppressed,
        flapping=s.flapping,
    )


def _effects(
    conn: Connection, t: Transition, rule: Rule, config: AlertsConfig, now: datetime
) -> list[Notice]:
    s = t.state
    notices: list[Notice] = [_alert_notice(t, rule)]
    note = {
        Change.PENDING: "异常出现，确认中",
        Change.CANCELLED: "确认期内恢复，未告警",
        Change.FIRING: "告警" + ("（维护中，不派单）" if s.suppressed else ""),
        Change.PAGED: "维护结束，告警仍在，派单",
        Change.FLAPPING: "告警抖动（频繁变化），合并为一条",
        Change.RESOLVED: "告警恢复",
    }[t.change]
    logbook.append(
        conn,
        logbook.LogEntry(
            t.at,
            s.subject[:64],
            "alert",
            f"{rule.name}: {note}",
            "system",
            {"rule_id": s.rule_id, "change": t.change.value, "episode": s.episode},
        ),
    )
    if t.change in (Change.PENDING, Change.CANCELLED):
        return notices  # pending alerts never notify
    if rule.ticket is TicketClass.EMERGENCY:
        notices += _incident(conn, t, rule)
    elif rule.ticket is not TicketClass.NONE:
        if t.pages:
            notices += open_or_reopen(conn, s, rule, config, t.at)
        elif t.change is Change.RESOLVED:
            notices += _recovered(conn, s, t.at)
    return notices


def _incident(conn: Connection, t: Transition, rule: Rule) -> list[Notice]:
    s = t.state
    if t.pages:
        conn.execute(
            incidents.insert().values(
                fingerprint=s.fingerprint,
                episode=s.episode,
                rule_id=s.rule_id,
                equipment=s.subject,
                title=rule.name,
                severity=rule.severity.value,
                started_at=t.at,
            )
        )
        notice = IncidentNotice(
            event="started",
            equipment=s.subject,
            rule_id=s.rule_id,
            title=rule.name,
            episode=s.episode,
            at=str(iso(t.at)),
            severity=rule.severity.value,
        )
        enqueue(conn, f"incident:{s.fingerprint}:{s.episode}:started", notice.as_event(), t.at)
        return [notice]
    if t.change is Change.RESOLVED:
        conn.execute(
            incidents.update()
            .where(incidents.c.fingerprint == s.fingerprint, incidents.c.episode == s.episode)
            .values(ended_at=t.at)
        )
        notice = IncidentNotice(
            event="ended",
            equipment=s.subject,
            rule_id=s.rule_id,
            title=rule.name,
            episode=s.episode,
            at=str(iso(t.at)),
        )
        return [notice]
    return []


def open_or_reopen(
    conn: Connection, s: AlertState, rule: Rule, config: AlertsConfig, now: datetime
) -> list[Notice]:
    """The one ticket of this fault: re-armed or reopened if live, reopened if closed within
    the reopen window, else a new one (the partial unique index refuses a second live one)."""
    live = live_ticket(conn, s.fingerprint)
    if live is not None:
        return _recurred(conn, live, s, config, now)
    recent = last_closed(conn, s.fingerprint)
    if recent is not None and within(recent.cycle.closed_at, now, config.reopen_window):
        return _reopen(conn, recent, s, config, now, "故障在复发窗口内再次出现，工单重开")
    # deadlines run from when the fault began (a trapped passenger's 5 minutes start when
    # the lift stopped, not when the 30 s confirmation ended)
    start = s.pending_since or now
    due = due_times(start, config.deadlines_for(rule.ticket))
    ticket = insert_ticket(
        conn,
        fingerprint=s.fingerprint,
        rule_id=s.rule_id,
        equipment=s.subject,
        ticket_class=rule.ticket.value,
        title=rule.name,
        severity=rule.severity.value,
        now=now,
        cycle_start=start,
        due=due,
    )
    notice = add_event(
        conn,
        ticket,
        TicketEvent.OPENED,
        now,
        f"{rule.name}，派单给值班工程师",
        episode=s.episode,
        notify="duty_engineer",
        flapping=s.flapping,
        respond_by=iso(due.respond_by),
        on_site_by=iso(due.on_site_by),
        resolve_by=iso(due.resolve_by),
    )
    return [notice] if notice is not None else []


def _recurred(
    conn: Connection, live: Ticket, s: AlertState, config: AlertsConfig, now: datetime
) -> list[Notice]:
    if live.fault_active:
        return []  # the same fault, already on this ticket
    if live.status is TicketStatus.RESOLVED:
        return _reopen(conn, live, s, config, now, "故障再次出现，工单重开")
    updated = update_ticket(conn, live, fault_active=True)
    if updated is None:
        raise Conflict(s.fingerprint)
    notice = add_event(conn, live, TicketEvent.RECURRED, now, "故障再次出现", episode=s.episode)
    return [notice] if notice is not None else []


def _reopen(
    conn: Connection, ticket: Ticket, s: AlertState, config: AlertsConfig, now: datetime, why: str
) -> list[Notice]:
    reopened = reopen_ticket(
        conn, ticket, config, now, TicketEvent.REOPENED, "system", why, episode=s.episode
    )
    if reopened is None:
        raise Conflict(ticket.fingerprint)
    return [reopened[1]]


def _recovered(conn: Connection, s: AlertState, now: datetime) -> list[Notice]:
    live = live_ticket(conn, s.fingerprint)
    if live is None or not live.fault_active:
        return []
    if update_ticket(conn, live, fault_active=False, recovered_at=now) is None:
        raise Conflict(s.fingerprint)
    notice = add_event(conn, live, TicketEvent.RECOVERED, now, "信号已恢复，待现场确认")
    return [notice] if notice is not None else []


def on_site_equipment(conn: Connection) -> set[str]:
    """Machines with a technician on site or planned work in progress (their alerts page
    nobody, DESIGN §8)."""
    query = sa.select(tickets.c.equipment).where(tickets.c.status == TicketStatus.ON_SITE)
    return {str(r[0]) for r in conn.execute(query)} | planned.machines_in_progress(conn)
