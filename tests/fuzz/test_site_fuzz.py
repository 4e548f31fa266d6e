"""Site loading: any YAML file, and any mutation of the example site (its register maps too),
gives a Site or a SiteError listing path-qualified problems; never another exception."""

from __future__ import annotations

import copy
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.site import Site, SiteError, load_site, parse_site
from tests.fuzz.strategies import json_like, scalars

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "site.yaml"
SITE_KEYS = st.sampled_from(
    ["site", "buildings", "equipment", "register_maps", "include_maps", "id", "name", "kind",
     "source", "mqtt", "modbus", "signals", "table", "address", "type", "host", "map"]
)  # fmt: skip
FRAGMENTS = st.sampled_from(
    ["a: 2026-13-45", "a: " + "9" * 5000, "[" * 3000, "a: &x [1, *x]", "\t", "%YAML 9.9",
     "a: !!python/object:os.system", "a: !!binary '###'", "? [1]\n: 2", "a: 1_000:00:00",
     "site: &s {id: x, name: *s}", "a: !!float 'x'", "a: !!timestamp 'yesterday'",
     "a: 0x" + "f" * 5000, "- - - -", "\xff", "a: *nope"]
)  # fmt: skip


def merged_example() -> dict[str, Any]:
    """The example site with its included register maps inlined, so mutations reach them."""
    raw: dict[str, Any] = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    raw["register_maps"] = {}
    for rel in raw.pop("include_maps"):
        raw["register_maps"].update(yaml.safe_load((EXAMPLE.parent / rel).read_text("utf-8")))
    return raw


MERGED = merged_example()


def paths(node: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from paths(value, (*prefix, index))


ALL_PATHS = list(paths(MERGED))[1:]
# values that aim at the checks: durations, hosts, identifiers, map references
AIMED = st.sampled_from(
    ["0s", "1e400s", "99999999999999999999d", -1, 10**400, float("nan"), "tcp://u:p@h:502",
     "u:p@host", "host:502", "../../etc/passwd", "/etc/passwd", "plantroom/#", "a..b", "",
     "泵", "x" * 300, "rtu", "coil", "float64", "bit", "DCBA", 65536, 2**64, True, None, [], {}]
)  # fmt: skip


def assert_only_site_errors(call: Any) -> Site | None:
    try:
        return call()  # type: ignore[no-any-return]
    except SiteError as err:
        assert err.errors
        for error in err.errors:
            # "path: message"; an unknown top-level key is its own path
            assert isinstance(error, str) and ": " in error, error
        return None


@pytest.fixture(scope="module")
def folder() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as name:
        yield Path(name)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    text=st.text(max_size=200)
    | json_like(SITE_KEYS).map(lambda doc: yaml.safe_dump(doc, allow_unicode=True))
    | st.lists(FRAGMENTS, min_size=1, max_size=3).map("\n".join)
)
def test_any_yaml_file(folder: Path, text: str) -> None:
    path = folder / "site.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    assert_only_site_errors(lambda: load_site(path))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    targets=st.lists(st.sampled_from(ALL_PATHS), min_size=1, max_size=3),
    data=st.data(),
)
def test_mutations_of_the_example_and_its_maps(
    targets: list[tuple[Any, ...]], data: st.DataObject
) -> None:
    raw = copy.deepcopy(MERGED)
    for path in targets:
        parent: Any = raw
        try:
            for key in path[:-1]:
                parent = parent[key]
            last = path[-1]
            operation = data.draw(st.sampled_from(["replace", "aim", "delete", "extra"]))
            if operation == "replace":
                parent[last] = data.draw(json_like(SITE_KEYS, max_leaves=6))
            elif operation == "aim":
                parent[last] = data.draw(AIMED)
            elif operation == "delete":
                del parent[last]
            elif isinstance(parent, dict):
                parent[data.draw(st.text(max_size=6) | SITE_KEYS)] = data.draw(scalars)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation removed or retyped this path
    assert_only_site_errors(lambda: parse_site(raw))


@settings(max_examples=60, deadline=None)
@given(includes=st.lists(st.text(max_size=20) | st.sampled_from(
    ["maps", "site.yaml", "maps/pump-vfd.yaml", ".", "", "maps/../maps/x.yaml", "/dev/zero",
     "maps/nope.yaml", "~/x", "\x00", "a" * 300, "maps//pump-vfd.yaml"]
), max_size=4))  # fmt: skip
def test_any_include_maps_list(includes: list[str]) -> None:
    raw: dict[str, Any] = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    raw["include_maps"] = includes
    assert_only_site_errors(lambda: parse_site(raw, source=str(EXAMPLE), base=EXAMPLE.parent))
