"""Checks on Modbus register maps that pydantic cannot express field by field."""

from __future__ import annotations

import math

from core.site import RegisterMap, RegisterType


def validate_register_map(register_map: RegisterMap) -> list[str]:
    """Return one ``signals.NAME.field: message`` line per problem (empty when sound)."""
    errors: list[str] = []
    # (table, register) -> (signal, is_bit_field); bit fields may share a status word
    used: dict[tuple[str, int], tuple[str, bool]] = {}
    used_bits: dict[tuple[str, int, int], str] = {}
    for name, spec in register_map.signals.items():
        path = f"signals.{name}"
        if spec.table.is_bit_table and spec.type is not RegisterType.BOOL:
            errors.append(f"{path}.type: table {spec.table} holds bits; use type bool")
            continue
        if not spec.table.is_bit_table and spec.type is RegisterType.BOOL:
            errors.append(f"{path}.type: table {spec.table} holds registers; use type bit")
            continue
        if spec.type is RegisterType.BIT and spec.bit is None:
            errors.append(f"{path}.bit: type bit needs the bit number (0-15)")
        if spec.type is not RegisterType.BIT and spec.bit is not None:
            errors.append(f"{path}.bit: only type bit takes a bit number")
        count = spec.type.register_count
        if spec.count is not None and spec.count != count:
            errors.append(
                f"{path}.count: {spec.type} takes {count} register(s), the map gives {spec.count}"
            )
        if spec.type in (RegisterType.BOOL, RegisterType.BIT) and (
            spec.scale != 1.0 or spec.offset != 0.0
        ):
            errors.append(f"{path}.scale: a {spec.type} is 0 or 1 and takes no scale or offset")
        if not (math.isfinite(spec.scale) and math.isfinite(spec.offset)):
            errors.append(f"{path}.scale: scale and offset must be finite numbers")
        elif spec.scale == 0.0:
            errors.append(f"{path}.scale: scale 0 would make every value the offset")
        last = spec.address + count - 1
        if last > 65535:
            errors.append(
                f"{path}.address: {spec.type} at {spec.address} needs {count} registers "
                f"and runs past 65535"
            )
            continue
        is_bit_field = spec.type is RegisterType.BIT
        if is_bit_field and spec.bit is not None:
            bit_key = (spec.table.value, spec.address, spec.bit)
            if bit_key in used_bits:
                errors.append(
                    f"{path}.bit: bit {spec.bit} of {spec.table} register {spec.address} "
                    f"is already signal '{used_bits[bit_key]}'"
                )
            used_bits[bit_key] = name
        for register in range(spec.address, last + 1):
            key = (spec.table.value, register)
            other = used.get(key)
            if other is not None and not (is_bit_field and other[1]):
                errors.append(
                    f"{path}.address: {spec.table} register {register} overlaps signal '{other[0]}'"
                )
                break
            used[key] = (name, is_bit_field)
    return errors
