"""CSV for spreadsheets: UTF-8 with a byte-order mark, so Excel and WPS show Chinese intact."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence

from fastapi.responses import Response, StreamingResponse

BOM = "\ufeff"
CSV_TYPE = "text/csv; charset=utf-8"


def csv_text(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    out = io.StringIO()
    out.write(BOM)
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def _lines(rows: Iterable[Sequence[object]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue()


def csv_stream(
    filename: str, header: Sequence[str], pages: Iterable[Iterable[Sequence[object]]]
) -> StreamingResponse:
    """A download sent page by page as ``pages`` yields them: memory holds one page at a time.

    ``pages`` may block (store reads): Starlette iterates a plain iterator in a worker thread.
    """

    def chunks() -> Iterator[bytes]:
        yield (BOM + _lines([header])).encode("utf-8")
        for page in pages:
            yield _lines(page).encode("utf-8")

    return StreamingResponse(
        chunks(),
        media_type=CSV_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def csv_response(
    filename: str, header: Sequence[str], rows: Iterable[Sequence[object]]
) -> Response:
    """A download named ``filename`` (ASCII: machine ids and dates, never display names)."""
    return Response(
        csv_text(header, rows).encode("utf-8"),
        media_type=CSV_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
