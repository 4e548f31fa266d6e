"""Repository dependencies: routes reach the records DB through these, not its engine."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from api.context import ContextDep
from core.site import ticket_policy
from storage.repositories import AlertRepository, TicketRepository


def ticket_repository(ctx: ContextDep) -> TicketRepository:
    return TicketRepository(ctx.records.engine, ticket_policy(ctx.site))


def alert_repository(ctx: ContextDep) -> AlertRepository:
    return AlertRepository(ctx.records.engine)


TicketsDep = Annotated[TicketRepository, Depends(ticket_repository)]
AlertsDep = Annotated[AlertRepository, Depends(alert_repository)]
