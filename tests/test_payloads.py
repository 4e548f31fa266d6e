"""MQTT payload decoding: the convention, mapped third-party topics, and every kind of bad input."""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collectors.mqtt.payloads import MAX_PAYLOAD_BYTES, PayloadError, TopicRouter
from core.readings import Quality
from core.site import Site, load_site, parse_site

NOW = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
TOPIC = "plantroom/lakeside/b1/pump/pump-domestic-1/telemetry"
EXAMPLE_ROUTER = TopicRouter(
    load_site(Path(__file__).resolve().parent.parent / "examples/site.yaml")
)


@pytest.fixture
def router(site: Site) -> TopicRouter:
    return TopicRouter(site)


def third_party_site() -> Site:
    return parse_site(
        {
            "site": {"id": "s", "name": "测试"},
            "buildings": [{"id": "b", "name": "B"}],
            "equipment": [
                {
                    "id": "p1",
                    "kind": "pump",
                    "name": "泵",
                    "building": "b",
                    "source": {
                        "mqtt": {
                            "topic": "vendor/plc7/pumps/1",
                            "fields": {"running": "st.run", "outlet_pressure_mpa": "ai.p"},
                            "ts_field": "time",
                        }
                    },
                },
                {
                    "id": "t1",
                    "kind": "water_tank",
                    "name": "水箱",
                    "building": "b",
                    "source": {
                        "mqtt": {
                            "format": "value",
                            "topics": {
                                "level_m": "legacy/tank1/level",
                                "low_level": "legacy/tank1/lo",
                            },
                        }
                    },
                },
            ],
        }
    )


def test_convention_payload_with_epoch_ms(router: TopicRouter) -> None:
    ts_ms = int((NOW - timedelta(seconds=2)).timestamp() * 1000)
    payload = json.dumps({"ts": ts_ms, "values": {"running": True, "outlet_pressure_mpa": 0.42}})
    decoded = router.decode(TOPIC, payload.encode(), NOW)
    assert decoded.problems == []
    values = {r.signal: (r.value, r.quality) for r in decoded.readings}
    assert values == {"running": (1.0, Quality.GOOD), "outlet_pressure_mpa": (0.42, Quality.GOOD)}
    assert decoded.readings[0].ts == NOW - timedelta(seconds=2)


def test_convention_payload_with_rfc3339_and_no_ts(router: TopicRouter) -> None:
    decoded = router.decode(
        TOPIC, b'{"ts": "2026-11-22T15:59:58+08:00", "values": {"starts": 12}}', NOW
    )
    assert decoded.readings[0].ts == NOW - timedelta(seconds=2)
    decoded = router.decode(TOPIC, b'{"values": {"starts": 12}}', NOW)
    assert decoded.readings[0].ts == NOW


@pytest.mark.parametrize(
    ("topic", "payload", "reason"),
    [
        (TOPIC, b'{"values": {"running": tru', "bad JSON"),
        (TOPIC, b"[1, 2]", "expected a JSON object"),
        (TOPIC, b'{"values": {}}', "'values' must be a non-empty JSON object"),
        (TOPIC, b'{"values": 3}', "'values' must be a non-empty JSON object"),
        (TOPIC, b'{"vals": {"running": 1}}', "unknown top-level keys: vals"),
        (TOPIC, b'{"ts": "yesterday", "values": {"running": 1}}', "ts: not RFC 3339"),
        (TOPIC, b'{"ts": 1000, "values": {"running": 1}}', "more than a day"),
        (TOPIC, b'{"ts": "2026-11-22T08:00:00", "values": {"running": 1}}', "needs an offset"),
        (TOPIC, b"\xff\xfe\xfd", "not UTF-8"),
        (TOPIC, b" " * (MAX_PAYLOAD_BYTES + 1), "oversized payload"),
        (
            "plantroom/lakeside/b1/pump/nobody/telemetry",
            b'{"values": {"running": 1}}',
            "unknown topic",
        ),
        ("plantroom/lakeside/b1/pump/pump-domestic-1/status", b"sleepy", "status must be"),
    ],
)
def test_malformed_messages_are_rejected_with_a_reason(
    router: TopicRouter, topic: str, payload: bytes, reason: str
) -> None:
    with pytest.raises(PayloadError, match=reason):
        router.decode(topic, payload, NOW)


def test_wrong_types_mark_just_that_signal_invalid(router: TopicRouter) -> None:
    payload = {
        "values": {"running": "maybe", "fault_code": 1.5, "current_a": 12.5, "pump_colour": 1}
    }
    decoded = router.decode(TOPIC, json.dumps(payload).encode(), NOW)
    by_signal = {r.signal: r for r in decoded.readings}
    assert by_signal["current_a"].value == 12.5
    assert by_signal["current_a"].quality is Quality.GOOD
    assert by_signal["running"].quality is Quality.INVALID
    assert by_signal["running"].value is None
    assert "expected bool" in (by_signal["running"].reason or "")
    assert by_signal["fault_code"].quality is Quality.INVALID
    assert "pump_colour" not in by_signal
    assert any("unknown signal 'pump_colour'" in p for p in decoded.problems)


def test_non_finite_numbers_are_invalid(router: TopicRouter) -> None:
    decoded = router.decode(TOPIC, b'{"values": {"current_a": NaN, "frequency_hz": 50}}', NOW)
    by_signal = {r.signal: r for r in decoded.readings}
    assert by_signal["current_a"].quality is Quality.INVALID
    assert by_signal["frequency_hz"].value == 50.0


def test_status_messages(router: TopicRouter) -> None:
    status = "plantroom/lakeside/b1/pump/pump-domestic-1/status"
    assert router.decode(status, b"offline", NOW).online is False
    assert router.decode(status, b"online", NOW).online is True


def test_mapped_third_party_json_and_single_value_topics() -> None:
    router = TopicRouter(third_party_site())
    assert "vendor/plc7/pumps/1" in router.subscriptions()
    doc = {"time": "2026-11-22T07:59:00Z", "st": {"run": 1}, "ai": {"p": 0.38}, "extra": "ignored"}
    decoded = router.decode("vendor/plc7/pumps/1", json.dumps(doc).encode(), NOW)
    values = {r.signal: r.value for r in decoded.readings}
    assert values == {"running": 1.0, "outlet_pressure_mpa": 0.38}
    assert decoded.readings[0].ts == NOW - timedelta(minutes=1)
    with pytest.raises(PayloadError, match="missing timestamp field 'time'"):
        router.decode("vendor/plc7/pumps/1", b'{"st": {"run": 1}}', NOW)
    with pytest.raises(PayloadError, match="none of the mapped fields"):
        router.decode("vendor/plc7/pumps/1", b'{"time": "2026-11-22T07:59:00Z"}', NOW)
    level = router.decode("legacy/tank1/level", b"2.75", NOW)
    assert [(r.signal, r.value) for r in level.readings] == [("level_m", 2.75)]
    low = router.decode("legacy/tank1/lo", b"ON", NOW)
    assert [(r.signal, r.value) for r in low.readings] == [("low_level", 1.0)]
    bad = router.decode("legacy/tank1/level", b"full", NOW)
    assert bad.readings[0].quality is Quality.INVALID


def _any_json() -> st.SearchStrategy[Any]:
    return st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
        lambda inner: (
            st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
        ),
        max_leaves=16,
    )


@settings(max_examples=300)
@given(st.binary(max_size=300))
def test_random_bytes_decode_or_raise_payload_error(payload: bytes) -> None:
    with contextlib.suppress(PayloadError):
        EXAMPLE_ROUTER.decode(TOPIC, payload, NOW)


@settings(max_examples=300)
@given(_any_json())
def test_random_json_values_decode_or_raise_payload_error(values: Any) -> None:
    try:
        decoded = EXAMPLE_ROUTER.decode(TOPIC, json.dumps({"values": values}).encode(), NOW)
    except PayloadError:
        return
    for reading in decoded.readings:
        assert reading.quality is Quality.INVALID or reading.value is not None
