"""Finding what a path names, or a 404 that says what was asked for."""

from __future__ import annotations

from api.context import ApiContext
from api.errors import not_found
from core.site import Equipment
from core.subjects import subject_name


def machine_or_404(ctx: ApiContext, equipment_id: str) -> Equipment:
    try:
        return ctx.site.machine(equipment_id)
    except KeyError:
        raise not_found(f"unknown equipment '{equipment_id}'") from None


def display_name(ctx: ApiContext, subject: str) -> str:
    """A machine's human name (Chinese names intact), a gateway with its machines, the site;
    the id itself when the site has no such machine."""
    return subject_name(ctx.site, subject)
