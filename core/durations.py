"""Durations in data files: ``30s``, ``5m``, ``2h``, ``250ms`` or a number of seconds."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated

from pydantic import BeforeValidator

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(raw: object) -> object:
    """Accept ``30s``, ``5m``, ``2h``, ``250ms`` or a number of seconds."""
    try:
        return _parse_duration(raw)
    except OverflowError:
        raise ValueError(f"duration out of range: {raw!r}") from None


def _parse_duration(raw: object) -> object:
    if isinstance(raw, str):
        match = _DURATION.match(raw)
        if match is None:
            raise ValueError(f"not a duration: {raw!r} (use e.g. 500ms, 30s, 5m, 2h)")
        return timedelta(seconds=float(match.group(1)) * _UNIT_SECONDS[match.group(2)])
    if isinstance(raw, bool):
        raise ValueError("a duration cannot be a boolean")
    if isinstance(raw, int | float):
        return timedelta(seconds=raw)
    return raw


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
