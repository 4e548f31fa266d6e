"""Health and metrics, open to probes and scrapers (no key).

``/health`` looks at each component the API depends on — the records DB and the time-series
store, probed at each call — and at those the process runs beside it (the MQTT broker
connection, the collectors' last stored batch, when ``plantroom run`` has them). It answers
503 when any is failing, with which and why; messages never carry credentials.
"""

from __future__ import annotations

import sqlalchemy as sa
from fastapi import APIRouter
from fastapi.responses import JSONResponse, PlainTextResponse
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from api.context import ApiContext, ContextDep
from api.errors import db_unavailable
from api.schemas import ComponentOut, Health
from core.health import Probe
from storage.timeseries import StoreError

router = APIRouter(tags=["health"])


def _probes(ctx: ApiContext) -> dict[str, Probe]:
    def records() -> str | None:
        try:
            with ctx.records.engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
        except DBAPIError as err:
            return f"unavailable: {db_unavailable(err)}"
        except SQLAlchemyError as err:
            return f"unavailable: {type(err).__name__}"
        return None

    def store() -> str | None:
        try:  # one machine's latest values: a real read on every backend
            ctx.store.latest([eq.id for eq in ctx.site.equipment[:1]])
        except StoreError as err:
            return f"unavailable: {str(err).splitlines()[0][:300]}"
        return None

    return {"records-db": records, "timeseries-store": store}


@router.get(
    "/health",
    response_model=Health,
    responses={503: {"model": Health, "description": "a component is failing"}},
)
def health(ctx: ContextDep) -> Health | JSONResponse:
    """Each component's state; 503 when one is failing."""
    components = ctx.health.look(_probes(ctx))
    body = Health(
        status="ok" if all(c.ok for c in components) else "failing",
        site=ctx.site.site.id,
        equipment=len(ctx.site.equipment),
        components={
            c.name: ComponentOut(ok=c.ok, detail=c.detail, last_ok=c.last_ok) for c in components
        },
        failing={c.name: c.detail or "failing" for c in components if not c.ok},
    )
    if body.failing:
        return JSONResponse(body.model_dump(mode="json"), status_code=503)
    return body


@router.get("/metrics", response_class=PlainTextResponse)
def metrics(ctx: ContextDep) -> str:
    return ctx.metrics.render()
