"""The equipment ledger (设备台账, DESIGN §11): each machine's attributes and certificates.

A ledger is never overwritten: every edit is a list of changes (field, new value, who,
when), and the ledger is the fold of all of them, the history kept beside it. Fields are
data: the attributes below, and per certificate kind its number and its expiry date
(``cert.<kind>.number``, ``cert.<kind>.expires``). The CSV headers are the Chinese names.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

ATTRIBUTES: dict[str, str] = {
    "model": "型号",
    "maker": "制造商",
    "serial": "出厂编号",
    "installed": "安装日期",
    "contractor": "维保单位",
    "contractor_phone": "维保电话",
}
CERTIFICATES: dict[str, str] = {
    "inspection": "定期检验合格证",  # elevator 定期检验合格/使用标志
    "registration": "特种设备使用登记证",
}
CERT_PARTS = {"number": "编号", "expires": "有效期至"}
DATE_FIELDS = {"installed"} | {f"cert.{k}.expires" for k in CERTIFICATES}
MAX_VALUE = 200


def cert_field(kind: str, part: str) -> str:
    return f"cert.{kind}.{part}"


FIELDS: dict[str, str] = {
    **ATTRIBUTES,
    **{
        cert_field(kind, part): f"{name}{part_zh}"
        for kind, name in CERTIFICATES.items()
        for part, part_zh in CERT_PARTS.items()
    },
}
HEADER_ID = "设备编号"
HEADER_NAME = "设备名称"


class LedgerError(ValueError):
    """A value the ledger does not take (unknown field, bad date, too long)."""


def check_value(field: str, value: str | None) -> str | None:
    """The value as stored: stripped, empty as None (a cleared field); raises LedgerError."""
    if field not in FIELDS:
        raise LedgerError(f"unknown ledger field '{field}'")
    if value is None or not value.strip():
        return None
    value = value.strip()
    if len(value) > MAX_VALUE:
        raise LedgerError(f"{field}: at most {MAX_VALUE} characters")
    if field in DATE_FIELDS:
        try:
            date.fromisoformat(value)
        except ValueError:
            raise LedgerError(f"{field}: expected a date YYYY-MM-DD, got {value!r}") from None
    return value


@dataclass(frozen=True, slots=True)
class LedgerChange:
    """One field set to one value by someone at some time (value None: cleared)."""

    at: datetime
    actor: str
    field: str
    value: str | None
    note: str = ""


@dataclass(frozen=True, slots=True)
class Certificate:
    kind: str
    name_zh: str
    number: str | None
    expires: date | None

    def expiring(self, today: date, notice: timedelta) -> bool:
        """Expired, or expiring within ``notice`` of ``today``."""
        return self.expires is not None and self.expires - today <= notice


@dataclass(frozen=True, slots=True)
class Ledger:
    """A machine's ledger now, and every change that made it (oldest first)."""

    equipment: str
    values: Mapping[str, str]
    history: tuple[LedgerChange, ...]

    @property
    def attributes(self) -> dict[str, str | None]:
        return {f: self.values.get(f) for f in ATTRIBUTES}

    @property
    def certificates(self) -> list[Certificate]:
        out = []
        for kind, name in CERTIFICATES.items():
            number = self.values.get(cert_field(kind, "number"))
            expires = self.values.get(cert_field(kind, "expires"))
            if number is None and expires is None:
                continue
            out.append(
                Certificate(kind, name, number, date.fromisoformat(expires) if expires else None)
            )
        return out


def fold(equipment: str, changes: Iterable[LedgerChange]) -> Ledger:
    """The ledger the changes (oldest first) make."""
    history = tuple(changes)
    values: dict[str, str] = {}
    for change in history:
        if change.value is None:
            values.pop(change.field, None)
        else:
            values[change.field] = change.value
    return Ledger(equipment, values, history)


def changed(current: Ledger, wanted: Mapping[str, str | None]) -> dict[str, str | None]:
    """The fields of ``wanted`` whose checked value differs from the ledger's (what an edit
    or an import records: a re-import of an unchanged sheet records nothing)."""
    out: dict[str, str | None] = {}
    for field, raw in wanted.items():
        value = check_value(field, raw)
        if current.values.get(field) != value:
            out[field] = value
    return out
