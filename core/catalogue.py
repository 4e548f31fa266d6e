"""The signal catalogue: which signals each equipment kind has (DESIGN §5).

The catalogue is data (``catalogue.yaml``); adding a kind means adding an entry there.
A point list (a fire panel's active alarm points) is a fixed number of slots of int fields,
expanded here into ordinary signals, so collectors, stores, rules and dashboards need nothing
new for it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import overload

import yaml
from pydantic import BaseModel, ConfigDict


class SignalType(StrEnum):
    BOOL = "bool"
    INT = "int"
    FLOAT = "float"
    COUNTER = "counter"


DEFAULT_PRECISION = 3


class SignalSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    type: SignalType
    unit: str | None = None
    name_zh: str | None = None
    # decimals a person is shown (API, board, reports): the instrument's resolution, not
    # float32's noise (25.8799991607666 is 25.88 A); unset floats and counters show 3
    precision: int | None = None
    codes: dict[int, str] = {}  # names of the values of an int signal

    def label(self, value: float | None) -> str | None:
        """The name of a coded value (``ats_position`` 2 is 备用电源), if the catalogue has one."""
        if value is None or not self.codes:
            return None
        return self.codes.get(int(value))

    def coerce(self, raw: object) -> float:
        """Turn a raw payload value into the stored float, or raise ValueError saying why."""
        if isinstance(raw, bool):
            if self.type is SignalType.BOOL:
                return 1.0 if raw else 0.0
            raise ValueError(f"{self.name}: expected {self.type}, got a boolean")
        if isinstance(raw, int | float):
            try:
                value = float(raw)
            except OverflowError:  # an integer beyond any float (JSON allows it)
                raise ValueError(f"{self.name}: value out of range") from None
            if not math.isfinite(value):
                raise ValueError(f"{self.name}: value {raw!r} is not finite")
            if self.type is SignalType.BOOL and value not in (0.0, 1.0):
                raise ValueError(f"{self.name}: expected a boolean, got {raw!r}")
            if self.type is SignalType.INT and not value.is_integer():
                raise ValueError(f"{self.name}: expected an integer, got {raw!r}")
            return value
        if isinstance(raw, str) and self.type is SignalType.BOOL:
            lowered = raw.strip().lower()
            if lowered in ("true", "on", "1"):
                return 1.0
            if lowered in ("false", "off", "0"):
                return 0.0
        if isinstance(raw, str):
            try:
                return self.coerce(float(raw))
            except ValueError:
                pass
        raise ValueError(f"{self.name}: expected {self.type}, got {type(raw).__name__} {raw!r}")

    def present(self, value: float | None) -> bool | int | float | None:
        """The stored float as its catalogue type, for display and JSON."""
        if value is None:
            return None
        if self.type is SignalType.BOOL:
            return value != 0.0
        if self.type is SignalType.INT:
            return int(value)
        return self.rounded(value)

    @overload
    def rounded(self, value: float) -> float: ...
    @overload
    def rounded(self, value: None) -> None: ...
    def rounded(self, value: float | None) -> float | None:
        """``value`` to this signal's precision (catalogue ``precision``, else 3 decimals)."""
        if value is None:
            return None
        return round(value, DEFAULT_PRECISION if self.precision is None else self.precision)


class PointList(BaseModel):
    """``slots`` entries of int ``fields`` (zone, loop, address, device type), stored as the
    signals ``{name}_{slot}_{field}``; a slot whose fields are all 0 is empty."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    name_zh: str
    slots: int
    fields: dict[str, SignalSpec]

    def signal(self, slot: int, field: str) -> str:
        return f"{self.name}_{slot}_{field}"

    def signals(self) -> dict[str, SignalSpec]:
        """Every slot signal, by name, with its field's spec."""
        return {
            self.signal(slot, field): spec.model_copy(
                update={
                    "name": self.signal(slot, field),
                    "name_zh": f"{self.name_zh}{slot}{spec.name_zh or field}",
                }
            )
            for slot in range(1, self.slots + 1)
            for field, spec in self.fields.items()
        }

    def entries(self, values: Mapping[str, float | None]) -> list[dict[str, int]]:
        """The occupied slots of ``values`` (signal -> value), in slot order."""
        out = []
        for slot in range(1, self.slots + 1):
            entry = {f: int(values.get(self.signal(slot, f)) or 0) for f in self.fields}
            if any(entry.values()):
                out.append(entry)
        return out

    def as_values(self, entries: Sequence[Mapping[str, int]]) -> dict[str, int]:
        """The slot signals for ``entries`` (the first ``slots`` of them), empty slots 0."""
        out = {name: 0 for name in self.signals()}
        for slot, entry in enumerate(entries[: self.slots], start=1):
            for field in self.fields:
                out[self.signal(slot, field)] = int(entry.get(field, 0))
        return out


class KindSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: str
    name_zh: str
    signals: dict[str, SignalSpec]  # every signal, point-list slots included
    point_lists: dict[str, PointList] = {}
    # the one value the monitoring room's overview shows per machine (pressure, level, floor)
    key_signal: str | None = None

    def key(self) -> SignalSpec | None:
        """The overview's key value: ``key_signal``, else the first analog signal, if any."""
        if self.key_signal is not None:
            return self.signals[self.key_signal]
        analog = (SignalType.FLOAT, SignalType.COUNTER)
        return next((s for s in self.signals.values() if s.type in analog), None)


class Catalogue(BaseModel):
    model_config = ConfigDict(frozen=True)

    kinds: dict[str, KindSpec]

    def kind(self, kind: str) -> KindSpec:
        try:
            return self.kinds[kind]
        except KeyError:
            raise KeyError(f"unknown equipment kind {kind!r}") from None

    def signal(self, kind: str, signal: str) -> SignalSpec:
        spec = self.kind(kind).signals.get(signal)
        if spec is None:
            raise KeyError(f"kind {kind!r} has no signal {signal!r}")
        return spec


@cache
def load_catalogue() -> Catalogue:
    """The catalogue shipped with plantroom."""
    text = resources.files("core").joinpath("catalogue.yaml").read_text(encoding="utf-8")
    raw = yaml.safe_load(text)
    kinds = {}
    for kind, entry in raw.items():
        signals = {name: SignalSpec(name=name, **spec) for name, spec in entry["signals"].items()}
        point_lists = {
            name: PointList(
                name=name,
                name_zh=body["name_zh"],
                slots=body["slots"],
                fields={f: SignalSpec(name=f, **spec) for f, spec in body["fields"].items()},
            )
            for name, body in entry.get("point_lists", {}).items()
        }
        for points in point_lists.values():
            clash = sorted(set(points.signals()) & set(signals))
            if clash:
                raise ValueError(f"core/catalogue.yaml {kind}: {clash} defined twice")
            signals.update(points.signals())
        kinds[kind] = KindSpec(
            kind=kind,
            name_zh=entry["name_zh"],
            key_signal=entry.get("key_signal"),
            signals=signals,
            point_lists=point_lists,
        )
    return Catalogue(kinds=kinds)
