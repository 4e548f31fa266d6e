"""Sites of Modbus pumps for tests: a pump map exercising every type, in any byte order."""

from __future__ import annotations

from typing import Any

from core.site import Site, WordOrder, parse_site


def pump_map(order: WordOrder | str = "ABCD") -> dict[str, Any]:
    """A pump VFD map using every register type once, all in ``order``."""
    return {
        "description": f"test VFD, every type in {order}",
        "signals": {
            "running": {"table": "holding", "address": 0, "type": "bit", "bit": 0, "order": order},
            "fault_code": {"table": "holding", "address": 1, "type": "int16", "order": order},
            "outlet_pressure_mpa": {
                "table": "holding",
                "address": 2,
                "type": "uint16",
                "scale": 0.001,
                "order": order,
            },
            "starts": {"table": "holding", "address": 3, "type": "int32", "order": order},
            "run_hours": {
                "table": "holding",
                "address": 5,
                "type": "uint32",
                "scale": 0.1,
                "order": order,
            },
            "current_a": {"table": "input", "address": 0, "type": "float32", "order": order},
            "frequency_hz": {"table": "input", "address": 10, "type": "float64", "order": order},
            "fault": {"table": "coil", "address": 0, "type": "bool"},
            "auto_mode": {"table": "discrete_input", "address": 5, "type": "bool"},
        },
    }


PUMP_VALUES: dict[str, float | int | bool] = {
    "running": True,
    "fault_code": -12,
    "outlet_pressure_mpa": 0.425,
    "starts": 123456,
    "run_hours": 98765.4,
    "current_a": 12.5,
    "frequency_hz": 49.87,
    "fault": False,
    "auto_mode": True,
}


def modbus_site(
    devices: list[dict[str, Any]], maps: dict[str, dict[str, Any]] | None = None
) -> Site:
    """A site of pumps; each device dict is the ``modbus`` source plus an ``id``."""
    equipment = []
    for device in devices:
        source = {k: v for k, v in device.items() if k != "id"}
        source.setdefault("host", "127.0.0.1")
        source.setdefault("map", "vfd-ABCD")
        equipment.append(
            {
                "id": device["id"],
                "kind": "pump",
                "name": f"泵 {device['id']}",
                "building": "b1",
                "source": {"modbus": source},
            }
        )
    register_maps = maps or {f"vfd-{order}": pump_map(order) for order in WordOrder}
    return parse_site(
        {
            "site": {"id": "test", "name": "测试"},
            "buildings": [{"id": "b1", "name": "1号楼"}],
            "equipment": equipment,
            "register_maps": register_maps,
        }
    )
