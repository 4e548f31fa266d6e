"""What an alert is about: a machine (``pump-1``), a Modbus gateway (``gateway:HOST:PORT``)
or the whole site (``site:ID``). One place parses these identities and names them for
people, so a gateway ticket reads "Modbus网关 127.0.0.1:15022（生活变频泵2号、集水井）", not
``gateway:127.0.0.1:15022``."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from core.site import Equipment, Site

GATEWAY_PREFIX = "gateway:"
SITE_PREFIX = "site:"


class SubjectKind(StrEnum):
    EQUIPMENT = "equipment"
    GATEWAY = "gateway"
    SITE = "site"


@dataclass(frozen=True, slots=True)
class Subject:
    kind: SubjectKind
    key: str  # the machine id, the gateway's HOST:PORT or serial port, or the site id

    @classmethod
    def parse(cls, raw: str) -> Subject:
        if raw.startswith(GATEWAY_PREFIX):
            return cls(SubjectKind.GATEWAY, raw.removeprefix(GATEWAY_PREFIX))
        if raw.startswith(SITE_PREFIX):
            return cls(SubjectKind.SITE, raw.removeprefix(SITE_PREFIX))
        return cls(SubjectKind.EQUIPMENT, raw)

    def __str__(self) -> str:
        if self.kind is SubjectKind.GATEWAY:
            return GATEWAY_PREFIX + self.key
        if self.kind is SubjectKind.SITE:
            return SITE_PREFIX + self.key
        return self.key


def gateway_key(eq: Equipment) -> str | None:
    """The Modbus line a machine is on: ``HOST:PORT`` of its TCP gateway, or the serial port
    of its RS-485 line (``/dev/ttyUSB0``, ``socket://host:port``) — the connection the
    collector shares between the devices on it; None for a machine on MQTT."""
    modbus = eq.source.modbus
    if modbus is None:
        return None
    if modbus.serial is not None:
        return modbus.serial.port
    if modbus.host is None:
        return None
    return f"{modbus.host}:{modbus.port}"


def gateway_subject(key: str) -> str:
    return str(Subject(SubjectKind.GATEWAY, key))


def machines_of(site: Site, raw: str) -> list[Equipment]:
    """The machines a subject covers: one, those behind a gateway, or all of the site."""
    subject = Subject.parse(raw)
    if subject.kind is SubjectKind.GATEWAY:
        return [eq for eq in site.equipment if gateway_key(eq) == subject.key]
    if subject.kind is SubjectKind.SITE:
        return list(site.equipment)
    return [eq for eq in site.equipment if eq.id == subject.key]


def subject_name(site: Site, raw: str) -> str:
    """How people read a subject: the machine's name, the gateway with its machines, the site."""
    subject = Subject.parse(raw)
    if subject.kind is SubjectKind.GATEWAY:
        names = "、".join(eq.name for eq in machines_of(site, raw))
        return f"Modbus网关 {subject.key}" + (f"（{names}）" if names else "")
    if subject.kind is SubjectKind.SITE:
        return f"{site.site.name} 全站"
    try:
        return site.machine(subject.key).name
    except KeyError:
        return subject.key


def subject_building_name(site: Site, raw: str) -> str | None:
    """The building(s) of the machines a subject covers (a gateway may serve two)."""
    if Subject.parse(raw).kind is SubjectKind.SITE:
        return None
    ids = list(dict.fromkeys(eq.building for eq in machines_of(site, raw)))
    names = [b.name for b in site.buildings if b.id in ids]
    return "、".join(names) or None
