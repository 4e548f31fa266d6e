"""Modbus collection: read plans, gateways (one connection and lock each), the collector."""

from collectors.modbus.collector import DeviceStats, ModbusCollector, next_slot
from collectors.modbus.connections import Backoff, CommError, ExceptionResponse, Gateways
from collectors.modbus.plan import ReadRequest, plan_reads
from collectors.modbus.shards import Shard, assign

__all__ = [
    "Backoff",
    "CommError",
    "DeviceStats",
    "ExceptionResponse",
    "Gateways",
    "ModbusCollector",
    "ReadRequest",
    "Shard",
    "assign",
    "next_slot",
    "plan_reads",
]
