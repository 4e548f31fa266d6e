"""Serve a site's Modbus machines: one ``ModbusDeviceServer`` per gateway of the site file.

Values come from whoever drives the simulation (``update``): the simulation sets every
machine's values as the gateways start, so every map is served from the first poll.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from core.logs import FailureTracker, event
from core.modbus_codec import EncodeError
from core.site import Equipment, RegisterMap, Site
from simulators.modbus_server import Framing, ModbusDeviceServer

log = logging.getLogger("plantroom.simulator.modbus")

Values = Mapping[str, float | int | bool]


class ModbusDevices:
    """The site's Modbus machines as simulated gateways."""

    def __init__(self, site: Site, host: str | None = None) -> None:
        self.site = site
        self._failures = FailureTracker(log)
        self.machines: dict[str, tuple[ModbusDeviceServer, int, RegisterMap]] = {}
        gateways: dict[tuple[str, str, int], dict[int, RegisterMap]] = {}
        members: dict[tuple[str, str, int], list[Equipment]] = {}
        for eq in site.equipment:
            source = eq.source.modbus
            if source is None or source.framing == "rtu" or not eq.simulation.enabled:
                continue  # serial lines are real hardware; nothing to serve them on
            assert source.host is not None
            key = (source.framing, host or source.host, source.port)
            gateways.setdefault(key, {})[source.unit_id] = site.register_maps[source.map]
            members.setdefault(key, []).append(eq)
        self.servers: list[ModbusDeviceServer] = []
        for (framing, gw_host, port), units in gateways.items():
            framing_name: Framing = "rtu_over_tcp" if framing == "rtu_over_tcp" else "tcp"
            server = ModbusDeviceServer(gw_host, port, units, framing=framing_name)
            self.servers.append(server)
            for eq in members[(framing, gw_host, port)]:
                assert eq.source.modbus is not None
                unit_id = eq.source.modbus.unit_id
                self.machines[eq.id] = (server, unit_id, units[unit_id])

    async def start(self, initial: Mapping[str, Values] | None = None) -> None:
        """Serve every gateway, each machine's registers set to ``initial`` (by machine id;
        registers not given read 0)."""
        initial = initial or {}
        for server in self.servers:
            await server.start()
        for eq_id in self.machines:
            self.update(eq_id, initial.get(eq_id, {}))
        event(log, "modbus gateways up", gateways=len(self.servers), machines=len(self.machines))

    async def stop(self) -> None:
        for server in self.servers:
            await server.stop()

    def update(self, equipment_id: str, values: Values) -> None:
        """Set the signals of one machine that its register map has; others are ignored."""
        server, unit_id, register_map = self.machines[equipment_id]
        for name, value in values.items():
            if name not in register_map.signals:
                continue
            try:
                server.set_values(unit_id, {name: value})
            except EncodeError as err:
                # the model went outside what the register can hold: keep serving the rest
                self._failures.failed(f"encode:{equipment_id}.{name}", str(err))
            else:
                self._failures.recovered(f"encode:{equipment_id}.{name}")
