"""The site file: every error reported with its path; check prints a summary or the errors."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.catalogue import load_catalogue
from core.site import Site, SiteError, load_site, parse_site
from plantroom.cli import main

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "site.yaml"


def raw_example() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    return loaded


def errors_of(raw: dict[str, Any]) -> list[str]:
    with pytest.raises(SiteError) as caught:
        parse_site(raw, base=EXAMPLE.parent)
    return caught.value.errors


def test_example_site_loads_with_chinese_names(site: Site) -> None:
    assert site.site.name == "湖畔花园"
    assert site.machine("tank-fire").name == "消防水池"
    kinds = {eq.kind for eq in site.equipment}
    assert kinds == set(load_catalogue().kinds)  # the example shows every kind
    assert site.telemetry_topic(site.machine("pump-domestic-1")) == (
        "plantroom/lakeside/b1/pump/pump-domestic-1/telemetry"
    )


def test_every_error_is_reported_with_its_path_in_one_pass() -> None:
    raw = raw_example()
    raw["equipment"][0]["kind"] = "boiler"
    raw["equipment"][1]["building"] = "b9"
    raw["equipment"][2]["id"] = raw["equipment"][3]["id"]
    raw["equipment"][4]["source"] = {"mqtt": {"stale_after": "soon"}}
    raw["equipment"][5]["colour"] = "red"
    raw["equipment"][6]["building"] = "b7"
    errors = errors_of(raw)
    assert any(e.startswith("equipment[4].source.mqtt.stale_after:") for e in errors)
    assert any(e.startswith("equipment[5].colour:") for e in errors)
    # the reference checks run in the same pass, on the entries that are well-shaped, and
    # give the paths in the file's own numbering (entries 4 and 5 were set aside)
    assert (
        "equipment[0].kind: unknown kind 'boiler' (known: elevator, energy_meter, "
        "fire_panel, flood_sensor, generator, power, pump, water_tank)" in errors
    )
    assert "equipment[1].building: unknown building 'b9'" in errors
    assert "equipment[6].building: unknown building 'b7'" in errors
    assert f"equipment[3].id: duplicate equipment id '{raw['equipment'][3]['id']}'" in errors
    # renaming entry 2 (tank-fire) leaves what pointed at it dangling: reported too
    assert "equipment[3].simulation.fills: unknown equipment 'tank-fire'" in errors
    assert len(errors) == len(set(errors)) == 7, errors


def test_unknown_register_map_and_bad_map_are_errors_with_paths() -> None:
    raw = raw_example()
    raw["equipment"][0]["source"] = {
        "modbus": {"host": "127.0.0.1", "port": 1502, "unit_id": 3, "map": "pump-vfd-v2"}
    }
    raw["register_maps"] = {
        "broken": {
            "signals": {
                "running": {"table": "coil", "address": 0, "type": "int16"},
                "level_m": {"table": "holding", "address": 65535, "type": "float32"},
                "level_pct": {"table": "holding", "address": 10, "order": "ACBD"},
            }
        }
    }
    errors = errors_of(raw)
    assert any(e.startswith("register_maps.broken.signals.level_pct.order:") for e in errors)
    # the malformed map is set aside and the rest is cross-checked in the same pass
    assert "equipment[0].source.modbus.map: unknown map 'pump-vfd-v2'" in errors
    raw["register_maps"]["broken"]["signals"]["level_pct"]["order"] = "CDAB"
    errors = errors_of(raw)
    assert "equipment[0].source.modbus.map: unknown map 'pump-vfd-v2'" in errors
    assert any(e.startswith("register_maps.broken.signals.running.type:") for e in errors)
    assert any(
        e.startswith("register_maps.broken.signals.level_m.address:") and "65535" in e
        for e in errors
    )


def test_site_values_that_escape_their_purpose_are_rejected() -> None:
    raw = raw_example()
    raw["include_maps"] = ["../../etc/passwd"]
    assert errors_of(raw) == [
        "include_maps[0]: must be a path inside the site file's folder, got '../../etc/passwd'"
    ]
    raw = raw_example()
    raw["equipment"][0]["source"] = {"mqtt": {"topic": "plantroom/#"}}
    assert any(e.startswith("equipment[0].source.mqtt.topic:") for e in errors_of(raw))


def test_unreadable_and_non_yaml_files_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(SiteError, match="cannot read"):
        load_site(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("site: [unclosed", encoding="utf-8")
    with pytest.raises(SiteError, match="not valid YAML"):
        load_site(bad)
    bad.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(SiteError, match="not UTF-8"):
        load_site(bad)


def test_check_command_prints_summary_or_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", str(EXAMPLE)]) == 0
    out = capsys.readouterr().out
    assert "site lakeside: 湖畔花园" in out
    assert "building b1 1号楼" in out
    raw = raw_example()
    raw["equipment"][0]["kind"] = "boiler"
    shutil.copytree(EXAMPLE.parent / "maps", tmp_path / "maps")
    broken = tmp_path / "site.yaml"
    broken.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    assert main(["check", str(broken)]) == 1
    out = capsys.readouterr().out
    assert "equipment[0].kind: unknown kind 'boiler'" in out


# Any document at all: the loader either returns a Site or raises SiteError, nothing else.
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(json_values)
def test_arbitrary_documents_raise_only_site_error(doc: object) -> None:
    try:
        parse_site(doc)
    except SiteError as err:
        assert err.errors


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_example_raises_only_site_error(data: st.DataObject) -> None:
    raw = copy.deepcopy(raw_example())
    eq = data.draw(st.integers(0, len(raw["equipment"]) - 1))
    key = data.draw(st.sampled_from(["id", "kind", "building", "source", "simulation", "name"]))
    raw["equipment"][eq][key] = data.draw(json_values)
    try:
        parse_site(raw, base=EXAMPLE.parent)
    except SiteError as err:
        # a renamed machine also leaves the example's maintenance override naming the old id
        sections = ("equipment", "(root)", "register_maps", "maintenance")
        assert all(e.startswith(sections) for e in err.errors)
