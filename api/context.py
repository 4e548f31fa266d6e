"""What the API needs from the rest of the process, handed to ``create_app`` by the wiring."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any, Protocol

from fastapi import Depends, Request

from core.catalogue import Catalogue, load_catalogue
from core.clock import Clock, SystemClock
from core.events import EventBus
from core.health import HealthBoard
from core.metrics import METRICS, Metrics
from core.site import Site
from storage.records import RecordsDB
from storage.timeseries import TimeSeriesStore

DEFAULT_MAX_BODY = 1_000_000  # bytes: a note or a ticket is a few kB


class Subscription(Protocol):
    dropped: int
    gap: bool

    async def get(self) -> tuple[int, dict[str, Any]]: ...

    def close(self) -> None: ...


class EventFeed(Protocol):
    """Where live events come from (the process's event bus); ``subscribe`` on the loop."""

    epoch: str

    def subscribe(self, after: int | None = None) -> Subscription: ...

    def publish(self, event: dict[str, Any]) -> None: ...


@dataclass
class ApiContext:
    site: Site
    store: TimeSeriesStore
    records: RecordsDB
    catalogue: Catalogue = field(default_factory=load_catalogue)
    clock: Clock = field(default_factory=SystemClock)
    metrics: Metrics = METRICS
    events: EventFeed = field(default_factory=EventBus)
    stream_keepalive: float = 15.0  # seconds between keep-alive comments on /stream
    stream_key_recheck: float = 2.0  # seconds between checks that a stream's key is valid
    health: HealthBoard = field(default_factory=HealthBoard)  # the process's other components
    max_body: int = DEFAULT_MAX_BODY  # bytes of request body read at most (api/guard.py)


def get_context(request: Request) -> ApiContext:
    context: ApiContext = request.app.state.context
    return context


ContextDep = Annotated[ApiContext, Depends(get_context)]
