"""Checks on Modbus register maps that pydantic cannot express field by field."""

from __future__ import annotations

from core.site import RegisterMap, RegisterType


def validate_register_map(register_map: RegisterMap) -> list[str]:
    """Return one ``signals.NAME.field: message`` line per problem (empty when sound)."""
    errors: list[str] = []
    # (table, register) -> (signal, is_bit_field); bit fields may share a status word
    used: dict[tuple[str, int], tuple[str, bool]] = {}
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
        last = spec.address + count - 1
        if last > 65535:
            errors.append(
                f"{path}.address: {spec.type} at {spec.address} needs {count} registers "
                f"and runs past 65535"
            )
            continue
        is_bit_field = spec.type is RegisterType.BIT
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
