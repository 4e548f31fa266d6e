"""Inspection checklists (巡检表) per kind, as data (``checklists.yaml``), and the one rule
that says when an answer contradicts the telemetry (DESIGN §11)."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from importlib import resources

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

ANY_KIND = "*"


class ChecklistItem(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    item: str = Field(pattern=r"^[a-z0-9_]+$")
    name_zh: str
    answers: tuple[str, ...] = Field(min_length=2)
    signal: str | None = None
    expect: dict[str, float] = Field(default_factory=dict)  # answer → value telemetry shows

    @model_validator(mode="after")
    def _expect_known_answers(self) -> ChecklistItem:
        unknown = set(self.expect) - set(self.answers)
        if unknown:
            raise ValueError(f"{self.item}: expect names unknown answers {sorted(unknown)}")
        return self


@cache
def _all() -> dict[str, tuple[ChecklistItem, ...]]:
    text = resources.files("core").joinpath("checklists.yaml").read_text(encoding="utf-8")
    raw = yaml.safe_load(text)
    return {
        kind: tuple(ChecklistItem.model_validate(i) for i in items) for kind, items in raw.items()
    }


def checklist(kind: str) -> tuple[ChecklistItem, ...]:
    """The items a technician answers for a machine of ``kind``."""
    items = _all()
    return items.get(ANY_KIND, ()) + items.get(kind, ())


def contradictions(
    kind: str, answers: Mapping[str, str], telemetry: Mapping[str, float | None]
) -> list[str]:
    """The answers the telemetry contradicts, in words (e.g. ``运行状态: 记录"运行"，遥测为停止``).
    ``telemetry`` holds the latest good value of each signal (None or absent: unknown, which
    contradicts nothing)."""
    out = []
    for item in checklist(kind):
        answer = answers.get(item.item)
        if item.signal is None or answer not in item.expect:
            continue
        shown = telemetry.get(item.signal)
        if shown is None or shown == item.expect[answer]:
            continue
        seen = next((a for a, v in item.expect.items() if v == shown), f"{shown:g}")
        out.append(f'{item.name_zh}: 记录"{answer}"，遥测为"{seen}"')
    return out
