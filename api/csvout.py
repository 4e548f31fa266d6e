"""CSV for spreadsheets: UTF-8 with a byte-order mark, so Excel and WPS show Chinese intact."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

from fastapi.responses import Response

BOM = "\ufeff"
CSV_TYPE = "text/csv; charset=utf-8"


def csv_text(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    out = io.StringIO()
    out.write(BOM)
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def csv_response(
    filename: str, header: Sequence[str], rows: Iterable[Sequence[object]]
) -> Response:
    """A download named ``filename`` (ASCII: machine ids and dates, never display names)."""
    return Response(
        csv_text(header, rows).encode("utf-8"),
        media_type=CSV_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
