"""How every benchmark reports its rounds: each round is valid or discarded with its reason,
and the valid ones are summarised as min / median / max with the machine's load beside them.

Benchmarks share this so that no figure is "best of N" and no round whose preconditions failed
(a backlog the broker did not hold, a count that does not match) is ever summarised.
"""

from __future__ import annotations

import os
import statistics
from dataclasses import dataclass, field


def load_average() -> str:
    """The 1, 5 and 15 minute load averages, as printed beside every figure."""
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} ({os.cpu_count()} cores)"


class Discard(Exception):
    """A round whose result cannot be trusted; the message says why."""


@dataclass
class Series:
    """The rates one subject reached over the rounds, and the rounds it lost."""

    name: str
    unit: str = "msg/s"
    values: list[float] = field(default_factory=list)
    discarded: list[str] = field(default_factory=list)

    def add(self, value: float) -> None:
        self.values.append(value)

    def discard(self, round_no: int, reason: str) -> None:
        self.discarded.append(f"round {round_no}: {reason}")

    @property
    def median(self) -> float:
        return statistics.median(self.values) if self.values else float("nan")

    def summary(self) -> str:
        if not self.values:
            return f"{self.name:<46} no valid round"
        return (
            f"{self.name:<46}{min(self.values):>10,.0f}{self.median:>10,.0f}"
            f"{max(self.values):>10,.0f}  {self.unit} ({len(self.values)} valid)"
        )


def header() -> str:
    return f"{'':<46}{'min':>10}{'median':>10}{'max':>10}"


def report(series: list[Series]) -> None:
    """Print min / median / max of every subject, then every discarded round with its reason."""
    print(header())
    for s in series:
        print(s.summary())
    for s in series:
        for reason in s.discarded:
            print(f"discarded {s.name}: {reason}")


def ratio(ours: Series, base: Series) -> str:
    """Median over median, or why there is none."""
    if not ours.values or not base.values:
        return "n/a (no valid rounds)"
    return f"{ours.median / base.median:.0%}"
