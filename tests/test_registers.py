"""Register decoding (golden cases), encode/decode round trips, and map validation."""

from __future__ import annotations

import math
import struct
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from core.modbus_codec import DecodeError, EncodeError, decode, encode
from core.registers import validate_register_map
from core.site import RegisterMap, RegisterSpec, RegisterType, SiteError, WordOrder, parse_site

CASES = Path(__file__).parent / "cases" / "registers"


def _load(name: str, key: str) -> list[dict[str, Any]]:
    cases: list[dict[str, Any]] = yaml.safe_load((CASES / name).read_text())[key]
    return cases


GOOD = _load("types.yaml", "cases") + _load("fields.yaml", "cases")
BAD = _load("fields.yaml", "errors")


def _spec(case: dict[str, Any]) -> RegisterSpec:
    table = case.get("table", "holding")
    fields = {k: case[k] for k in ("type", "order", "bit", "scale", "offset") if k in case}
    return RegisterSpec(table=table, address=0, **fields)


def _raw(case: dict[str, Any]) -> list[int] | list[bool]:
    raw: list[int] | list[bool] = case["bits"] if "bits" in case else case["registers"]
    return raw


@pytest.mark.parametrize("case", GOOD, ids=[c["name"] for c in GOOD])
def test_golden_decode(case: dict[str, Any]) -> None:
    assert decode(_spec(case), _raw(case)) == pytest.approx(case["value"], rel=1e-12)


@pytest.mark.parametrize("case", GOOD, ids=[c["name"] for c in GOOD])
def test_golden_encode_gives_the_same_words(case: dict[str, Any]) -> None:
    spec = _spec(case)
    if spec.type is RegisterType.BIT:
        # only the field's own bit is defined by the value; keep the rest of the word
        words = encode(spec, bool(case["value"]), current=case["registers"])
    else:
        words = encode(spec, case["value"])
    assert words == [int(x) for x in _raw(case)]


@pytest.mark.parametrize("case", BAD, ids=[c["name"] for c in BAD])
def test_golden_refusals(case: dict[str, Any]) -> None:
    with pytest.raises(DecodeError, match=case["error"]):
        decode(_spec(case), _raw(case))


def test_float32_pi_in_all_four_orders() -> None:
    expected = {
        WordOrder.ABCD: [0x4049, 0x0FD0],
        WordOrder.CDAB: [0x0FD0, 0x4049],
        WordOrder.BADC: [0x4940, 0xD00F],
        WordOrder.DCBA: [0xD00F, 0x4940],
    }
    for order, words in expected.items():
        spec = RegisterSpec(table="holding", address=0, type="float32", order=order)
        assert encode(spec, 3.14159) == words
        assert decode(spec, words) == pytest.approx(3.14159, abs=1e-6)


def test_encode_refuses_values_the_type_cannot_hold() -> None:
    uint16 = RegisterSpec(table="holding", address=0, type="uint16")
    with pytest.raises(EncodeError, match="outside uint16"):
        encode(uint16, -1)
    with pytest.raises(EncodeError, match="outside uint16"):
        encode(uint16, 65536)
    scaled = RegisterSpec(table="holding", address=0, type="int16", scale=0.001)
    with pytest.raises(EncodeError):
        encode(scaled, 40.0)  # 40000 raw does not fit an int16
    with pytest.raises(EncodeError):
        encode(RegisterSpec(table="holding", address=0, type="float32"), 1e300)
    with pytest.raises(EncodeError):
        encode(uint16, math.nan)


# ---------------------------------------------------------------- properties

_ORDERS = st.sampled_from(list(WordOrder))
_LIMITS = {
    "int16": (-(2**15), 2**15 - 1),
    "uint16": (0, 2**16 - 1),
    "int32": (-(2**31), 2**31 - 1),
    "uint32": (0, 2**32 - 1),
}


@given(
    typ=st.sampled_from(sorted(_LIMITS)),
    order=_ORDERS,
    data=st.data(),
)
def test_integers_round_trip(typ: str, order: WordOrder, data: st.DataObject) -> None:
    low, high = _LIMITS[typ]
    value = data.draw(st.integers(low, high))
    spec = RegisterSpec(table="input", address=0, type=typ, order=order)
    assert decode(spec, encode(spec, value)) == value


@given(order=_ORDERS, value=st.floats(allow_nan=False, allow_infinity=False, width=32))
def test_float32_round_trips(order: WordOrder, value: float) -> None:
    spec = RegisterSpec(table="input", address=0, type="float32", order=order)
    assert decode(spec, encode(spec, value)) == value


@given(order=_ORDERS, value=st.floats(allow_nan=False, allow_infinity=False))
def test_float64_round_trips(order: WordOrder, value: float) -> None:
    spec = RegisterSpec(table="input", address=0, type="float64", order=order)
    assert decode(spec, encode(spec, value)) == value


@given(
    order=_ORDERS,
    bit=st.integers(0, 15),
    word=st.integers(0, 0xFFFF),
    value=st.booleans(),
)
def test_bit_fields_round_trip_and_keep_other_bits(
    order: WordOrder, bit: int, word: int, value: bool
) -> None:
    spec = RegisterSpec(table="holding", address=0, type="bit", bit=bit, order=order)
    words = encode(spec, value, current=[word])
    assert decode(spec, words) == float(value)
    raw = struct.unpack(">H", struct.pack(">H", words[0]))[0]
    # the other 15 bits are untouched (compare in the device's byte order)
    if order in (WordOrder.BADC, WordOrder.DCBA):
        raw, word = ((raw & 0xFF) << 8) | (raw >> 8), ((word & 0xFF) << 8) | (word >> 8)
    assert raw & ~(1 << bit) == word & ~(1 << bit)


@given(
    typ=st.sampled_from(["int16", "uint16", "int32", "uint32", "float32", "float64", "bit"]),
    order=_ORDERS,
    words=st.lists(st.integers(-(2**17), 2**17), max_size=6),
    scale=st.floats(allow_nan=False, allow_infinity=True) | st.just(1.0),
)
def test_decode_raises_only_decode_error(
    typ: str, order: WordOrder, words: list[int], scale: float
) -> None:
    bit = 3 if typ == "bit" else None
    scale = 1.0 if typ == "bit" else scale
    spec = RegisterSpec(table="holding", address=0, type=typ, order=order, bit=bit, scale=scale)
    try:
        value = decode(spec, words)
    except DecodeError:
        return
    assert math.isfinite(value)


# ---------------------------------------------------------------- map validation


def _map(**signals: dict[str, Any]) -> RegisterMap:
    return RegisterMap.model_validate({"signals": signals})


def test_sound_map_has_no_errors() -> None:
    register_map = _map(
        running={"table": "holding", "address": 0, "type": "bit", "bit": 0},
        fault={"table": "holding", "address": 0, "type": "bit", "bit": 1},
        frequency_hz={"table": "holding", "address": 1, "type": "float32", "count": 2},
        auto_mode={"table": "coil", "address": 1, "type": "bool"},
    )
    assert validate_register_map(register_map) == []


@pytest.mark.parametrize(
    ("signals", "expected"),
    [
        (
            {
                "a": {"table": "holding", "address": 10, "type": "float32"},
                "b": {"table": "holding", "address": 11, "type": "uint16"},
            },
            "signals.b.address: holding register 11 overlaps signal 'a'",
        ),
        (
            {"a": {"table": "input", "address": 65534, "type": "float64"}},
            "signals.a.address: float64 at 65534 needs 4 registers and runs past 65535",
        ),
        (
            {"a": {"table": "holding", "address": 0, "type": "int32", "count": 1}},
            "signals.a.count: int32 takes 2 register(s), the map gives 1",
        ),
        (
            {
                "a": {"table": "holding", "address": 0, "type": "bit", "bit": 3},
                "b": {"table": "holding", "address": 0, "type": "bit", "bit": 3},
            },
            "signals.b.bit: bit 3 of holding register 0 is already signal 'a'",
        ),
        (
            {
                "a": {"table": "holding", "address": 0, "type": "bit", "bit": 3},
                "b": {"table": "holding", "address": 0, "type": "uint16"},
            },
            "signals.b.address: holding register 0 overlaps signal 'a'",
        ),
        (
            {"a": {"table": "coil", "address": 0, "type": "uint16"}},
            "signals.a.type: table coil holds bits; use type bool",
        ),
        (
            {"a": {"table": "holding", "address": 0, "type": "bit"}},
            "signals.a.bit: type bit needs the bit number (0-15)",
        ),
        (
            {"a": {"table": "holding", "address": 0, "type": "bit", "bit": 1, "scale": 2}},
            "signals.a.scale: a bit is 0 or 1 and takes no scale or offset",
        ),
    ],
)
def test_map_errors(signals: dict[str, Any], expected: str) -> None:
    assert expected in validate_register_map(_map(**signals))


def _site_with_map(register_map: dict[str, Any]) -> dict[str, Any]:
    return {
        "site": {"id": "t", "name": "t"},
        "buildings": [{"id": "b1", "name": "b1"}],
        "equipment": [
            {
                "id": "p1",
                "kind": "pump",
                "name": "泵",
                "building": "b1",
                "source": {"modbus": {"host": "127.0.0.1", "map": "vfd"}},
            }
        ],
        "register_maps": {"vfd": register_map},
    }


def test_site_errors_name_the_path() -> None:
    raw = _site_with_map(
        {
            "signals": {
                "running": {"table": "holding", "address": 0, "type": "bit", "bit": 0},
                "frequency_hz": {"table": "holding", "address": 1, "order": "BACD"},
                "current_a": {"table": "holding", "address": 2, "type": "float32", "count": 1},
            }
        }
    )
    with pytest.raises(SiteError) as caught:
        parse_site(raw)
    text = "\n".join(caught.value.errors)
    assert "register_maps.vfd.signals.frequency_hz.order: Input should be 'ABCD'" in text
    raw["register_maps"]["vfd"]["signals"]["frequency_hz"]["order"] = "CDAB"
    with pytest.raises(SiteError) as caught:
        parse_site(raw)
    assert caught.value.errors == [
        "register_maps.vfd.signals.current_a.count: float32 takes 2 register(s), the map gives 1"
    ]
