"""The signal catalogue: which signals each equipment kind has (DESIGN §5).

The catalogue is data (``catalogue.yaml``); adding a kind means adding an entry there.
"""

from __future__ import annotations

import math
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


class KindSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: str
    name_zh: str
    signals: dict[str, SignalSpec]
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
    kinds = {
        kind: KindSpec(
            kind=kind,
            name_zh=entry["name_zh"],
            key_signal=entry.get("key_signal"),
            signals={
                name: SignalSpec(name=name, **spec) for name, spec in entry["signals"].items()
            },
        )
        for kind, entry in raw.items()
    }
    return Catalogue(kinds=kinds)
