"""The FastAPI application factory."""

from __future__ import annotations

from fastapi import FastAPI

from api.context import ApiContext
from api.errors import install_error_handlers
from api.routes import equipment, health

API_PREFIX = "/api/v1"


def create_app(context: ApiContext) -> FastAPI:
    app = FastAPI(
        title="plantroom",
        description="Plant-room monitoring for the engineering department (工程部).",
        version="0.1.0",
    )
    app.state.context = context
    install_error_handlers(app)
    app.include_router(health.router, prefix=API_PREFIX)
    app.include_router(equipment.router, prefix=API_PREFIX)
    return app
