"""API keys, managed by admins (the CLI ``plantroom keys`` does the same offline)."""

from __future__ import annotations

from fastapi import APIRouter

from api.auth import RequireAdmin
from api.context import ContextDep
from api.errors import not_found
from api.schemas import KeyCreated, KeyIn, KeyOut
from storage.api_keys import ApiKey, UnknownKey, create_key, list_keys, revoke_key

router = APIRouter(tags=["keys"])


def key_out(key: ApiKey) -> KeyOut:
    return KeyOut(
        id=key.id,
        name=key.name,
        role=key.role,
        created_at=key.created_at,
        revoked_at=key.revoked_at,
    )


@router.get("/keys", response_model=list[KeyOut])
def get_keys(ctx: ContextDep, _admin: RequireAdmin) -> list[KeyOut]:
    with ctx.records.engine.connect() as conn:
        return [key_out(k) for k in list_keys(conn)]


@router.post("/keys", response_model=KeyCreated, status_code=201)
def post_key(body: KeyIn, ctx: ContextDep, _admin: RequireAdmin) -> KeyCreated:
    """A new key; the clear ``key`` is in this response only and is never shown again."""
    with ctx.records.engine.begin() as conn:
        key, clear = create_key(conn, body.role, body.name, ctx.clock.now())
    return KeyCreated(**key_out(key).model_dump(), key=clear)


@router.post("/keys/{key_id}/revoke", response_model=KeyOut)
def post_revoke(key_id: str, ctx: ContextDep, _admin: RequireAdmin) -> KeyOut:
    try:
        with ctx.records.engine.begin() as conn:
            return key_out(revoke_key(conn, key_id, ctx.clock.now()))
    except UnknownKey as err:
        raise not_found(str(err)) from None
