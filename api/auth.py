"""Who is calling: API keys with roles, as FastAPI dependencies (DESIGN §9).

A key comes in ``Authorization: Bearer <key>`` (or ``X-API-Key``). Every write needs a key
with a sufficient role; reads need a viewer key, except from loopback when the app was made
with ``open_reads=True`` (the demo). 401 means no valid key, 403 a key whose role is too low.
Keys never appear in logs or error messages.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from api.context import ContextDep
from api.errors import ApiError
from storage.api_keys import Role, authenticate

_CHALLENGE = {"WWW-Authenticate": "Bearer"}


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller: a key's id, name and role, or the anonymous local reader (``key_id`` None)."""

    key_id: str | None
    name: str
    role: Role

    @property
    def actor(self) -> str:
        """How the caller is named in logbook entries and ticket events."""
        return f"{self.name} (key {self.key_id})" if self.key_id else self.name


LOCAL_READER = Principal(None, "local reader", Role.VIEWER)


def _is_loopback(request: Request) -> bool:
    if request.client is None:
        return False
    try:
        return ipaddress.ip_address(request.client.host).is_loopback
    except ValueError:
        return False


_bearer = HTTPBearer(auto_error=False, description="an API key: `Bearer pr_…`")
_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="an API key")


def caller(
    ctx: ContextDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    header: Annotated[str | None, Depends(_key_header)],
) -> Principal | None:
    """The key's owner, None without a key; 401 for a key that is unknown or revoked."""
    clear = bearer.credentials if bearer is not None else header
    if not clear:
        return None
    with ctx.records.engine.connect() as conn:
        key = authenticate(conn, clear)
    if key is None:
        raise ApiError(401, "invalid or revoked API key", _CHALLENGE)
    return Principal(key.id, key.name, key.role)


def _require(needed: Role, request: Request, principal: Principal | None) -> Principal:
    if principal is None:
        if needed is Role.VIEWER and request.app.state.open_reads and _is_loopback(request):
            return LOCAL_READER
        raise ApiError(401, f"an API key with role '{needed}' is needed", _CHALLENGE)
    if not principal.role.allows(needed):
        raise ApiError(403, f"role '{principal.role}' may not do this; role '{needed}' is needed")
    return principal


def require_viewer(
    request: Request, principal: Annotated[Principal | None, Depends(caller)]
) -> Principal:
    return _require(Role.VIEWER, request, principal)


def require_engineer(
    request: Request, principal: Annotated[Principal | None, Depends(caller)]
) -> Principal:
    return _require(Role.ENGINEER, request, principal)


def require_admin(
    request: Request, principal: Annotated[Principal | None, Depends(caller)]
) -> Principal:
    return _require(Role.ADMIN, request, principal)


CurrentUser = Annotated[Principal, Depends(require_viewer)]
RequireEngineer = Annotated[Principal, Depends(require_engineer)]
RequireAdmin = Annotated[Principal, Depends(require_admin)]
