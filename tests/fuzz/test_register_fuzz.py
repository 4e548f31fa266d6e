"""Register decoding: any registers with any spec the loader accepts give a finite float or a
DecodeError; encoding any value gives words or an EncodeError."""

from __future__ import annotations

import math
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from core.modbus_codec import DecodeError, EncodeError, decode, encode
from core.registers import validate_register_map
from core.site import RegisterMap, RegisterSpec, RegisterType, Table, WordOrder
from tests.fuzz.strategies import nasty_numbers, scalars

numbers = st.floats() | st.integers(-(10**6), 10**6) | st.sampled_from([0, 1e-300, 1e300, -1.0])


@st.composite
def raw_specs(draw: st.DrawFn) -> dict[str, Any]:
    """A register spec as a site file gives it: mostly sound, sometimes with fields broken."""
    typ = draw(st.sampled_from(list(RegisterType)))
    bit_table = draw(st.sampled_from([Table.COIL, Table.DISCRETE_INPUT]))
    spec: dict[str, Any] = {
        "table": bit_table if typ is RegisterType.BOOL else draw(st.sampled_from(list(Table))),
        "address": draw(st.integers(0, 65535)),
        "type": typ.value,
        "order": draw(st.sampled_from(list(WordOrder))).value,
    }
    if typ is RegisterType.BIT:
        spec["bit"] = draw(st.integers(0, 15))
    if typ not in (RegisterType.BOOL, RegisterType.BIT):
        spec["scale"] = draw(numbers)
        spec["offset"] = draw(numbers)
    if draw(st.booleans()):
        spec["count"] = draw(st.integers(0, 5) | st.none())
    broken = draw(st.lists(st.sampled_from([*spec, "bit", "count", "scale"]), max_size=2))
    for field in broken:
        spec[field] = draw(scalars | st.integers(-2, 70000))
    return spec


# what pymodbus hands the collector: words (maybe out of range) or bits, any number of them
registers = st.lists(
    st.integers(0, 0xFFFF) | st.integers(-(2**20), 2**20) | st.booleans(), max_size=6
)


def accepted_spec(raw: dict[str, Any]) -> RegisterSpec | None:
    """The spec if the site loader would accept it in a map, else None."""
    try:
        spec = RegisterSpec.model_validate(raw)
    except ValidationError:
        return None
    errors = validate_register_map(RegisterMap(signals={"x": spec}))
    return None if errors else spec


@settings(max_examples=400, deadline=None)
@given(raw=raw_specs(), words=registers)
def test_any_registers_with_any_accepted_spec(raw: dict[str, Any], words: list[int]) -> None:
    spec = accepted_spec(raw)
    if spec is None:
        return
    try:
        value = decode(spec, words)
    except DecodeError as err:
        assert str(err)
        return
    assert isinstance(value, float) and math.isfinite(value)


@settings(max_examples=300, deadline=None)
@given(
    typ=st.sampled_from([t for t in RegisterType if t is not RegisterType.BOOL]),
    order=st.sampled_from(list(WordOrder)),
    scale=numbers.filter(lambda x: math.isfinite(x) and x != 0),
    offset=numbers.filter(math.isfinite),
    words=registers,
)
def test_registers_of_the_right_count_decode_to_finite_values_or_refuse(
    typ: RegisterType, order: WordOrder, scale: float, offset: float, words: list[int]
) -> None:
    bit = 5 if typ is RegisterType.BIT else None
    if typ is RegisterType.BIT:
        scale, offset = 1.0, 0.0
    spec = RegisterSpec(
        table="holding", address=0, type=typ, order=order, bit=bit, scale=scale, offset=offset
    )
    words = [w & 0xFFFF for w in words] + [0] * typ.register_count
    try:
        value = decode(spec, words[: typ.register_count])
    except DecodeError:
        return
    assert math.isfinite(value)


@settings(max_examples=300, deadline=None)
@given(raw=raw_specs(), value=nasty_numbers | st.booleans(), current=registers)
def test_encode_any_value_gives_words_or_encode_error(
    raw: dict[str, Any], value: float | int | bool, current: list[int]
) -> None:
    spec = accepted_spec(raw)
    if spec is None:
        return
    current = [w & 0xFFFF for w in current]
    try:
        words = encode(spec, value, current)
    except EncodeError as err:
        assert str(err)
        return
    assert all(isinstance(w, int) and 0 <= w <= 0xFFFF for w in words)
    assert len(words) == spec.type.register_count


def test_encode_found_bugs() -> None:
    # found by these tests: a JSON-sized integer overflowed float(), and a finite value
    # over a tiny scale became an infinite raw value that round() could not take
    int16 = RegisterSpec(table="holding", address=0, type="int16")
    tiny = RegisterSpec(table="holding", address=0, type="int32", scale=1e-300)
    for spec, value in ((int16, 10**400), (tiny, 1e300)):
        try:
            encode(spec, value)
        except EncodeError:
            continue
        raise AssertionError(f"encode({spec}, {value}) did not refuse")


def test_decode_near_the_largest_float_stays_finite() -> None:
    # found by these tests: rounding to 15 digits turned 1.7976931348623151e308 into inf
    spec = RegisterSpec(table="holding", address=0, type="int16", offset=1.7976931348623151e308)
    assert math.isfinite(decode(spec, [0]))
