"""Which Modbus gateways this collector process polls, when several processes share a site.

The unit of assignment is the gateway (``GatewayKey``: host:port and framing, or a serial
port), never a single device: the devices behind one gateway share one connection and its
lock, so they must stay in one process. Two rules, both pure functions of the site file and
the process's own settings:

- A gateway whose machines say ``collector: NAME`` is polled only by the process started
  with ``PLANTROOM_COLLECTOR_NAME=NAME`` (whatever its shard).
- Every other gateway goes to one of N shards by rendezvous hashing: shard ``i`` scores
  ``sha256(gateway key, i)`` and the highest score wins. Stable across runs, machines and
  site-file reordering (it depends on the key only), and going from N to N+1 shards moves
  only the gateways the new shard wins, about 1/(N+1) of them.

Shards are numbered from 1: ``PLANTROOM_COLLECTOR_SHARD=2/3`` is the second of three. Without
a shard setting a process is ``1/1`` (every unpinned gateway), unless it has a name: a named
process without a shard polls only the gateways pinned to its name.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass

from collectors.modbus.connections import GatewayKey
from core.site import Equipment, Site

_SHARD = re.compile(r"^\s*(\d{1,4})\s*/\s*(\d{1,4})\s*$")
_NAME = re.compile(r"^[a-z0-9-]{1,64}$")  # the site file's collector names are identifiers


@dataclass(frozen=True, slots=True)
class Shard:
    """This process's share: shard ``index`` (1-based) of ``count``, and its name if any.

    ``count`` 0 (with a name): no share of the unpinned gateways, only the pinned ones.
    """

    index: int = 1
    count: int = 1
    name: str | None = None

    def __post_init__(self) -> None:
        if self.count == 0 and self.index == 0 and self.name is not None:
            pass  # a process for its pinned gateways only
        elif not 1 <= self.index <= self.count:
            raise ValueError(
                f"PLANTROOM_COLLECTOR_SHARD={self.index}/{self.count}: need 1 <= shard <= count"
            )
        if self.name is not None and not _NAME.match(self.name):
            raise ValueError(
                f"PLANTROOM_COLLECTOR_NAME={self.name!r}: use lower-case letters, digits and '-'"
            )

    @classmethod
    def parse(cls, text: str | None, name: str | None = None) -> Shard:
        """``"2/3"`` (shard 2 of 3); empty or None is ``1/1``, or pins only with a name."""
        name = name.strip() if name else None
        if not text or not text.strip():
            return cls(0, 0, name) if name else cls()
        match = _SHARD.match(text)
        if match is None:
            raise ValueError(
                f"PLANTROOM_COLLECTOR_SHARD={text!r}: expected INDEX/COUNT, e.g. 2/3 (1-based)"
            )
        return cls(int(match.group(1)), int(match.group(2)), name or None)

    def __str__(self) -> str:
        if self.count == 0:
            return f"pinned to {self.name} only"
        return f"{self.index}/{self.count}" + (f" ({self.name})" if self.name else "")


def gateway_label(key: GatewayKey) -> str:
    """The gateway as logs and the hash see it: ``tcp://10.0.0.5:502``, ``rtu:/dev/ttyUSB0``."""
    return f"rtu:{key.where}" if key.framing == "rtu" else f"{key.framing}://{key.where}"


def shard_of(key: GatewayKey, count: int) -> int:
    """The 1-based shard of ``count`` that polls an unpinned gateway (rendezvous hashing)."""
    label = gateway_label(key).encode()

    def score(index: int) -> bytes:
        return hashlib.sha256(label + b"\x00" + str(index).encode()).digest()

    return max(range(1, count + 1), key=score)


def gateways(site: Site) -> dict[GatewayKey, list[Equipment]]:
    """The site's Modbus machines grouped by gateway, in site-file order."""
    groups: dict[GatewayKey, list[Equipment]] = {}
    for eq in site.equipment:
        if eq.source.modbus is not None:
            groups.setdefault(GatewayKey.of(eq.source.modbus), []).append(eq)
    return groups


def pinned_to(machines: Iterable[Equipment]) -> str | None:
    """The collector name a gateway's machines pin it to (the loader makes them agree)."""
    for eq in machines:
        if eq.source.modbus is not None and eq.source.modbus.collector is not None:
            return eq.source.modbus.collector
    return None


def polls(key: GatewayKey, machines: Iterable[Equipment], shard: Shard) -> bool:
    """Whether the process with ``shard`` polls this gateway."""
    pin = pinned_to(machines)
    if pin is not None:
        return pin == shard.name
    return shard.count > 0 and shard_of(key, shard.count) == shard.index


def assign(site: Site, shard: Shard) -> set[str]:
    """The ids of the Modbus machines that the process with ``shard`` polls."""
    return {
        eq.id
        for key, machines in gateways(site).items()
        if polls(key, machines, shard)
        for eq in machines
    }


__all__ = ["Shard", "assign", "gateway_label", "gateways", "pinned_to", "polls", "shard_of"]
