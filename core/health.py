"""What ``/health`` reports: each component of the process, ok or failing and why (DESIGN §9).

A component is a probe (a function returning None when it is fine, else the reason it is
not), or a heartbeat (fine while it has beaten within its window: a collector storing
readings). The board remembers when each was last fine, so a failure shows since when.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from core.clock import Clock, SystemClock

Probe = Callable[[], str | None]


@dataclass(frozen=True, slots=True)
class ComponentHealth:
    name: str
    ok: bool
    detail: str | None  # why it is failing; None when it is fine
    last_ok: datetime | None  # when it was last seen fine (None: never, in this process)


class HealthBoard:
    """The process's components, probed when asked. Safe to use from any thread."""

    def __init__(self, clock: Clock | None = None) -> None:
        self._clock = clock or SystemClock()
        self._probes: dict[str, Probe] = {}
        self._last_ok: dict[str, datetime] = {}
        self._beats: dict[str, datetime] = {}
        self._lock = threading.Lock()

    def probe(self, name: str, check: Probe) -> None:
        """Add a component checked by ``check`` at each look."""
        with self._lock:
            self._probes[name] = check

    def heartbeat(self, name: str, within: timedelta, waiting: str) -> Callable[[], None]:
        """Add a component that is fine while it beats at least once per ``within``; returns
        the function to call at each beat. ``waiting`` says what it has not done."""
        started = self._clock.now()

        def check() -> str | None:
            with self._lock:
                last = self._beats.get(name)
            silent = self._clock.now() - (last or started)
            if silent <= within:
                return None
            return f"{waiting} for {int(silent.total_seconds())} s (more than {within})"

        def beat() -> None:
            with self._lock:
                self._beats[name] = self._clock.now()

        self.probe(name, check)
        return beat

    def look(self, extra: dict[str, Probe] | None = None) -> list[ComponentHealth]:
        """Every component's state now (``extra``: probes of this look only), by name."""
        with self._lock:
            probes = {**self._probes, **(extra or {})}
        out = []
        for name in sorted(probes):
            try:
                problem = probes[name]()
            except Exception as err:  # a probe that breaks is a failing component, not a 500
                problem = f"health probe failed: {type(err).__name__}"
            now = self._clock.now()
            with self._lock:
                if problem is None:  # a heartbeat was last fine at its last beat
                    self._last_ok[name] = self._beats.get(name, now)
                last = self._last_ok.get(name)
            out.append(ComponentHealth(name, problem is None, problem, last))
        return out


__all__ = ["ComponentHealth", "HealthBoard", "Probe"]
