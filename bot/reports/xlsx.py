"""The report workbook (openpyxl): one sheet per table a department sends up.

Sheets, in order: "Theo kênh" (one row per channel: questions, answered, clarified,
unanswered, promotions, clicks, and more; a total row last), "Theo lĩnh vực",
"Theo thủ tục", "Câu hỏi chưa trả lời", "So sánh kỳ trước", "Ghi chú".
"""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from bot.reports.figures import ChannelFigures, Figures, channel_name
from bot.reports.notes import NOTES

CHANNEL_HEADERS = [
    "Kênh",
    "Số câu hỏi",
    "Đã trả lời",
    "Hỏi lại làm rõ",
    "Chưa trả lời được",
    "Lượt giới thiệu DVC trực tuyến",
    "Lượt bấm liên kết DVC",
    "Khác",
    "Tỷ lệ trả lời (%)",
    "👍 Hữu ích",
    "👎 Chưa đúng",
    "Chuyển cán bộ",
    "Tổng tin nhắn",
]
_HEAD = Font(bold=True, color="FFFFFF")
_FILL = PatternFill("solid", fgColor="1F4E79")


def channel_row(c: ChannelFigures, name: str) -> list[object]:
    """One row of the first sheet (in :data:`CHANNEL_HEADERS` order)."""
    return [
        name,
        c.questions,
        c.answered,
        c.clarified,
        c.unanswered,
        c.promotions,
        c.clicks,
        c.other,
        round(c.share(c.answered), 1),
        c.thumbs_up,
        c.thumbs_down,
        c.handoffs,
        c.messages,
    ]


def _sheet(
    book: Workbook, title: str, headers: list[str], rows: list[list[object]], widths: list[int]
) -> Worksheet:
    sheet = book.create_sheet(title)
    sheet.append(headers)
    for cell in sheet[1]:
        cell.font, cell.fill = _HEAD, _FILL
        cell.alignment = Alignment(wrap_text=True, vertical="center")
    for row in rows:
        sheet.append(row)
    for i, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(i)].width = width
    sheet.freeze_panes = "B2"
    return sheet


def write(figures: Figures, previous: Figures, path: Path, *, unit: str) -> Path:
    """Write the workbook of ``figures`` (compared with ``previous``) to ``path``."""
    book = Workbook()
    book.remove(book.active)
    rows = [channel_row(c, channel_name(c.channel)) for c in figures.channels]
    rows.append(channel_row(figures.total, "Tổng cộng"))
    first = _sheet(book, "Theo kênh", CHANNEL_HEADERS, rows, [26] + [14] * 12)
    for cell in first[first.max_row]:
        cell.font = Font(bold=True)
    _sheet(
        book,
        "Theo lĩnh vực",
        ["Lĩnh vực", "Số câu hỏi"],
        [[name, count] for name, count in figures.fields],
        [60, 14],
    )
    _sheet(
        book,
        "Theo thủ tục",
        [
            "Mã thủ tục",
            "Tên thủ tục",
            "Lĩnh vực",
            "Số câu hỏi",
            "Lượt giới thiệu DVC",
            "Lượt bấm liên kết",
        ],
        [
            [p.code, p.name, "; ".join(p.fields), p.questions, p.promotions, p.clicks]
            for p in figures.procedures
        ],
        [16, 70, 30, 12, 14, 14],
    )
    _sheet(
        book,
        "Câu hỏi chưa trả lời",
        ["Câu hỏi (đã ẩn số cá nhân)", "Số lần", "Gần nhất với"],
        [[t.question, t.count, t.best] for t in figures.unanswered_topics],
        [80, 10, 40],
    )
    _sheet(
        book,
        "So sánh kỳ trước",
        ["Chỉ tiêu", figures.period.title, previous.period.title, "Chênh lệch", "Thay đổi (%)"],
        comparison_rows(figures, previous),
        [36, 20, 20, 14, 14],
    )
    notes = book.create_sheet("Ghi chú")
    notes.append(["Đơn vị báo cáo", unit])
    notes.append(
        [
            "Kỳ báo cáo",
            f"{figures.period.title} ({figures.period.first:%d/%m/%Y} – "
            f"{figures.period.last:%d/%m/%Y})",
        ]
    )
    notes.append(["Kênh", channel_name(figures.channel) if figures.channel else "Tất cả kênh"])
    notes.append(["Lập lúc", f"{figures.generated_at:%H:%M %d/%m/%Y}"])
    for note in NOTES:
        notes.append(["", note])
    notes.column_dimensions["A"].width = 18
    notes.column_dimensions["B"].width = 120
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    return path


#: (label, attribute of ChannelFigures) compared between periods.
COMPARED = [
    ("Tổng tin nhắn", "messages"),
    ("Số câu hỏi", "questions"),
    ("Đã trả lời", "answered"),
    ("Hỏi lại làm rõ", "clarified"),
    ("Chưa trả lời được", "unanswered"),
    ("Lượt giới thiệu DVC trực tuyến", "promotions"),
    ("Lượt bấm liên kết DVC", "clicks"),
    ("👍 Hữu ích", "thumbs_up"),
    ("👎 Chưa đúng", "thumbs_down"),
    ("Chuyển cán bộ", "handoffs"),
]


def comparison_rows(figures: Figures, previous: Figures) -> list[list[object]]:
    """Metric, this period, previous period, difference, change in % ("" when the
    previous period had none)."""
    rows: list[list[object]] = []
    for label, name in COMPARED:
        now, before = getattr(figures.total, name), getattr(previous.total, name)
        change: object = round(100.0 * (now - before) / before, 1) if before else ""
        rows.append([label, now, before, now - before, change])
    return rows
