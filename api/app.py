"""The FastAPI application factory."""

from __future__ import annotations

from importlib import resources

from fastapi import Depends, FastAPI
from fastapi.responses import HTMLResponse
from fastapi_offline import FastAPIOffline

from api.auth import require_viewer
from api.context import ApiContext
from api.errors import install_error_handlers
from api.guard import BodyGuard
from api.routes import (
    alerts,
    board,
    energy,
    equipment,
    health,
    keys,
    kpis,
    ledger,
    logbook,
    planned,
    readings,
    reports,
    shifts,
    stream,
    tickets,
)

API_PREFIX = "/api/v1"


def create_app(context: ApiContext, *, open_reads: bool = False) -> FastAPI:
    """The API. ``open_reads`` lets loopback clients read without a key (the demo only)."""
    # Swagger UI and ReDoc from the installed fastapi-offline package, not a CDN: plant
    # networks are isolated, and /docs must work there
    app: FastAPI = FastAPIOffline(
        title="plantroom",
        description="Plant-room monitoring for the engineering department (工程部).",
        version="0.1.0",
    )
    app.state.context = context
    app.state.open_reads = open_reads
    install_error_handlers(app)
    app.add_middleware(BodyGuard, context=context)
    # liveness and metrics stay open for probes and scrapers; everything else needs a reader
    app.include_router(health.router, prefix=API_PREFIX)
    readers = [Depends(require_viewer)]
    for router in (
        equipment.router,
        readings.router,
        logbook.router,
        alerts.router,
        tickets.router,
        planned.router,
        ledger.router,
        reports.router,
        energy.router,
        shifts.router,
        kpis.router,
        board.router,
        stream.router,
    ):
        app.include_router(router, prefix=API_PREFIX, dependencies=readers)
    app.include_router(keys.router, prefix=API_PREFIX)
    board_html = resources.files("api").joinpath("static/board.html").read_text("utf-8")

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def alarm_board() -> str:
        """The monitoring room's alarm board (监控中心报警屏); its data comes from the API."""
        return board_html

    handover_html = resources.files("api").joinpath("static/handover.html").read_text("utf-8")

    @app.get("/handover", response_class=HTMLResponse, include_in_schema=False)
    def handover_page() -> str:
        """The shift handover page (交接班): read, sign off, accept; data from the API."""
        return handover_html

    rounds_html = resources.files("api").joinpath("static/rounds.html").read_text("utf-8")

    @app.get("/rounds", response_class=HTMLResponse, include_in_schema=False)
    def rounds_page() -> str:
        """The inspection round on a phone (巡检): live values, checklist, results."""
        return rounds_html

    return app
