"""What every device model shares: its values type, and faults as explicit, named state.

A model is pure: ``step(dt)`` advances it by ``dt`` seconds of simulated time, ``values()``
reads it, ``inject(fault, **params)`` and ``clear(fault)`` change which faults are active.
No model reads a clock or does I/O; randomness comes from the generator it is given.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from core.site import Equipment

Values = dict[str, float | int | bool]
Params = Mapping[str, Any]


class FaultError(ValueError):
    """A fault that this model does not know, or bad parameters for one."""


@dataclass
class FaultState:
    """The faults a model knows, and which of them are active with which parameters."""

    known: Mapping[str, frozenset[str]]  # fault -> the parameters it takes
    active: dict[str, dict[str, Any]] = field(default_factory=dict)

    def set(self, eq: Equipment, fault: str, params: Params) -> None:
        if fault not in self.known:
            known = ", ".join(sorted(self.known))
            raise FaultError(f"{eq.id}: {eq.kind} has no fault '{fault}' (known: {known})")
        unknown = sorted(set(params) - self.known[fault])
        if unknown:
            takes = ", ".join(sorted(self.known[fault])) or "none"
            raise FaultError(
                f"{eq.id}: fault '{fault}' has no parameter {', '.join(unknown)} (takes: {takes})"
            )
        self.active[fault] = dict(params)

    def unset(self, eq: Equipment, fault: str) -> None:
        if fault not in self.known:
            known = ", ".join(sorted(self.known))
            raise FaultError(f"{eq.id}: {eq.kind} has no fault '{fault}' (known: {known})")
        self.active.pop(fault, None)

    def __contains__(self, fault: object) -> bool:
        return fault in self.active

    def param(self, fault: str, name: str, default: Any) -> Any:
        return self.active.get(fault, {}).get(name, default)


def number(params: Params, name: str, default: float, eq: Equipment) -> float:
    """A numeric fault parameter, checked once at injection."""
    raw = params.get(name, default)
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise FaultError(f"{eq.id}: parameter '{name}' must be a number, got {raw!r}")
    return float(raw)


def make_rng(seed: int | str, eq: Equipment) -> random.Random:
    """One generator per machine keeps each machine's behaviour stable when others change."""
    return random.Random(f"{seed}:{eq.id}")
