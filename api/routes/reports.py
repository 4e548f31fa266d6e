"""Reports: the daily operation report (设备运行日报) and the monthly report (月报).

JSON (machine-readable keys), CSV (UTF-8 with BOM, Chinese labels) or a printable page;
days and months in the site's time zone.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response

from api.context import ContextDep
from api.daily_report import daily_report, document
from api.errors import bad_request
from api.monthly_page import document as monthly_document
from api.monthly_report import monthly_report, parse_month
from api.printable import csv_download, html_response
from api.report_rows import site_zone
from api.schemas_reports import DailyReportOut, MonthlyReportOut

router = APIRouter(tags=["reports"])

Format = Literal["json", "csv", "html"]
_FORMATS: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {"text/csv": {}, "text/html": {}},
        "description": "JSON, CSV export (format=csv) or printable page (format=html)",
    }
}


@router.get("/reports/daily", response_model=DailyReportOut, responses=_FORMATS)
def get_daily(
    ctx: ContextDep,
    day: Annotated[
        date | None,
        Query(alias="date", description="local date at the site (default: yesterday)"),
    ] = None,
    format: Format = "json",
) -> DailyReportOut | Response:
    """Per machine run hours, starts, faults, availability, key signals and tickets; the
    day's alarms and tickets."""
    tz = site_zone(ctx)
    day = day or (ctx.clock.now().astimezone(tz).date() - timedelta(days=1))
    if not 1970 < day.year < 2200:
        raise bad_request(f"date: {day.isoformat()} is out of range")
    report = daily_report(ctx, day)
    if format == "json":
        return report
    doc = document(ctx, report, ctx.clock.now())
    if format == "csv":
        return csv_download(f"daily-{report.site}-{day.isoformat()}.csv", doc)
    page: HTMLResponse = html_response(doc)
    return page


@router.get("/reports/monthly", response_model=MonthlyReportOut, responses=_FORMATS)
def get_monthly(
    ctx: ContextDep,
    month: Annotated[
        str | None,
        Query(description="YYYY-MM, the site's local month (default: last month)", max_length=7),
    ] = None,
    format: Format = "json",
) -> MonthlyReportOut | Response:
    """The repair ledger, KPIs against targets, callbacks, planned-work compliance, the
    most-failing machines and the figures per building, for one month."""
    year, number = parse_month(month, ctx)
    report = monthly_report(ctx, year, number)
    if format == "json":
        return report
    doc = monthly_document(report, ctx.clock.now())
    if format == "csv":
        return csv_download(f"monthly-{report.site}-{report.month}.csv", doc)
    page: HTMLResponse = html_response(doc)
    return page
