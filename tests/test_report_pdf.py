"""The monthly report printed to PDF by headless Chromium, checked page by page with poppler:
every section present, the Chinese text rendered in an embedded CJK font, no table cut —
no row split across pages, the ledger's header on every page it continues on, nothing past
the sheet's edges and no page shrunk to fit. The PDF and its first page as an image go to
``test-artifacts/``."""

from __future__ import annotations

import re
import shutil
import statistics
import subprocess
from pathlib import Path

import pytest

from api import ApiContext
from core.clock import FakeClock
from core.site import Site, load_site
from storage import RecordsDB, SqliteTimeSeriesStore
from storage.api_keys import Role
from tests.api_support import auth, client_for, new_key
from tests.monthly_case import NOW, SITE, bulk, script_month, script_planned
from tests.servers.chromium import chromium_binary

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
SECTIONS = (
    "工程部月报 2026-03",
    "一、维修台账",
    "二、考核指标",
    "三、回访情况",
    "四、巡检与保养完成率",
    "五、故障最多的设备",
    "六、分楼栋统计",
    "七、本月用能",
)
BULK = 60

pytestmark = pytest.mark.skipif(
    chromium_binary() is None or shutil.which("pdftoppm") is None,
    reason="needs chromium and poppler-utils (make system-deps)",
)


def _print_to_pdf(html: Path, pdf: Path, profile: Path) -> None:
    browser = chromium_binary()
    assert browser is not None
    subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={profile}",
            "--no-pdf-header-footer",
            f"--print-to-pdf={pdf}",
            html.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )


def _pages(pdf: Path) -> list[str]:
    info = subprocess.run(["pdfinfo", str(pdf)], check=True, capture_output=True, text=True)
    found = re.search(r"^Pages:\s+(\d+)", info.stdout, re.MULTILINE)
    assert found is not None, info.stdout
    count = int(found.group(1))
    texts = []
    for n in range(1, count + 1):
        out = subprocess.run(
            ["pdftotext", "-f", str(n), "-l", str(n), str(pdf), "-"],
            check=True,
            capture_output=True,
            text=True,
        )
        texts.append(out.stdout)
    return texts


def _median_word_height(pdf: Path, page: int) -> float:
    boxes = subprocess.run(
        ["pdftotext", "-bbox", "-f", str(page), "-l", str(page), str(pdf), "-"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    heights = [
        float(bottom) - float(top)
        for top, bottom in re.findall(r'yMin="([\d.]+)"[^>]*yMax="([\d.]+)"', boxes)
    ]
    return statistics.median(heights)


def _ink_columns(pgm: Path) -> tuple[int, int, int]:
    """Width, and the leftmost and rightmost pixel columns with any ink, of a binary PGM page
    (what ``pdftoppm -gray`` writes)."""
    data = pgm.read_bytes()
    fields = data.split(maxsplit=4)  # P5, width, height, maxval, pixels
    assert fields[0] == b"P5", "expected a binary PGM"
    width, height = int(fields[1]), int(fields[2])
    pixels = data[len(data) - width * height :]
    inked = [x for x in range(width) if any(pixels[y * width + x] < 128 for y in range(height))]
    return width, min(inked), max(inked)


@pytest.fixture
def site() -> Site:
    """The month's own site (the example's nine machines), whatever the example grows into."""
    return load_site(SITE)


@pytest.fixture
def context(site: Site, ts_store: SqliteTimeSeriesStore, records: RecordsDB) -> ApiContext:
    script_month(records, site)
    script_planned(records)
    bulk(records, site, BULK)
    return ApiContext(site=site, store=ts_store, records=records, clock=FakeClock(NOW))


async def test_monthly_report_prints_whole(
    context: ApiContext, records: RecordsDB, tmp_path: Path
) -> None:
    viewer = auth(new_key(records, Role.VIEWER))
    async with client_for(context) as client:
        response = await client.get(
            "/api/v1/reports/monthly", params={"month": "2026-03", "format": "html"}, headers=viewer
        )
    assert response.status_code == 200
    html = tmp_path / "monthly.html"
    html.write_text(response.text, "utf-8")
    pdf = tmp_path / "monthly-2026-03.pdf"
    _print_to_pdf(html, pdf, tmp_path / "profile")
    ARTIFACTS.mkdir(exist_ok=True)
    shutil.copy(pdf, ARTIFACTS / pdf.name)  # before any check: a failure leaves it to look at

    pages = _pages(pdf)
    assert len(pages) >= 3, "68 ledger rows should need several A4 pages"
    flat = [re.sub(r"\s+", "", p) for p in pages]
    whole = "".join(flat)
    for title in SECTIONS:  # every section, its Chinese title extracted as text
        assert title.replace(" ", "") in whole, title
    assert "湖畔花园" in whole and "生活变频泵1号" in whole

    fonts = subprocess.run(["pdffonts", str(pdf)], check=True, capture_output=True, text=True)
    cjk = [line for line in fonts.stdout.splitlines() if "WenQuanYi" in line or "CJK" in line]
    assert cjk and all(" yes " in line for line in cjk), fonts.stdout  # embedded

    # no page shrunk to fit (Chromium scales a too-wide table down rather than cut it): the
    # body text keeps its 10 pt size, 12.6 pt tall as pdftotext boxes it
    for n in range(1, len(pages) + 1):
        assert _median_word_height(pdf, n) > 12.0, f"page {n} was shrunk to fit"

    # no row cut: both ends of each long ledger row are on one and the same page; each page
    # the ledger runs on starts with its header
    for n in range(1, BULK + 1):
        starts = [i for i, text in enumerate(pages) if f"Q{n:02d}A" in text]
        ends = [i for i, text in enumerate(pages) if f"Q{n:02d}Z" in text]
        assert len(starts) == 1 and starts == ends, f"row {n}: begins on {starts}, ends on {ends}"
    ledger_pages = sorted({i for i, text in enumerate(pages) if re.search(r"Q\d\dA", text)})
    assert len(ledger_pages) >= 2
    for i in ledger_pages:
        assert "工单" in flat[i] and "回访关闭" in flat[i], f"page {i + 1} lacks the header"

    # nothing runs off the sheet: every page keeps ink inside its left and right margins
    subprocess.run(["pdftoppm", "-r", "40", "-gray", str(pdf), str(tmp_path / "page")], check=True)
    images = sorted(tmp_path.glob("page-*.pgm"))
    assert len(images) == len(pages)
    for image in images:
        width, left, right = _ink_columns(image)
        margin = width * 8 // 297  # 8 of the 10 mm margins on 297 mm
        assert left >= margin and right <= width - margin, (image.name, left, right, width)

    subprocess.run(  # the first page as an image, to look at
        [
            "pdftoppm",
            "-r",
            "60",
            "-png",
            "-f",
            "1",
            "-l",
            "1",
            "-singlefile",
            str(pdf),
            str(ARTIFACTS / "monthly-2026-03-page1"),
        ],
        check=True,
    )
