"""Text that came from outside (a device, a client) made safe to store and to log."""

from __future__ import annotations

# C0 controls and DEL: PostgreSQL refuses NUL in text, and a newline would split a log line
_CONTROLS = {code: f"\\x{code:02x}" for code in (*range(0x20), 0x7F)}

ELLIPSIS = "…"


def safe_text(text: str, limit: int = 500) -> str:
    """``text`` capped at ``limit`` characters, with lone surrogates and control characters
    written as escapes (``\\ud800``, ``\\x00``), so that any database or log takes it.

    JSON can carry an unpaired surrogate (``"\\ud800"``) into a Python string, and no UTF-8
    encoder accepts one: stored raw, it fails the insert (issue 11)."""
    head = text[: limit + 1]
    cleaned = head.translate(_CONTROLS).encode("utf-8", "backslashreplace").decode("utf-8")
    if len(cleaned) > limit or len(text) > limit:
        return cleaned[: max(0, limit - 1)] + ELLIPSIS
    return cleaned
