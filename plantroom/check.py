"""``plantroom check SITE``: every error with its path, or a one-screen summary."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from core.catalogue import load_catalogue
from core.plans import occurrence_at
from core.site import Equipment, Site, SiteError, load_site


def plan_lines(site: Site, eq: Equipment, now: datetime) -> list[str]:
    """One line per plan of ``eq``: what, how often, and the occurrence due at ``now``
    (usage plans say which counter; their dates come from the store's counters)."""
    tz = ZoneInfo(site.site.timezone)
    lines = []
    for plan in site.plans(eq):
        head = f"      plan {plan.plan:<18} {plan.category:<11} {plan.name_zh}: {plan.describe()}"
        if plan.usage is not None:
            lines.append(f"{head}; next due when the {plan.usage[0]} counter passes the step")
            continue
        due = occurrence_at(plan, tz, site.maintenance.start, now)
        lines.append(
            f"{head}; now {due.start:%Y-%m-%d %H:%M} to {due.due:%Y-%m-%d %H:%M}, "
            f"next from {due.due:%Y-%m-%d %H:%M}"
        )
    return lines


def summarise(site: Site, now: datetime | None = None) -> str:
    catalogue = load_catalogue()
    now = now if now is not None else datetime.now(UTC)
    lines = [f"site {site.site.id}: {site.site.name} ({site.site.timezone})"]
    for building in site.buildings:
        machines = [eq for eq in site.equipment if eq.building == building.id]
        kinds = Counter(eq.kind for eq in machines)
        kind_text = ", ".join(
            f"{n} {kind} ({catalogue.kind(kind).name_zh})" for kind, n in sorted(kinds.items())
        )
        lines.append(f"  building {building.id} {building.name}: {kind_text or 'no equipment'}")
        for eq in machines:
            if eq.source.mqtt is not None:
                source = f"mqtt {eq.source.mqtt.topic or site.telemetry_topic(eq)}"
            else:
                assert eq.source.modbus is not None
                mb = eq.source.modbus
                where = mb.serial.port if mb.serial else f"{mb.host}:{mb.port}"
                source = f"modbus {mb.framing} {where} unit {mb.unit_id} map {mb.map}"
                if mb.collector:
                    source += f" (collector {mb.collector})"
            lines.append(f"    {eq.id:<24} {eq.kind:<11} {eq.name}  <- {source}")
            lines += plan_lines(site, eq, now)
    lines.append(f"{len(site.equipment)} machines, {len(site.register_maps)} register maps: OK")
    return "\n".join(lines)


def check(path: Path) -> tuple[int, str]:
    """Return (exit code, text to print)."""
    try:
        site = load_site(path)
    except SiteError as err:
        return 1, "\n".join([f"{err.source}: {len(err.errors)} error(s)", *err.errors])
    return 0, summarise(site)
