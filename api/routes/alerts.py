"""Alerts: what is firing now (and what fired), and acknowledging an alarm."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query

from api.auth import RequireEngineer
from api.context import ContextDep
from api.deps import AlertsDep
from api.errors import not_found
from api.schemas_tickets import AlertOut
from api.ticket_views import alert_out

router = APIRouter(tags=["alerts"])

AlertStatus = Literal["inactive", "pending", "firing", "resolved"]
Fingerprint = Annotated[str, Path(max_length=64)]


@router.get("/alerts", response_model=list[AlertOut])
def list_alerts(
    ctx: ContextDep,
    repo: AlertsDep,
    status: Annotated[
        list[AlertStatus] | None, Query(description="repeat to combine; default: firing")
    ] = None,
    equipment: Annotated[str | None, Query(max_length=64)] = None,
) -> list[AlertOut]:
    """Alerts, most recently changed first (by default only those firing now)."""
    return [alert_out(ctx, a) for a in repo.find(list(status or ["firing"]), equipment)]


@router.post("/alerts/{alert_id}/ack", response_model=AlertOut)
def acknowledge(
    alert_id: Fingerprint, ctx: ContextDep, repo: AlertsDep, user: RequireEngineer
) -> AlertOut:
    """The monitoring room has seen this alarm (its current episode); logged with who."""
    acked = repo.acknowledge(alert_id, user.actor, ctx.clock.now())
    if acked is None:
        raise not_found(f"no alert '{alert_id}'")
    row, notice = acked
    ctx.events.publish(notice.as_event())
    return alert_out(ctx, row)
