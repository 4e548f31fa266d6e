"""Modbus collection: read plans, gateways (one connection and lock each), the collector."""

from collectors.modbus.collector import DeviceStats, ModbusCollector, next_slot
from collectors.modbus.connections import Backoff, CommError, ExceptionResponse, Gateways
from collectors.modbus.plan import ReadRequest, plan_reads

__all__ = [
    "Backoff",
    "CommError",
    "DeviceStats",
    "ExceptionResponse",
    "Gateways",
    "ModbusCollector",
    "ReadRequest",
    "next_slot",
    "plan_reads",
]
