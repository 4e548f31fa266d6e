"""Site-file values that could escape their purpose are refused, each with its path."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from core.site import SiteError, load_site, parse_site
from tests.test_site import EXAMPLE, errors_of, raw_example

LIFT = 5  # equipment[5] of the example: lift-b2-1 on Modbus TCP
TANK = 0  # equipment[0]: tank-domestic on MQTT


def modbus_with(**fields: Any) -> dict[str, Any]:
    raw = raw_example()
    raw["equipment"][LIFT]["source"]["modbus"].update(fields)
    return raw


def mqtt_with(**fields: Any) -> dict[str, Any]:
    raw = raw_example()
    raw["equipment"][TANK]["source"]["mqtt"].update(fields)
    return raw


MB = f"equipment[{LIFT}].source.modbus"
MQ = f"equipment[{TANK}].source.mqtt"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (modbus_with(poll_interval="10ms"), f"{MB}.poll_interval: Value error, must be between"),
        (modbus_with(poll_interval="2d"), f"{MB}.poll_interval: Value error, must be between"),
        (modbus_with(poll_interval=0), f"{MB}.poll_interval: Value error, must be between"),
        (modbus_with(poll_interval=-5), f"{MB}.poll_interval: Value error, must be between"),
        (modbus_with(poll_interval=1e300), f"{MB}.poll_interval: Value error, duration out of"),
        (modbus_with(poll_interval="99999999999d"), f"{MB}.poll_interval: Value error, duration"),
        (modbus_with(timeout="0s"), f"{MB}.timeout: Value error, must be between 1ms and 1m"),
        (modbus_with(timeout="5m"), f"{MB}.timeout: Value error, must be between 1ms and 1m"),
        (mqtt_with(stale_after="500ms"), f"{MQ}.stale_after: Value error, must be between 1s"),
        (mqtt_with(stale_after="8d"), f"{MQ}.stale_after: Value error, must be between 1s and 7d"),
    ],
)
def test_absurd_durations_are_refused(raw: dict[str, Any], expected: str) -> None:
    errors = errors_of(raw)
    assert len(errors) == 1 and errors[0].startswith(expected), errors


def test_duration_bounds_are_inclusive() -> None:
    parse_site(modbus_with(poll_interval="50ms", timeout="60s"), base=EXAMPLE.parent)
    parse_site(modbus_with(poll_interval="1d", timeout="1ms"), base=EXAMPLE.parent)
    parse_site(mqtt_with(stale_after="1s"), base=EXAMPLE.parent)
    parse_site(mqtt_with(stale_after="7d"), base=EXAMPLE.parent)


@pytest.mark.parametrize(
    ("host", "message"),
    [
        ("tcp://10.0.0.5:502", "not a URL"),
        ("modbus://gw.local", "not a URL"),
        ("admin:s3cret@10.0.0.5", "credentials do not belong"),
        ("admin@gw.local", "credentials do not belong"),
        ("10.0.0.5:502", "give the port in 'port'"),
        ("[::1]", "give the port in 'port'"),
        ("gw/../../etc", "not a host name"),
        ("-gw.local", "not a host name"),
        ("gw..local", "not a host name"),
        ("gw local", "not a host name"),
    ],
)
def test_hosts_that_are_urls_or_carry_credentials_are_refused(host: str, message: str) -> None:
    errors = errors_of(modbus_with(host=host))
    assert len(errors) == 1 and errors[0].startswith(f"{MB}.host: Value error, "), errors
    assert message in errors[0]
    assert "s3cret" not in errors[0]  # a password in the wrong place is not echoed


@pytest.mark.parametrize("host", ["10.0.0.5", "::1", "fe80::1", "plc-7.plantroom.local", "gw."])
def test_plain_hosts_and_addresses_are_accepted(host: str) -> None:
    site = parse_site(modbus_with(host=host), base=EXAMPLE.parent)
    assert site.equipment[LIFT].source.modbus is not None
    assert site.equipment[LIFT].source.modbus.host == host


@pytest.mark.parametrize(
    ("fields", "where"),
    [
        ({"fields": {"level_m": ""}}, f"{MQ}.fields.level_m"),
        ({"fields": {"level_m": "a..b"}}, f"{MQ}.fields.level_m"),
        ({"fields": {"level_m": ".a"}}, f"{MQ}.fields.level_m"),
        ({"fields": {"level_m": "a.\x7f"}}, f"{MQ}.fields.level_m"),
        ({"fields": {"level_m": "a\nb"}}, f"{MQ}.fields.level_m"),
        ({"fields": {"level_m": ".".join("k" * 17)}}, f"{MQ}.fields.level_m"),
        ({"fields": {"level_m": "x" * 300}}, f"{MQ}.fields.level_m"),
        ({"fields": {"level_m": "a.b"}, "ts_field": "t..s"}, f"{MQ}.ts_field"),
    ],
)
def test_mqtt_field_paths_must_be_sane(fields: dict[str, Any], where: str) -> None:
    errors = errors_of(mqtt_with(**fields))
    assert len(errors) == 1 and errors[0].startswith(f"{where}: "), errors


def test_mapped_fields_with_any_key_text_are_accepted() -> None:
    raw = mqtt_with(fields={"level_m": "数据.液位 m", "low_level": "di.lo+"}, ts_field="time")
    site = parse_site(raw, base=EXAMPLE.parent)
    assert site.equipment[TANK].source.mqtt is not None
    assert site.equipment[TANK].source.mqtt.fields["level_m"] == "数据.液位 m"


def _site_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "site"
    shutil.copytree(EXAMPLE.parent / "maps", folder / "maps")
    return folder


def _write(folder: Path, raw: dict[str, Any]) -> Path:
    path = folder / "site.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


def _load_errors(path: Path) -> list[str]:
    with pytest.raises(SiteError) as caught:
        load_site(path)
    return caught.value.errors


def test_included_maps_may_not_escape_through_symlinks(tmp_path: Path) -> None:
    folder = _site_folder(tmp_path)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.yaml").write_text("leaked: {signals: {}}\n", encoding="utf-8")
    os.symlink(outside / "secret.yaml", folder / "maps" / "link.yaml")
    os.symlink(outside, folder / "elsewhere")
    os.symlink(folder / "loop-a", folder / "loop-b")
    os.symlink(folder / "loop-b", folder / "loop-a")
    raw = raw_example()
    n = len(raw["include_maps"])
    raw["include_maps"] += ["maps/link.yaml", "elsewhere/secret.yaml", "loop-a", "maps"]
    errors = _load_errors(_write(folder, raw))
    assert errors[:2] == [
        f"include_maps[{n}]: 'maps/link.yaml' leads outside the site file's folder (symlink)",
        f"include_maps[{n + 1}]: 'elsewhere/secret.yaml' leads outside the site file's folder "
        "(symlink)",
    ]
    assert errors[2].startswith(f"include_maps[{n + 2}]: 'loop-a' cannot be read")
    assert errors[3] == f"include_maps[{n + 3}]: 'maps' is not a regular file"
    assert len(errors) == 4


def test_symlinks_that_stay_inside_the_folder_are_fine(tmp_path: Path) -> None:
    folder = _site_folder(tmp_path)
    os.symlink(folder / "maps" / "pump-vfd.yaml", folder / "pump-alias.yaml")
    raw = raw_example()
    raw["include_maps"][0] = "pump-alias.yaml"
    assert "pump-vfd" in load_site(_write(folder, raw)).register_maps


def test_yaml_alias_bombs_and_self_references_are_refused(tmp_path: Path) -> None:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, 9):
        lines.append(f"a{level}: &a{level} [" + ", ".join([f"*a{level - 1}"] * 10) + "]")
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert _load_errors(bomb) == ["(root): the document expands to more than 1000000 values"]
    loop = tmp_path / "loop.yaml"
    loop.write_text("site: &s {id: x, name: y, again: *s}\n", encoding="utf-8")
    assert _load_errors(loop) == [
        "(root): the document refers to itself (recursive YAML alias) or nests too deep"
    ]


def test_an_included_map_file_cannot_be_a_bomb_either(tmp_path: Path) -> None:
    folder = _site_folder(tmp_path)
    lines = ["x0: &x0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]"]
    for level in range(1, 8):
        lines.append(f"x{level}: &x{level} [" + ", ".join([f"*x{level - 1}"] * 10) + "]")
    (folder / "maps" / "bomb.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    raw = raw_example()
    raw["include_maps"].append("maps/bomb.yaml")
    assert _load_errors(_write(folder, raw)) == [
        "register_maps: the document expands to more than 1000000 values"
    ]


def test_example_site_still_checks() -> None:
    assert load_site(EXAMPLE).site.id == "lakeside"
