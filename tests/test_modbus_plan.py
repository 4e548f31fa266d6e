"""Coalescing register reads into requests (pure)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from collectors.modbus.plan import ReadRequest, plan_reads, split
from core.site import RegisterSpec, Table


def _specs(**signals: dict[str, Any]) -> dict[str, RegisterSpec]:
    return {name: RegisterSpec.model_validate(fields) for name, fields in signals.items()}


def test_contiguous_and_near_contiguous_registers_share_a_request() -> None:
    specs = _specs(
        a={"table": "holding", "address": 0, "type": "uint16"},
        b={"table": "holding", "address": 1, "type": "float32"},
        c={"table": "holding", "address": 5, "type": "int16"},  # gap of 2 registers
        d={"table": "holding", "address": 40, "type": "uint16"},  # gap of 34: new request
    )
    assert plan_reads(specs, max_gap=2) == [
        ReadRequest(Table.HOLDING, 0, 6, ("a", "b", "c")),
        ReadRequest(Table.HOLDING, 40, 1, ("d",)),
    ]
    # with no gap allowed, c is read on its own
    assert [r.signals for r in plan_reads(specs, max_gap=0)] == [("a", "b"), ("c",), ("d",)]


def test_tables_never_mix_and_bit_fields_share_their_word() -> None:
    specs = _specs(
        running={"table": "holding", "address": 100, "type": "bit", "bit": 0},
        fault={"table": "holding", "address": 100, "type": "bit", "bit": 2},
        level={"table": "input", "address": 100, "type": "float32"},
        alarm={"table": "discrete_input", "address": 7, "type": "bool"},
        auto={"table": "coil", "address": 3, "type": "bool"},
        silenced={"table": "coil", "address": 90, "type": "bool"},  # within 8*16 bits
    )
    assert plan_reads(specs) == [
        ReadRequest(Table.COIL, 3, 88, ("auto", "silenced")),
        ReadRequest(Table.DISCRETE_INPUT, 7, 1, ("alarm",)),
        ReadRequest(Table.HOLDING, 100, 1, ("fault", "running")),
        ReadRequest(Table.INPUT, 100, 2, ("level",)),
    ]


def test_requests_respect_the_protocol_limits() -> None:
    registers = {
        f"r{i}": {"table": "holding", "address": i * 2, "type": "float32"} for i in range(100)
    }
    plan = plan_reads(_specs(**registers))
    assert [(r.address, r.count) for r in plan] == [(0, 124), (124, 76)]
    coils = {f"c{i}": {"table": "coil", "address": i, "type": "bool"} for i in range(2500)}
    assert [(r.address, r.count) for r in plan_reads(_specs(**coils))] == [(0, 2000), (2000, 500)]


def test_a_value_never_straddles_two_requests() -> None:
    specs = _specs(
        a={"table": "holding", "address": 0, "type": "float64"},
        b={"table": "holding", "address": 4, "type": "float64"},
    )
    assert [(r.address, r.count) for r in plan_reads(specs, max_registers=6)] == [(0, 4), (4, 4)]


def test_split_reads_each_signal_alone() -> None:
    specs = _specs(
        a={"table": "holding", "address": 0, "type": "uint16"},
        b={"table": "holding", "address": 1, "type": "int32"},
    )
    (request,) = plan_reads(specs)
    assert split(request, specs) == [
        ReadRequest(Table.HOLDING, 0, 1, ("a",)),
        ReadRequest(Table.HOLDING, 1, 2, ("b",)),
    ]


def test_bad_limits_are_refused() -> None:
    with pytest.raises(ValueError, match="max_gap"):
        plan_reads({}, max_gap=-1)


_SPEC = st.builds(
    lambda table, address, typ: RegisterSpec(
        table=table,
        address=address,
        type="bool" if table in ("coil", "discrete_input") else typ,
    ),
    st.sampled_from(["coil", "discrete_input", "holding", "input"]),
    st.integers(0, 3000),
    st.sampled_from(["uint16", "int32", "float32", "float64"]),
)


@given(
    specs=st.dictionaries(st.text("abcdefgh", min_size=1, max_size=4), _SPEC, max_size=40),
    gap=st.integers(0, 20),
)
def test_every_signal_is_read_exactly_once_within_limits(
    specs: dict[str, RegisterSpec], gap: int
) -> None:
    plan = plan_reads(specs, max_gap=gap)
    covered = [name for request in plan for name in request.signals]
    assert sorted(covered) == sorted(specs)
    for request in plan:
        limit = 2000 if request.table.is_bit_table else 125
        assert 1 <= request.count <= limit
        for name in request.signals:
            spec = specs[name]
            assert spec.table is request.table
            assert request.address <= spec.address
            assert spec.address + spec.type.register_count <= request.end
