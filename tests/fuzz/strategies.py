"""Hypothesis strategies shared by the fuzz tests: JSON-like values with nasty corners."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

# numbers a parser trips on: beyond float range, non-finite, -0.0, bools posing as ints
nasty_numbers = (
    st.integers()
    | st.integers(min_value=10**308, max_value=10**400)
    | st.integers(max_value=-(10**308), min_value=-(10**400))
    | st.floats()
    | st.sampled_from([0, -0.0, 1, 2**63, 2**64, 1e-320, 65536, -1])
)
nasty_text = st.text(max_size=12) | st.sampled_from(
    ["", " ", "1e999", "NaN", "on", "off", "true", "2026-13-45", "10ms", "-1s", "\x00", "../x"]
)
scalars = st.none() | st.booleans() | nasty_numbers | nasty_text


def json_like(keys: st.SearchStrategy[str] = nasty_text, max_leaves: int = 16) -> Any:
    """Any JSON-like value (scalars, lists, string-keyed mappings)."""
    return st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
        max_leaves=max_leaves,
    )
