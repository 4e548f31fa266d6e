"""Splitting Modbus gateways between collector processes: each machine polled exactly once."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collectors.modbus.connections import GatewayKey
from collectors.modbus.shards import Shard, assign, gateways, shard_of
from core.site import Site, SiteError, parse_site
from tests.servers.modbus import pump_map


def _without_id(device: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in device.items() if k != "id"}


def make_site(devices: list[dict[str, Any]]) -> Site:
    """Pumps; each device dict is its modbus source plus an ``id``."""
    return parse_site(
        {
            "site": {"id": "test", "name": "测试"},
            "buildings": [{"id": "b1", "name": "1号楼"}],
            "equipment": [
                {
                    "id": d["id"],
                    "kind": "pump",
                    "name": d["id"],
                    "building": "b1",
                    "source": {"modbus": {"map": "vfd", **_without_id(d)}},
                }
                for d in devices
            ],
            "register_maps": {"vfd": pump_map()},
        }
    )


# a plant of gateways, each with 1-4 unit ids behind it
gateway_hosts = st.lists(
    st.tuples(st.sampled_from(["10.0.0.5", "10.0.0.6", "plc-a.local", "gw-7"]), st.integers(1, 9)),
    min_size=1,
    max_size=10,
    unique=True,
)


def plant(hosts: list[tuple[str, int]], units: int) -> list[dict[str, Any]]:
    return [
        {"id": f"p{g}-{u}", "host": host, "port": 1500 + port, "unit_id": u}
        for g, (host, port) in enumerate(hosts)
        for u in range(1, units + 1)
    ]


@settings(max_examples=60, deadline=None)
@given(hosts=gateway_hosts, units=st.integers(1, 4), count=st.integers(1, 8))
def test_every_machine_is_polled_by_exactly_one_shard(
    hosts: list[tuple[str, int]], units: int, count: int
) -> None:
    site = make_site(plant(hosts, units))
    shares = [assign(site, Shard(index, count)) for index in range(1, count + 1)]
    every = {eq.id for eq in site.equipment}
    assert set().union(*shares) == every
    assert sum(len(share) for share in shares) == len(every)
    # the machines behind one gateway stay together
    for machines in gateways(site).values():
        ids = {eq.id for eq in machines}
        assert sum(1 for share in shares if ids <= share) == 1


@settings(max_examples=40, deadline=None)
@given(hosts=gateway_hosts, count=st.integers(1, 4), data=st.data())
def test_with_pins_every_machine_is_still_polled_exactly_once(
    hosts: list[tuple[str, int]], count: int, data: st.DataObject
) -> None:
    # some gateways pinned to named processes; the named processes also take a shard
    names = ["north", "south"]
    devices = plant(hosts, 2)
    for gateway in range(len(hosts)):
        pin = data.draw(st.sampled_from([None, *names]))
        for device in devices:
            if pin and device["id"].startswith(f"p{gateway}-"):
                device["collector"] = pin
    site = make_site(devices)
    sharded = [Shard(i, count, dict(enumerate(names, 1)).get(i)) for i in range(1, count + 1)]
    processes = sharded + [Shard.parse("", name) for name in names[count:]]  # pins only
    shares = [assign(site, shard) for shard in processes]
    every = {eq.id for eq in site.equipment}
    assert set().union(*shares) == every
    assert sum(len(share) for share in shares) == len(every)


@settings(max_examples=30, deadline=None)
@given(hosts=gateway_hosts, count=st.integers(1, 8), data=st.data())
def test_assignment_does_not_depend_on_site_file_order(
    hosts: list[tuple[str, int]], count: int, data: st.DataObject
) -> None:
    devices = plant(hosts, 2)
    shuffled = data.draw(st.permutations(devices))
    for index in range(1, count + 1):
        shard = Shard(index, count)
        assert assign(make_site(devices), shard) == assign(make_site(shuffled), shard)


def test_assignment_is_stable_across_runs() -> None:
    # fixed values: Python's hash() is salted per process, sha256 is not
    keys = [GatewayKey("tcp", f"10.0.0.{i}:502") for i in range(1, 9)]
    assert [shard_of(key, 3) for key in keys] == [2, 3, 1, 3, 3, 2, 3, 3]
    assert shard_of(GatewayKey("rtu", "/dev/ttyUSB0"), 4) == 3


def test_growing_by_one_shard_only_moves_gateways_to_the_new_shard() -> None:
    keys = [GatewayKey("tcp", f"10.1.{i // 200}.{i % 200}:502") for i in range(1000)]
    for count in range(1, 8):
        moved = [key for key in keys if shard_of(key, count) != shard_of(key, count + 1)]
        assert all(shard_of(key, count + 1) == count + 1 for key in moved)
        # about 1/(count+1) move, not most of them as with ``hash % count``
        assert len(moved) < 1.5 * len(keys) / (count + 1)


def test_pinned_gateway_goes_only_to_its_named_collector() -> None:
    site = make_site(
        [
            {"id": "a", "host": "10.0.0.5", "unit_id": 1, "collector": "plantroom-b"},
            {"id": "b", "host": "10.0.0.5", "unit_id": 2, "collector": "plantroom-b"},
            {"id": "c", "host": "10.0.0.6", "unit_id": 1},
        ]
    )
    named = assign(site, Shard(1, 1, "plantroom-b"))
    assert {"a", "b"} <= named
    assert "a" not in assign(site, Shard(1, 1))
    assert "a" not in assign(site, Shard(1, 1, "plantroom-c"))
    assert "c" in assign(site, Shard(1, 1))
    # a named process without a shard polls its pinned gateways only
    assert assign(site, Shard.parse("", "plantroom-b")) == {"a", "b"}


def test_machines_on_one_gateway_must_name_the_same_collector() -> None:
    with pytest.raises(SiteError) as caught:
        make_site(
            [
                {"id": "a", "host": "10.0.0.5", "unit_id": 1, "collector": "north"},
                {"id": "b", "host": "10.0.0.5", "unit_id": 2},
            ]
        )
    assert caught.value.errors == [
        "equipment[1].source.modbus.collector: machines on gateway 10.0.0.5:502 must name "
        "the same collector (equipment[0] names 'north', this one None)"
    ]


@pytest.mark.parametrize(
    ("text", "name", "expected"),
    [
        ("", None, Shard(1, 1)),
        ("", "north", Shard(0, 0, "north")),
        ("2/3", None, Shard(2, 3)),
        (" 1 / 2 ", "north", Shard(1, 2, "north")),
    ],
)
def test_shard_settings(text: str, name: str | None, expected: Shard) -> None:
    assert Shard.parse(text, name) == expected


@pytest.mark.parametrize(
    ("text", "name", "message"),
    [
        ("0/3", None, "need 1 <= shard <= count"),
        ("4/3", None, "need 1 <= shard <= count"),
        ("2", None, "expected INDEX/COUNT"),
        ("a/b", None, "expected INDEX/COUNT"),
        ("1/2", "North Wing", "lower-case letters"),
        ("0/0", None, "need 1 <= shard <= count"),
    ],
)
def test_bad_shard_settings_are_clear_errors(text: str, name: str | None, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Shard.parse(text, name)
