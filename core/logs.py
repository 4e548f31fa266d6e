"""Structured logs, one line per event, and a failure logged once with its recovery once."""

from __future__ import annotations

import json
import logging
import sys
import threading
from typing import Any


class LineFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        fields: dict[str, Any] = getattr(record, "fields", {})
        parts = [
            self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            record.levelname.lower(),
            record.name,
            record.getMessage(),
        ]
        parts += [f"{k}={_quote(v)}" for k, v in fields.items()]
        line = " ".join(parts)
        if record.exc_info:
            line += " exc=" + _quote(self.formatException(record.exc_info))
        return line


def _quote(value: Any) -> str:
    text = str(value)
    if text and all(c.isalnum() or c in "-_.:/@" for c in text):
        return text
    return json.dumps(text, ensure_ascii=False)


def configure_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(LineFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("amqtt", "transitions", "pymodbus", "uvicorn.access", "httpx"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # pymodbus warns on every reconnect attempt; the Modbus collector logs each failure once
    logging.getLogger("pymodbus").setLevel(logging.ERROR)


def event(logger: logging.Logger, name: str, level: int = logging.INFO, **fields: Any) -> None:
    """Log one event: ``name`` is a short verb phrase, fields are key=value context."""
    logger.log(level, name, extra={"fields": fields})


class FailureTracker:
    """Remembers which things are failing, so each failure and recovery is logged once."""

    def __init__(self, logger: logging.Logger) -> None:
        self._logger = logger
        self._failing: dict[str, str] = {}
        self._lock = threading.Lock()

    def failed(self, key: str, reason: str, **fields: Any) -> bool:
        """Record a failure; logs and returns True only when ``key`` was not already failing."""
        with self._lock:
            first = key not in self._failing
            self._failing[key] = reason
        if first:
            event(self._logger, "failed", logging.WARNING, what=key, reason=reason, **fields)
        return first

    def recovered(self, key: str, **fields: Any) -> bool:
        with self._lock:
            was = self._failing.pop(key, None)
        if was is not None:
            event(self._logger, "recovered", what=key, after=was, **fields)
        return was is not None

    def is_failing(self, key: str) -> bool:
        with self._lock:
            return key in self._failing

    def failing(self) -> dict[str, str]:
        with self._lock:
            return dict(self._failing)
