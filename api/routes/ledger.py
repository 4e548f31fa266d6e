"""The equipment ledger (设备台账): read and edit one machine's, export and import all of them
as CSV (UTF-8 with BOM, Chinese headers). Edits are recorded as changes, never overwrites."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from api.auth import RequireEngineer
from api.context import ApiContext, ContextDep
from api.csvout import BOM, CSV_TYPE, csv_text
from api.errors import bad_request
from api.lookup import machine_or_404
from core.ledger import FIELDS, HEADER_ID, HEADER_NAME, MAX_VALUE, Ledger, LedgerError, check_value
from storage.ledger import LedgerRepository

router = APIRouter(tags=["equipment ledger"])
MAX_IMPORT_ROWS = 5000


def ledger_repository(ctx: ContextDep) -> LedgerRepository:
    return LedgerRepository(ctx.records.engine)


LedgerDep = Annotated[LedgerRepository, Depends(ledger_repository)]


class FieldValue(BaseModel):
    field: str
    name_zh: str
    value: str | None


class CertificateOut(BaseModel):
    kind: str
    name_zh: str
    number: str | None
    expires: date | None
    days_left: int | None
    expiring: bool = Field(description="expired or within the site's certificate notice")


class ChangeOut(BaseModel):
    at: datetime
    actor: str
    field: str
    name_zh: str
    value: str | None = Field(description="the new value; null: cleared")
    note: str


class LedgerOut(BaseModel):
    equipment: str
    equipment_name: str
    fields: list[FieldValue]
    certificates: list[CertificateOut]
    history: list[ChangeOut] = Field(description="every change, oldest first")


class LedgerEdit(BaseModel):
    values: dict[str, Annotated[str, Field(max_length=MAX_VALUE)] | None] = Field(
        max_length=len(FIELDS), description="field → new value ('' or null clears it)"
    )
    note: str = Field(default="", max_length=1000)


def ledger_out(ctx: ApiContext, name: str, book: Ledger) -> LedgerOut:
    tz = ZoneInfo(ctx.site.site.timezone)
    today = ctx.clock.now().astimezone(tz).date()
    notice = ctx.site.maintenance.certificate_notice
    return LedgerOut(
        equipment=book.equipment,
        equipment_name=name,
        fields=[
            FieldValue(field=f, name_zh=z, value=book.values.get(f)) for f, z in FIELDS.items()
        ],
        certificates=[
            CertificateOut(
                kind=c.kind,
                name_zh=c.name_zh,
                number=c.number,
                expires=c.expires,
                days_left=(c.expires - today).days if c.expires else None,
                expiring=c.expiring(today, notice),
            )
            for c in book.certificates
        ],
        history=[
            ChangeOut(
                at=h.at.astimezone(tz),
                actor=h.actor,
                field=h.field,
                name_zh=FIELDS.get(h.field, h.field),
                value=h.value,
                note=h.note,
            )
            for h in book.history
        ],
    )


@router.get("/equipment/{equipment_id}/ledger", response_model=LedgerOut)
def get_ledger(equipment_id: str, ctx: ContextDep, repo: LedgerDep) -> LedgerOut:
    """The machine's ledger now, its certificates, and every change that made it."""
    eq = machine_or_404(ctx, equipment_id)
    return ledger_out(ctx, eq.name, repo.get(eq.id))


@router.post("/equipment/{equipment_id}/ledger", response_model=LedgerOut)
def edit_ledger(
    equipment_id: str, body: LedgerEdit, ctx: ContextDep, repo: LedgerDep, user: RequireEngineer
) -> LedgerOut:
    """Change fields of the ledger: recorded as changes with who and when (and in the
    logbook); an unchanged value records nothing."""
    eq = machine_or_404(ctx, equipment_id)
    try:
        book = repo.edit(eq.id, body.values, user.actor, ctx.clock.now(), body.note.strip())
    except LedgerError as err:
        raise bad_request(str(err)) from None
    return ledger_out(ctx, eq.name, book)


@router.get("/ledger", response_model=list[LedgerOut])
def all_ledgers(
    ctx: ContextDep,
    repo: LedgerDep,
    format: Annotated[str, Query(pattern="^(json|csv)$")] = "json",
) -> list[LedgerOut] | Response:
    """Every machine's ledger; ``?format=csv`` is the sheet that ``POST /ledger/import``
    takes back (UTF-8 with BOM, Chinese headers)."""
    found = repo.all(eq.id for eq in ctx.site.equipment)
    if format == "csv":
        rows = [
            [eq.id, eq.name, *(found[eq.id].values.get(f, "") for f in FIELDS)]
            for eq in ctx.site.equipment
        ]
        text = csv_text([HEADER_ID, HEADER_NAME, *FIELDS.values()], rows)
        return Response(
            text.encode("utf-8"),
            media_type=CSV_TYPE,
            headers={"Content-Disposition": 'attachment; filename="ledger.csv"'},
        )
    return [ledger_out(ctx, eq.name, found[eq.id]) for eq in ctx.site.equipment]


class ImportOut(BaseModel):
    changed: dict[str, int] = Field(description="machine → fields changed")


@router.post("/ledger/import", response_model=ImportOut)
async def import_ledger(
    request: Request, ctx: ContextDep, repo: LedgerDep, user: RequireEngineer
) -> ImportOut:
    """Import the ledger sheet (CSV as exported; Chinese or field-name headers; an empty
    cell clears the field). All rows or none: any error names its row and column."""
    raw = await request.body()
    try:
        text = raw.decode("utf-8").removeprefix(BOM)
    except UnicodeDecodeError:
        raise bad_request("the sheet must be UTF-8 (save as CSV UTF-8)") from None
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if not header:
        raise bad_request("empty sheet: expected a header row")
    by_name = {z: f for f, z in FIELDS.items()} | {f: f for f in FIELDS}
    columns: list[str | None] = []
    for i, title in enumerate(header):
        title = title.strip()
        if i == 0 and title in (HEADER_ID, "equipment"):
            columns.append("#id")
        elif title in (HEADER_NAME, "name"):
            columns.append(None)  # shown for people, the site file names machines
        elif title in by_name:
            columns.append(by_name[title])
        else:
            raise bad_request(f"column {i + 1}: unknown header '{title[:50]}'")
    if columns[:1] != ["#id"]:
        raise bad_request(f"the first column must be {HEADER_ID}")
    ids = {eq.id for eq in ctx.site.equipment}
    sheet: dict[str, dict[str, str | None]] = {}
    for number, row in enumerate(reader, start=2):
        if number > MAX_IMPORT_ROWS:
            raise bad_request(f"at most {MAX_IMPORT_ROWS} rows")
        if not any(cell.strip() for cell in row):
            continue
        equipment = row[0].strip()
        if equipment not in ids:
            raise bad_request(f"row {number}: unknown equipment '{equipment[:64]}'")
        if equipment in sheet:
            raise bad_request(f"row {number}: '{equipment}' is listed twice")
        values: dict[str, str | None] = {}
        for i, field in enumerate(columns):
            if field is None or field == "#id":
                continue
            try:
                values[field] = check_value(field, row[i] if i < len(row) else "")
            except LedgerError as err:
                raise bad_request(f"row {number}, column {i + 1}: {err}") from None
        sheet[equipment] = values
    try:
        counts = repo.import_sheet(sheet, user.actor, ctx.clock.now(), "CSV导入")
    except LedgerError as err:
        raise bad_request(str(err)) from None
    return ImportOut(changed=counts)
