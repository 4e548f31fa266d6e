"""Payload parsing: any bytes or JSON on any kind of topic gives readings or a PayloadError."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collectors.mqtt.payloads import Decoded, PayloadError, TopicRouter
from core.readings import Quality
from core.site import load_site
from tests.fuzz.strategies import json_like, nasty_numbers, nasty_text, scalars
from tests.test_payloads import third_party_site

NOW = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
NOW_MS = int(NOW.timestamp() * 1000)
EXAMPLE = TopicRouter(load_site(Path(__file__).resolve().parents[2] / "examples" / "site.yaml"))
THIRD_PARTY = TopicRouter(third_party_site())
CONVENTION = "plantroom/lakeside/b1/pump/pump-domestic-1/telemetry"
STATUS = "plantroom/lakeside/b1/pump/pump-domestic-1/status"
MAPPED = "vendor/plc7/pumps/1"
VALUE_TOPICS = ["legacy/tank1/level", "legacy/tank1/lo"]
ROUTES = [
    (EXAMPLE, CONVENTION),
    (EXAMPLE, STATUS),
    (THIRD_PARTY, MAPPED),
    *[(THIRD_PARTY, topic) for topic in VALUE_TOPICS],
    (EXAMPLE, "plantroom/lakeside/b1/pump/nobody/telemetry"),
]
routes = st.sampled_from(ROUTES)


def decode_or_refuse(router: TopicRouter, topic: str, payload: bytes) -> Decoded | None:
    """The property: a Decoded whose values are finite floats (or None and not good), or a
    PayloadError; any other exception fails the test."""
    try:
        decoded = router.decode(topic, payload, NOW)
    except PayloadError as err:
        assert str(err)
        return None
    for reading in decoded.readings:
        if reading.value is None:
            assert reading.quality is not Quality.GOOD and reading.reason
        else:
            assert isinstance(reading.value, float) and math.isfinite(reading.value)
    return decoded


def dumps(document: Any) -> bytes:
    return json.dumps(document, allow_nan=True).encode()


timestamps = (
    nasty_numbers
    | st.integers(NOW_MS - 10**8, NOW_MS + 10**8)
    | st.datetimes(timezones=st.timezones() | st.none()).map(lambda d: d.isoformat())
    | scalars
)


@settings(max_examples=200, deadline=None)
@given(route=routes, payload=st.binary(max_size=200))
def test_any_bytes_on_any_topic(route: tuple[TopicRouter, str], payload: bytes) -> None:
    decode_or_refuse(*route, payload)


@settings(max_examples=200, deadline=None)
@given(route=routes, document=json_like())
def test_any_json_document_on_any_topic(route: tuple[TopicRouter, str], document: Any) -> None:
    decode_or_refuse(*route, dumps(document))


@settings(max_examples=200, deadline=None)
@given(ts=timestamps, values=json_like(st.sampled_from(["running", "starts", "x", "fault"])))
def test_convention_payloads_with_any_timestamp_and_values(ts: Any, values: Any) -> None:
    decode_or_refuse(EXAMPLE, CONVENTION, dumps({"ts": ts, "values": values}))


@settings(max_examples=200, deadline=None)
@given(time=timestamps, run=json_like(), pressure=scalars, st_node=scalars)
def test_mapped_payloads_with_any_field_values(
    time: Any, run: Any, pressure: Any, st_node: Any
) -> None:
    document = {"time": time, "st": {"run": run}, "ai": {"p": pressure}}
    decode_or_refuse(THIRD_PARTY, MAPPED, dumps(document))
    decode_or_refuse(THIRD_PARTY, MAPPED, dumps({"time": time, "st": st_node}))


@settings(max_examples=200, deadline=None)
@given(topic=st.sampled_from(VALUE_TOPICS), value=scalars | nasty_text.map(lambda t: f" {t} "))
def test_value_topics_with_any_scalar(topic: str, value: Any) -> None:
    decode_or_refuse(THIRD_PARTY, topic, dumps(value))
    if isinstance(value, str):
        decode_or_refuse(THIRD_PARTY, topic, value.encode())


@pytest.mark.parametrize(
    ("topic", "payload"),
    [
        # found by these tests: float() of a JSON integer beyond float range overflowed
        (CONVENTION, b'{"values": {"starts": 1' + b"0" * 400 + b"}}"),
        (MAPPED, b'{"time": 1' + b"0" * 400 + b', "st": {"run": 1}}'),
        ("legacy/tank1/level", b"1" + b"0" * 400),
        # and an integer of more than 4300 digits is a ValueError inside json.loads
        (CONVENTION, b'{"values": {"starts": ' + b"7" * 5000 + b"}}"),
        ("legacy/tank1/level", b"[" + b"7" * 5000 + b"]"),
    ],
)
def test_huge_integers_are_refused_not_raised(topic: str, payload: bytes) -> None:
    router = EXAMPLE if topic == CONVENTION else THIRD_PARTY
    decoded = decode_or_refuse(router, topic, payload)
    assert decoded is None or all(r.quality is Quality.INVALID for r in decoded.readings)
