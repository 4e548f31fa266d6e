"""Liveness and metrics."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse

from api.context import ContextDep
from api.schemas import Health

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health)
def health(ctx: ContextDep) -> Health:
    return Health(status="ok", site=ctx.site.site.id, equipment=len(ctx.site.equipment), failing={})


@router.get("/metrics", response_class=PlainTextResponse)
def metrics(ctx: ContextDep) -> str:
    return ctx.metrics.render()
