"""Report figures against a seeded history with known counts (SQLite and PostgreSQL),
the XLSX read back with openpyxl, and the PDF rendered to PNG and its text extracted."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook
from sqlalchemy.orm import Session, sessionmaker

from bot.cli import main
from bot.reports.figures import ChannelFigures, compute, percentile
from bot.reports.periods import PeriodError, parse
from tests.bot.reports.seed import EXPECTED, P1, seed

COUNTS = (
    "messages",
    "questions",
    "answered",
    "clarified",
    "unanswered",
    "other",
    "promotions",
    "clicks",
    "thumbs_up",
    "thumbs_down",
    "handoffs",
)


def _counts(figures: ChannelFigures) -> tuple[int, ...]:
    return tuple(getattr(figures, name) for name in COUNTS)


def test_periods_and_their_previous() -> None:
    q4 = parse("2026-Q4")
    assert (q4.first.isoformat(), q4.last.isoformat(), q4.title) == (
        "2026-10-01",
        "2026-12-31",
        "Quý IV năm 2026",
    )
    assert q4.previous().label == "2026-Q3" and parse("2026-Q1").previous().label == "2025-Q4"
    assert parse("2026-H2").previous().label == "2026-H1"
    assert parse("2026-H1").previous().label == "2025-H2"
    assert parse("2026").previous().title == "Năm 2025"
    assert parse("2026-01").previous().label == "2025-12"
    assert str(q4.start) == "2026-10-01 00:00:00+07:00"
    for bad in ("2026-Q5", "Q4", "2026-13", "1999", "2026-H3"):
        with pytest.raises(PeriodError):
            parse(bad)
    assert percentile([], 50) is None and percentile([5, 1, 3], 50) == 3


def test_quarter_figures_match_the_seeded_history(factory: sessionmaker[Session]) -> None:
    seed(factory)
    with factory() as session:
        figures = compute(session, parse("2026-Q4"))
        previous = compute(session, parse("2026-Q3"))
        zalo = compute(session, parse("2026-Q4"), "zalo-oa")
    by_channel = {c.channel: _counts(c) for c in figures.channels}
    assert by_channel == EXPECTED["channels"]
    assert _counts(figures.total) == EXPECTED["total"]
    assert figures.total.promotions_full == EXPECTED["promotions_full"]
    assert [(p.code, p.questions, p.promotions, p.clicks) for p in figures.procedures] == (
        EXPECTED["procedures"]
    )
    assert figures.procedures[0].name == "Đăng ký thường trú" and figures.procedures[0].code == P1
    assert figures.fields == EXPECTED["fields"]
    assert (figures.latency_p50, figures.latency_p95) == EXPECTED["latency"]
    assert [(t.question, t.count) for t in figures.unanswered_topics] == EXPECTED["topics"]
    # The first and last minutes of the quarter (Vietnam time) count in it, on their own day.
    assert figures.per_day[parse("2026-10").first] == {"telegram": 1}
    assert figures.per_day[parse("2026-12").last] == {"web": 1}
    assert sum(sum(day.values()) for day in figures.per_day.values()) == 20
    assert len(figures.per_day) == 92
    assert previous.total.questions == EXPECTED["previous_questions"]
    assert previous.total.clicks == 1
    assert _counts(zalo.total) == EXPECTED["channels"]["zalo-oa"]
    assert [c.channel for c in zalo.channels] == ["zalo-oa"]


def test_cli_report_writes_the_workbook_and_the_printable_pdf(
    db_url: str, factory: sessionmaker[Session], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(factory)
    monkeypatch.setenv("TTHC_DATABASE_URL", db_url)
    monkeypatch.setenv("TTHC_REPORT_UNIT", "Sở Tư pháp tỉnh Quảng Trị")
    monkeypatch.setenv("TTHC_REPORT_RECIPIENT", "Ủy ban nhân dân tỉnh")
    out = tmp_path / "bao-cao"
    result = CliRunner().invoke(main, ["report", "--period", "2026-Q4", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "20 câu hỏi, 11 đã trả lời, 7 lượt giới thiệu DVC, 6 lượt bấm" in result.output
    book = load_workbook(out / "bao-cao-tro-ly-tthc-2026-Q4.xlsx")
    assert book.sheetnames == [
        "Theo kênh",
        "Theo lĩnh vực",
        "Theo thủ tục",
        "Câu hỏi chưa trả lời",
        "So sánh kỳ trước",
        "Ghi chú",
    ]
    rows = list(book["Theo kênh"].iter_rows(values_only=True))
    assert rows[0][:7] == (
        "Kênh",
        "Số câu hỏi",
        "Đã trả lời",
        "Hỏi lại làm rõ",
        "Chưa trả lời được",
        "Lượt giới thiệu DVC trực tuyến",
        "Lượt bấm liên kết DVC",
    )
    assert [r[:7] for r in rows[1:]] == [
        ("Telegram", 10, 6, 2, 1, 4, 3),
        ("Zalo OA", 6, 3, 0, 2, 3, 3),
        ("Trang web (web chat)", 4, 2, 1, 1, 0, 0),
        ("Tổng cộng", 20, 11, 3, 4, 7, 6),
    ]
    fields = list(book["Theo lĩnh vực"].iter_rows(min_row=2, values_only=True))
    assert fields == [tuple(f) for f in EXPECTED["fields"]]
    procedures = list(book["Theo thủ tục"].iter_rows(min_row=2, values_only=True))
    assert procedures[0] == (P1, "Đăng ký thường trú", "Đăng ký, quản lý cư trú", 6, 6, 4)
    topics = list(book["Câu hỏi chưa trả lời"].iter_rows(min_row=2, values_only=True))
    assert topics[0][:2] == ("thủ tục nuôi ong", 2)
    compare = {r[0]: r[1:] for r in book["So sánh kỳ trước"].iter_rows(min_row=2, values_only=True)}
    assert compare["Số câu hỏi"] == (20, 6, 14, 233.3)
    assert compare["Lượt bấm liên kết DVC"] == (6, 1, 5, 500.0)
    notes = [r[1] for r in book["Ghi chú"].iter_rows(values_only=True)]
    assert notes[0] == "Sở Tư pháp tỉnh Quảng Trị"

    pdf_path = out / "bao-cao-tro-ly-tthc-2026-Q4.pdf"
    from pypdf import PdfReader

    text = "\n".join(page.extract_text() for page in PdfReader(pdf_path).pages)
    for expected in (
        "SỞ TƯ PHÁP TỈNH QUẢNG TRỊ",
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Quý IV năm 2026",
        "Kính gửi: Ủy ban nhân dân tỉnh",
        "Tổng cộng",
        "Đăng ký thường trú",
        "tăng 233,3% so với kỳ trước",
        "Đã trả lời: 11 (55,0%)",
        "NGƯỜI LẬP BÁO CÁO",
    ):
        assert expected in text, expected
    import pypdfium2 as pdfium

    shots = Path(os.environ.get("TTHC_TEST_SCREENSHOT_DIR") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    document = pdfium.PdfDocument(str(pdf_path))
    assert len(document) >= 2
    for index in range(len(document)):
        image = document[index].render(scale=1.5).to_pil()
        image.save(shots / f"report-2026-Q4-page{index + 1}.png")
        # A printed page, not a blank one: a good share of it is ink.
        dark = sum(image.convert("L").histogram()[:128])
        assert dark > 2000, f"page {index + 1} looks empty"


def test_cli_report_rejects_a_bad_period(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["report", "--period", "2026-Q7", "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "không hợp lệ" in result.output
