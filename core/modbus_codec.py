"""Modbus values to and from raw registers, for every type and order (DESIGN §4).

Pure and table-driven: collectors decode with it and simulators encode with it, so a map is
served exactly as it is read. Orders name the bytes of a big-endian 32-bit value ``ABCD``:
``CDAB`` swaps the words, ``BADC`` swaps the bytes in each word and ``DCBA`` does both. The
same two swaps apply to every width (``CDAB`` of a float64 is ``GH EF CD AB``, Telegraf-style),
and a 16-bit value only sees the byte swap.

Values are ``raw * scale + offset``. The only errors are ``DecodeError`` and ``EncodeError``
(both ``ValueError``), each saying what was wrong.
"""

from __future__ import annotations

import contextlib
import functools
import math
import struct
from collections.abc import Sequence

from core.site import RegisterSpec, RegisterType, WordOrder

# struct format of the big-endian value, by type
_FORMATS: dict[RegisterType, str] = {
    RegisterType.INT16: ">h",
    RegisterType.UINT16: ">H",
    RegisterType.BIT: ">H",
    RegisterType.INT32: ">i",
    RegisterType.UINT32: ">I",
    RegisterType.FLOAT32: ">f",
    RegisterType.FLOAT64: ">d",
}
_INTEGER_TYPES = {RegisterType.INT16, RegisterType.UINT16, RegisterType.INT32, RegisterType.UINT32}
_FLOAT_TYPES = {RegisterType.FLOAT32, RegisterType.FLOAT64}


class DecodeError(ValueError):
    """Raw registers that do not give a usable value."""


class EncodeError(ValueError):
    """A value that the register type cannot hold."""


def _byte_swap(order: WordOrder) -> bool:
    return order in (WordOrder.BADC, WordOrder.DCBA)


def _word_swap(order: WordOrder) -> bool:
    return order in (WordOrder.CDAB, WordOrder.DCBA)


def words_from_bytes(data: bytes, order: WordOrder) -> list[int]:
    """Big-endian value bytes -> register words as the device sends them."""
    words = [(data[i] << 8) | data[i + 1] for i in range(0, len(data), 2)]
    if _byte_swap(order):
        words = [((w & 0xFF) << 8) | (w >> 8) for w in words]
    if _word_swap(order):
        words.reverse()
    return words


def bytes_from_words(words: Sequence[int], order: WordOrder) -> bytes:
    """Register words as the device sends them -> big-endian value bytes."""
    ordered = list(reversed(words)) if _word_swap(order) else list(words)
    if _byte_swap(order):
        ordered = [((w & 0xFF) << 8) | (w >> 8) for w in ordered]
    return b"".join(w.to_bytes(2, "big") for w in ordered)


@functools.cache
def _layout(
    rtype: RegisterType, order: WordOrder
) -> tuple[int, struct.Struct, tuple[int, ...] | None, struct.Struct]:
    """How to read ``rtype`` in ``order`` from the device's words, worked out once: the word
    count, a packer of the words as sent, the byte permutation that ``bytes_from_words``
    applies (None when there is none) and the unpacker of the big-endian value."""
    count = rtype.register_count
    words = [(2 * i, 2 * i + 1) for i in range(count)]
    if _word_swap(order):
        words.reverse()
    if _byte_swap(order):
        words = [(low, high) for high, low in words]
    perm = tuple(b for word in words for b in word)
    same = perm == tuple(range(2 * count))
    return (
        count,
        struct.Struct(f">{count}H"),
        None if same else perm,
        struct.Struct(_FORMATS[rtype]),
    )


def raw_from_registers(spec: RegisterSpec, words: Sequence[int]) -> int | float | bool:
    """The unscaled value in ``words`` (exactly the registers of ``spec``)."""
    if spec.type is RegisterType.BOOL:
        raise DecodeError("type bool lives in a bit table (coil, discrete_input)")
    # the layout is computed once per type and order: polling decodes every value of every
    # device, and doing the swaps word by word was most of a poll's cost (issue 17)
    count, packer, perm, unpacker = _layout(spec.type, spec.order)
    if len(words) != count:
        raise DecodeError(f"{spec.type} needs {count} register(s), got {len(words)}")
    data = None
    if all(type(word) is int for word in words):
        with contextlib.suppress(struct.error):  # out of 0..0xFFFF: said below
            data = packer.pack(*words)
    if data is None:
        for word in words:
            if isinstance(word, bool) or not isinstance(word, int) or not 0 <= word <= 0xFFFF:
                raise DecodeError(f"register value {word!r} is not a 16-bit word")
        data = packer.pack(*(int(word) for word in words))
    if perm is not None:
        data = bytes([data[i] for i in perm])
    (value,) = unpacker.unpack(data)
    if spec.type is RegisterType.BIT:
        assert spec.bit is not None  # the loader requires it
        return bool((value >> spec.bit) & 1)
    if spec.type in _FLOAT_TYPES and not math.isfinite(value):
        raise DecodeError(f"{spec.type} is {value} (not a number the device means)")
    return value  # type: ignore[no-any-return]


def decode(spec: RegisterSpec, raw: Sequence[int] | Sequence[bool]) -> float:
    """Registers (or one bit for ``bool``) -> the stored float: ``raw * scale + offset``.

    Bits and booleans are 0.0 or 1.0, never scaled.
    """
    if spec.type is RegisterType.BOOL:
        if len(raw) != 1:
            raise DecodeError(f"bool needs 1 bit, got {len(raw)}")
        return 1.0 if raw[0] else 0.0
    value = raw_from_registers(spec, [int(w) for w in raw])
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if spec.scale == 1.0 and spec.offset == 0.0:
        return float(value)
    scaled = value * spec.scale + spec.offset
    if not math.isfinite(scaled):
        raise DecodeError(f"{value} * {spec.scale} + {spec.offset} is not finite")
    # 15 significant digits: 55992 * 0.1 is 5599.2, not 5599.200000000001 (but rounding
    # next to the largest float rounds up to infinity: keep the value unrounded there)
    rounded = float(f"{scaled:.15g}")
    return rounded if math.isfinite(rounded) else scaled


def encode(spec: RegisterSpec, value: float | bool, current: Sequence[int] = ()) -> list[int]:
    """The stored value -> register words (or ``[0|1]`` for ``bool``), undoing scale/offset.

    A ``bit`` field needs the ``current`` register so its other bits are kept.
    """
    if isinstance(value, float) and not math.isfinite(value):
        raise EncodeError(f"cannot encode {value}")
    if spec.type is RegisterType.BOOL:
        return [1 if value else 0]
    if spec.type is RegisterType.BIT:
        assert spec.bit is not None
        word = 0
        if current:
            (word,) = struct.unpack(">H", bytes_from_words(current[:1], spec.order))
        word = word | (1 << spec.bit) if value else word & ~(1 << spec.bit)
        return words_from_bytes(struct.pack(">H", word), spec.order)
    if spec.scale == 0:
        raise EncodeError("scale 0 cannot be inverted")
    try:
        raw = (float(value) - spec.offset) / spec.scale
    except OverflowError as err:  # an integer beyond any float
        raise EncodeError(f"{value} does not fit {spec.type}") from err
    if spec.type in _INTEGER_TYPES:
        if not math.isfinite(raw):  # a finite value over a tiny scale
            raise EncodeError(f"{value} is {raw} raw, outside {spec.type}")
        rounded = round(raw)
        try:
            data = struct.pack(_FORMATS[spec.type], rounded)
        except struct.error as err:
            raise EncodeError(f"{value} is {rounded} raw, outside {spec.type}") from err
    else:
        try:
            data = struct.pack(_FORMATS[spec.type], raw)
        except (struct.error, OverflowError) as err:
            raise EncodeError(f"{value} does not fit {spec.type}") from err
    return words_from_bytes(data, spec.order)


__all__ = [
    "DecodeError",
    "EncodeError",
    "bytes_from_words",
    "decode",
    "encode",
    "raw_from_registers",
    "words_from_bytes",
]
