"""Reports as people file them: printable HTML pages and sectioned CSV, Chinese labels.

A report is a title, a few header lines and a list of ``Table`` sections. The page prints
on A4 landscape: each table's header repeats on every page, rows never split across pages,
and text wraps inside its cell instead of running off the sheet (values of a few characters —
ids, counts, 是/否 — never wrap). The CSV (UTF-8 with a
BOM, for Excel and WPS) holds the same sections: the first one starts on the first line with
its header row, so a spreadsheet reads it as a plain table; each later one follows a blank
line and its title.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from html import escape
from zoneinfo import ZoneInfo

from fastapi.responses import HTMLResponse, Response

from api.csvout import BOM, CSV_TYPE
from api.schemas_reports import EnergyLine

Cell = str | int | float | None


@dataclass(frozen=True, slots=True)
class Table:
    title: str
    columns: Sequence[str]
    rows: Sequence[Sequence[Cell]]
    empty: str = "无"  # shown instead of an empty table
    notes: Sequence[str] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True)
class Document:
    title: str
    lines: Sequence[str]  # site, period, time zone, when made
    tables: Sequence[Table]
    signatures: Sequence[str] = ()  # signature lines printed at the foot


def local_time(ts: datetime | None, tz: ZoneInfo) -> str:
    """``2026-03-02 08:00`` in the site's zone; empty for no time."""
    return "" if ts is None else ts.astimezone(tz).strftime("%Y-%m-%d %H:%M")


def day_time(ts: datetime | None, tz: ZoneInfo) -> str:
    """``03-02 08:00``: for tables within one month, where the year goes without saying."""
    return "" if ts is None else ts.astimezone(tz).strftime("%m-%d %H:%M")


def minutes(span: timedelta) -> str:
    """A duration as people write it: ``2小时5分``, ``45分``."""
    total = round(span.total_seconds() / 60)
    sign = "-" if total < 0 else ""
    hours, mins = divmod(abs(total), 60)
    if hours:
        return f"{sign}{hours}小时{mins}分"
    return f"{sign}{mins}分"


def pct(value: float | None, digits: int = 1) -> str:
    return "" if value is None else f"{value * 100:.{digits}f}%"


def number(value: float | None, digits: int = 2) -> str:
    if value is None:
        return ""
    return f"{round(value, digits):g}"


_STYLE = """
@page { size: A4 landscape; margin: 12mm 10mm; }
body { font-family: "Noto Sans CJK SC", "WenQuanYi Zen Hei", "Microsoft YaHei", sans-serif;
       font-size: 10pt; color: #000; margin: 0; }
h1 { font-size: 16pt; margin: 0 0 4pt; text-align: center; }
p.meta { margin: 0 0 2pt; text-align: center; }
h2 { font-size: 12pt; margin: 10pt 0 3pt; break-after: avoid; }
table { width: 100%; border-collapse: collapse; margin-bottom: 4pt; }
thead { display: table-header-group; }
tr { break-inside: avoid; page-break-inside: avoid; }
th, td { border: 0.6pt solid #444; padding: 2pt 3pt; text-align: left; vertical-align: top;
         overflow-wrap: anywhere; }
td.short { white-space: nowrap; }
th { background: #e8e8e8; }
p.empty, p.note { margin: 0 0 4pt; }
section { break-inside: auto; }
.signatures { margin-top: 16pt; display: flex; gap: 40pt; break-inside: avoid; }
@media screen { body { margin: 16px auto; max-width: 1200px; } }
"""


def energy_table(lines: Sequence[EnergyLine], title: str) -> Table:
    """Energy and water used, per meter (the same section in every report)."""
    return Table(
        title,
        ("表计", "计量", "用量", "单位"),
        [(e.equipment_name, e.signal_name, number(e.used, 2), e.unit) for e in lines],
        empty="无计量数据",
    )


def render_html(doc: Document) -> str:
    """The printable page (one HTML document, no scripts, no external assets)."""
    out = [
        "<!doctype html>",
        '<html lang="zh-CN"><head><meta charset="utf-8">',
        f"<title>{escape(doc.title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{escape(doc.title)}</h1>",
        *(f'<p class="meta">{escape(line)}</p>' for line in doc.lines),
    ]
    for table in doc.tables:
        out.append(f"<section><h2>{escape(table.title)}</h2>")
        out += [f'<p class="note">{escape(n)}</p>' for n in table.notes]
        if not table.rows:
            out.append(f'<p class="empty">{escape(table.empty)}</p></section>')
            continue
        head = "".join(f"<th>{escape(c)}</th>" for c in table.columns)
        out.append(f"<table><thead><tr>{head}</tr></thead><tbody>")
        for row in table.rows:
            cells = "".join(_cell(v) for v in row)
            out.append(f"<tr>{cells}</tr>")
        out.append("</tbody></table></section>")
    if doc.signatures:
        signed = "".join(f"<div>{escape(s)}</div>" for s in doc.signatures)
        out.append(f'<div class="signatures">{signed}</div>')
    out.append("</body></html>")
    return "\n".join(out)


def render_csv(doc: Document) -> str:
    """The same sections as CSV text, BOM first."""
    buffer = io.StringIO()
    buffer.write(BOM)
    writer = csv.writer(buffer, lineterminator="\r\n")
    for i, table in enumerate(doc.tables):
        if i:
            writer.writerow([])
            writer.writerow([table.title])
        writer.writerow(table.columns)
        writer.writerows([[_text(v) for v in row] for row in table.rows])
    return buffer.getvalue()


def _cell(value: Cell) -> str:
    # short values (ids, counts, 是/否) never wrap: a column of them stays narrow and whole
    text = _text(value)
    short = ' class="short"' if len(text) <= SHORT else ""
    return f"<td{short}>{escape(text)}</td>"


SHORT = 6


def _text(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def html_response(doc: Document) -> HTMLResponse:
    return HTMLResponse(render_html(doc))


def csv_download(filename: str, doc: Document) -> Response:
    """A download named ``filename`` (ASCII: ids and dates, never display names)."""
    return Response(
        render_csv(doc).encode("utf-8"),
        media_type=CSV_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
