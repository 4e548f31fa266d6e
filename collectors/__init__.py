"""Collectors read machines (MQTT, Modbus) into the time-series store.

They import core and storage only."""

from collectors.sink import ReadingSink

__all__ = ["ReadingSink"]
