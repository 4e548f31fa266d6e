"""The engineering department's HTTP API (FastAPI). Imports core and storage only."""

from api.app import API_PREFIX, create_app
from api.context import ApiContext

__all__ = ["API_PREFIX", "ApiContext", "create_app"]
