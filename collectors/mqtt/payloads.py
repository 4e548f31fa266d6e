"""Pure decoding of MQTT messages into readings, driven by the site file.

``TopicRouter.decode`` never raises for bad input other than ``PayloadError``: a message is
either readings (some possibly ``invalid`` with a reason) or a PayloadError saying what was
wrong, so the collector can keep the good values and dead-letter the rest.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import orjson

from collectors.mqtt.timing import Stamp, Timekeeper
from core.catalogue import Catalogue, SignalSpec, load_catalogue
from core.readings import Quality, Reading
from core.site import Equipment, Site

MAX_PAYLOAD_BYTES = 64 * 1024
# Device timestamps further than this from our clock are refused (unset RTC, ms vs s); closer
# ones beyond the collector's max_skew are stored at arrival time (collectors/mqtt/timing.py).
MAX_TIMESTAMP_ERROR_S = 24 * 3600


class Reject(StrEnum):
    """Why a message (or part of one) was rejected. The fixed set of values of the
    ``reason`` label of ``plantroom_mqtt_rejected_total``: labels never come from device input."""

    UNKNOWN_TOPIC = "unknown_topic"
    OVERSIZED = "oversized"
    NOT_UTF8 = "not_utf8"
    BAD_JSON = "bad_json"
    BAD_LAYOUT = "bad_layout"  # not an object, unknown keys, no values, no mapped field
    BAD_STATUS = "bad_status"
    BAD_TIMESTAMP = "bad_timestamp"
    UNKNOWN_SIGNAL = "unknown_signal"
    BAD_VALUE = "bad_value"
    INTERNAL_ERROR = "internal_error"  # caught by the collector's per-message error boundary


class PayloadError(ValueError):
    """A message that cannot be turned into readings; the text is the reason."""

    def __init__(self, reason: str, kind: Reject = Reject.BAD_LAYOUT) -> None:
        super().__init__(reason)
        self.kind = kind


@dataclass(frozen=True, slots=True)
class Decoded:
    """What one message said: readings, whether it was a status message, and any problems."""

    equipment: str
    readings: list[Reading]
    problems: list[str] = field(default_factory=list)
    online: bool | None = None  # set for status messages
    rejected: Reject | None = None  # the kind of the first problem
    stamp: Stamp | None = None  # how the readings' time was chosen (clock skew)


@dataclass(frozen=True, slots=True)
class _Route:
    equipment: Equipment
    mode: str  # "convention", "mapped", "value", "status"
    signal: str | None = None


def parse_timestamp(raw: object, received_at: datetime) -> datetime:
    """Epoch milliseconds or RFC 3339; must lie within a day of our clock."""
    bad = Reject.BAD_TIMESTAMP
    if isinstance(raw, bool) or raw is None:
        raise PayloadError(f"ts: expected epoch ms or RFC 3339, got {raw!r}", bad)
    if isinstance(raw, int | float):
        if isinstance(raw, float) and not math.isfinite(raw):
            raise PayloadError(f"ts: not finite: {raw!r}", bad)
        try:
            ts = datetime.fromtimestamp(raw / 1000, tz=UTC)
        except (OverflowError, OSError, ValueError) as err:  # incl. ints beyond any float
            raise PayloadError(f"ts: out of range: {str(raw)[:40]}", bad) from err
    elif isinstance(raw, str):
        try:
            ts = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError as err:
            raise PayloadError(f"ts: not RFC 3339: {raw[:60]!r}", bad) from err
        if ts.tzinfo is None:
            raise PayloadError(f"ts: RFC 3339 time needs an offset: {raw[:60]!r}", bad)
    else:
        raise PayloadError(f"ts: expected epoch ms or RFC 3339, got {type(raw).__name__}", bad)
    try:
        error_s = abs((ts - received_at).total_seconds())
    except OverflowError as err:  # year 1 or 9999 minus now
        raise PayloadError(f"ts: out of range: {ts.isoformat()}", bad) from err
    if error_s > MAX_TIMESTAMP_ERROR_S:
        raise PayloadError(
            f"ts: {ts.isoformat()} is more than a day from the collector's clock", bad
        )
    return ts


def _dig(document: Any, dotted: str) -> Any:
    node = document
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            raise KeyError(dotted)
        node = node[part]
    return node


class TopicRouter:
    """Knows which topic belongs to which machine and how its payload is laid out."""

    def __init__(
        self, site: Site, catalogue: Catalogue | None = None, timekeeper: Timekeeper | None = None
    ) -> None:
        self.site = site
        self.catalogue = catalogue or load_catalogue()
        # chooses each reading's stored time (device clock or arrival); without one, the
        # device's time as given, else the arrival time
        self.timekeeper = timekeeper
        self._routes: dict[str, _Route] = {}
        for eq in site.equipment:
            mqtt = eq.source.mqtt
            if mqtt is None:
                continue
            self._routes[site.status_topic(eq)] = _Route(eq, "status")
            if mqtt.format == "value":
                for signal, topic in mqtt.topics.items():
                    self._routes[topic] = _Route(eq, "value", signal)
            elif mqtt.fields:
                self._routes[mqtt.topic or site.telemetry_topic(eq)] = _Route(eq, "mapped")
            else:
                self._routes[mqtt.topic or site.telemetry_topic(eq)] = _Route(eq, "convention")

    def subscriptions(self) -> list[str]:
        """Topic filters to subscribe to: the convention tree plus every mapped topic."""
        convention = f"plantroom/{self.site.site.id}/#"
        others = sorted(
            t for t in self._routes if not t.startswith(f"plantroom/{self.site.site.id}/")
        )
        return [convention, *others]

    def equipment_for(self, topic: str) -> Equipment | None:
        route = self._routes.get(topic)
        return route.equipment if route else None

    def decode(self, topic: str, payload: bytes, received_at: datetime) -> Decoded:
        route = self._routes.get(topic)
        if route is None:
            raise PayloadError(
                "unknown topic: no machine in the site file publishes here", Reject.UNKNOWN_TOPIC
            )
        if len(payload) > MAX_PAYLOAD_BYTES:
            raise PayloadError(
                f"oversized payload: {len(payload)} bytes > {MAX_PAYLOAD_BYTES}", Reject.OVERSIZED
            )
        try:
            text = payload.decode("utf-8")
        except UnicodeDecodeError as err:
            raise PayloadError(
                f"payload is not UTF-8: {err.reason} at byte {err.start}", Reject.NOT_UTF8
            ) from err
        eq = route.equipment
        if route.mode == "status":
            state = text.strip().lower()
            if state not in ("online", "offline"):
                raise PayloadError(
                    f"status must be 'online' or 'offline', got {text[:40]!r}", Reject.BAD_STATUS
                )
            return Decoded(eq.id, [], online=state == "online")
        signals = self.catalogue.kind(eq.kind).signals
        if route.mode == "value":
            assert route.signal is not None
            raw = _loads(text) if text.strip()[:1] in ("{", "[", '"') else text.strip()
            return self._values(eq, {route.signal: raw}, signals, None, received_at)
        document = _loads(text)
        if not isinstance(document, dict):
            raise PayloadError(f"expected a JSON object, got {type(document).__name__}")
        if route.mode == "mapped":
            mqtt = eq.source.mqtt
            assert mqtt is not None
            device_ts = None
            if mqtt.ts_field:
                try:
                    device_ts = parse_timestamp(_dig(document, mqtt.ts_field), received_at)
                except KeyError:
                    raise PayloadError(
                        f"missing timestamp field '{mqtt.ts_field}'", Reject.BAD_TIMESTAMP
                    ) from None
            values: dict[str, Any] = {}
            for signal, path in mqtt.fields.items():
                try:
                    values[signal] = _dig(document, path)
                except KeyError:
                    continue  # a device may report a subset of its fields per message
            if not values:
                raise PayloadError("none of the mapped fields is present")
            return self._values(eq, values, signals, device_ts, received_at)
        unknown_keys = set(document) - {"ts", "values", "seq"}
        if unknown_keys:
            raise PayloadError(f"unknown top-level keys: {', '.join(sorted(unknown_keys))}")
        convention_values = document.get("values")
        if not isinstance(convention_values, dict) or not convention_values:
            raise PayloadError("'values' must be a non-empty JSON object")
        device_ts = parse_timestamp(document["ts"], received_at) if "ts" in document else None
        return self._values(eq, convention_values, signals, device_ts, received_at)

    def _values(
        self,
        eq: Equipment,
        values: dict[str, Any],
        signals: dict[str, SignalSpec],
        device_ts: datetime | None,
        received_at: datetime,
    ) -> Decoded:
        stamp = None
        if self.timekeeper is not None:
            stamp = self.timekeeper.stamp(eq.id, device_ts, received_at)
            ts = stamp.ts
        else:
            ts = device_ts or received_at
        readings: list[Reading] = []
        problems: list[str] = []
        rejected: Reject | None = None
        for signal, raw in values.items():
            spec = signals.get(signal)
            if spec is None:
                problems.append(f"unknown signal '{signal}' for kind {eq.kind}")
                rejected = rejected or Reject.UNKNOWN_SIGNAL
                continue
            try:
                readings.append(Reading(eq.id, signal, ts, spec.coerce(raw)))
            except ValueError as err:
                problems.append(str(err))
                rejected = rejected or Reject.BAD_VALUE
                readings.append(Reading(eq.id, signal, ts, None, Quality.INVALID, str(err)))
        return Decoded(eq.id, readings, problems, rejected=rejected, stamp=stamp)


def _loads(text: str) -> Any:
    """Parse with orjson; anything it refuses goes through ``json`` so that the meaning of a
    payload (NaN literals, integers beyond 64 bits, the error reported) stays the stdlib's."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        pass
    bad = Reject.BAD_JSON
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise PayloadError(
            f"bad JSON: {err.msg} at line {err.lineno} column {err.colno}", bad
        ) from err
    except RecursionError as err:
        raise PayloadError("bad JSON: nested too deeply", bad) from err
    except ValueError as err:  # e.g. an integer of more than 4300 digits
        raise PayloadError(f"bad JSON: {err}", bad) from err
