"""The printable report (fpdf2, A4): the shape a department sends to its superior.

Heading (unit; national motto), title and period, "Kính gửi" when configured, I. the
summary table by channel and the key figures against the previous period, II. charts,
III. procedures and fields asked about most, IV. questions not answered, V. notes.
Text is set in DejaVu Sans embedded from matplotlib's own font files (every Vietnamese
letter, no system font needed).
"""

from __future__ import annotations

import io
from pathlib import Path

import matplotlib
from fpdf import FPDF
from fpdf.fonts import FontFace

from bot.reports import charts
from bot.reports.figures import Figures, channel_name
from bot.reports.notes import NOTES

FONT_DIR = Path(matplotlib.get_data_path()) / "fonts" / "ttf"


class _Report(FPDF):
    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("DejaVu", size=8)
        self.set_text_color(110)
        self.cell(0, 6, f"Trang {self.page_no()}/{{nb}}", align="C")
        self.set_text_color(0)


def _decimal(value: float) -> str:
    """One decimal, written the Vietnamese way (comma): 233,3."""
    return f"{value:.1f}".replace(".", ",")


def _pct(part: int, whole: int) -> str:
    return f"{_decimal(100.0 * part / whole)}%" if whole else "–"


def _change(now: int, before: int) -> str:
    if not before:
        return "kỳ trước chưa có số liệu"
    delta = 100.0 * (now - before) / before
    return f"{'tăng' if delta >= 0 else 'giảm'} {_decimal(abs(delta))}% so với kỳ trước: {before}"


def write(
    figures: Figures, previous: Figures, path: Path, *, unit: str, recipient: str = ""
) -> Path:
    """Write the PDF report of ``figures`` (compared with ``previous``) to ``path``."""
    pdf = _Report(orientation="P", unit="mm", format="A4")
    pdf.set_auto_page_break(auto=True, margin=16)
    pdf.add_font("DejaVu", "", str(FONT_DIR / "DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", str(FONT_DIR / "DejaVuSans-Bold.ttf"))
    pdf.add_font("DejaVu", "I", str(FONT_DIR / "DejaVuSans-Oblique.ttf"))
    pdf.set_title(f"Báo cáo kết quả Trợ lý TTHC – {figures.period.title}")
    pdf.set_author(unit)
    pdf.add_page()
    width = pdf.epw

    # Heading: the unit on the left, the national motto on the right.
    top = pdf.get_y()
    pdf.set_font("DejaVu", "B", 9)
    pdf.multi_cell(width * 0.42, 5, unit.upper(), align="C")
    pdf.set_xy(pdf.l_margin + width * 0.42, top)
    pdf.multi_cell(
        width * 0.58,
        5,
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM\nĐộc lập - Tự do - Hạnh phúc",
        align="C",
    )
    made = figures.generated_at
    pdf.set_font("DejaVu", "I", 9)
    pdf.set_x(pdf.l_margin + width * 0.42)
    pdf.cell(width * 0.58, 6, f"ngày {made:%d} tháng {made:%m} năm {made:%Y}", align="C")
    pdf.ln(12)
    pdf.set_font("DejaVu", "B", 14)
    pdf.cell(0, 7, "BÁO CÁO", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "B", 11)
    pdf.multi_cell(
        0,
        6,
        "Kết quả hỗ trợ người dân tra cứu thủ tục hành chính qua Trợ lý TTHC\n"
        f"{figures.period.title}",
        align="C",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.set_font("DejaVu", "", 9)
    scope = channel_name(figures.channel) if figures.channel else "tất cả các kênh"
    pdf.cell(
        0,
        6,
        f"(Từ ngày {figures.period.first:%d/%m/%Y} đến ngày "
        f"{figures.period.last:%d/%m/%Y}; {scope})",
        align="C",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    if recipient:
        pdf.ln(2)
        pdf.set_font("DejaVu", "", 10)
        pdf.cell(0, 6, f"Kính gửi: {recipient}", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)

    total, before = figures.total, previous.total
    _heading(pdf, "I. TỔNG HỢP SỐ LIỆU")
    pdf.set_font("DejaVu", "", 10)
    lines = [
        f"Số câu hỏi người dân gửi: {total.questions} "
        f"({_change(total.questions, before.questions)}); tổng số tin nhắn: {total.messages}.",
        f"Đã trả lời: {total.answered} ({_pct(total.answered, total.questions)}); hỏi lại để "
        f"làm rõ: {total.clarified} ({_pct(total.clarified, total.questions)}); chưa trả lời "
        f"được: {total.unanswered} ({_pct(total.unanswered, total.questions)}).",
        f"Giới thiệu dịch vụ công trực tuyến: {total.promotions} lượt (toàn trình: "
        f"{total.promotions_full}); người dân bấm vào liên kết: {total.clicks} lượt.",
        f"Đánh giá của người dân: {total.thumbs_up} hữu ích, {total.thumbs_down} chưa đúng; "
        f"chuyển cán bộ trả lời trực tiếp: {total.handoffs} cuộc.",
    ]
    if figures.latency_p50 is not None:
        lines.append(
            f"Thời gian trả lời: trung vị {figures.latency_p50} ms, 95% câu hỏi trong "
            f"{figures.latency_p95} ms."
        )
    for line in lines:
        pdf.multi_cell(0, 5.5, f"- {line}", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    headers = ["Kênh", "Câu hỏi", "Đã trả lời", "Làm rõ", "Chưa TL", "Giới thiệu DVC", "Lượt bấm"]
    body: list[list[object]] = [
        [
            channel_name(c.channel),
            c.questions,
            c.answered,
            c.clarified,
            c.unanswered,
            c.promotions,
            c.clicks,
        ]
        for c in figures.channels
    ]
    body.append(
        [
            "Tổng cộng",
            total.questions,
            total.answered,
            total.clarified,
            total.unanswered,
            total.promotions,
            total.clicks,
        ]
    )
    _table(pdf, headers, body, (34, 11, 11, 10, 10, 13, 11), bold_last=True)

    _heading(pdf, "II. BIỂU ĐỒ")
    for make in charts.CHARTS.values():
        figure = make(figures)
        image = charts.png(figure, dpi=160)
        w_in, h_in = figure.get_size_inches()
        height = width * h_in / w_in
        if pdf.get_y() + height > pdf.page_break_trigger:
            pdf.add_page()
        pdf.image(io.BytesIO(image), x=pdf.l_margin, w=width)
        pdf.ln(3)

    _heading(pdf, "III. THỦ TỤC VÀ LĨNH VỰC ĐƯỢC HỎI NHIỀU")
    procedures: list[list[object]] = [
        [p.code, p.name, p.questions, p.promotions, p.clicks] for p in figures.procedures[:10]
    ]
    _table(
        pdf,
        ["Mã", "Tên thủ tục", "Câu hỏi", "Giới thiệu DVC", "Lượt bấm"],
        procedures or [["–", "Chưa có", 0, 0, 0]],
        (16, 52, 10, 12, 10),
    )
    pdf.ln(2)
    fields: list[list[object]] = [[n, c] for n, c in figures.fields[:10]]
    _table(pdf, ["Lĩnh vực", "Câu hỏi"], fields or [["Chưa có", 0]], (80, 20))

    _heading(pdf, "IV. CÂU HỎI CHƯA TRẢ LỜI ĐƯỢC (NHIỀU NHẤT)")
    topics: list[list[object]] = [
        [t.question[:160], t.count] for t in figures.unanswered_topics[:10]
    ]
    _table(pdf, ["Câu hỏi (đã ẩn số cá nhân)", "Số lần"], topics or [["Không có", 0]], (85, 15))

    _heading(pdf, "V. GHI CHÚ")
    pdf.set_font("DejaVu", "", 8.5)
    for note in NOTES:
        pdf.multi_cell(0, 4.5, f"- {note}", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(6)
    pdf.set_font("DejaVu", "B", 10)
    pdf.set_x(pdf.l_margin + width * 0.55)
    pdf.cell(width * 0.45, 6, "NGƯỜI LẬP BÁO CÁO", align="C")
    path.parent.mkdir(parents=True, exist_ok=True)
    pdf.output(str(path))
    return path


def _heading(pdf: FPDF, text: str) -> None:
    if pdf.get_y() > pdf.page_break_trigger - 30:
        pdf.add_page()
    pdf.ln(3)
    pdf.set_font("DejaVu", "B", 11)
    pdf.cell(0, 7, text, new_x="LMARGIN", new_y="NEXT")


def _table(
    pdf: FPDF,
    headers: list[str],
    rows: list[list[object]],
    widths: tuple[int, ...],
    *,
    bold_last: bool = False,
) -> None:
    pdf.set_font("DejaVu", "", 8.5)
    align = ["LEFT"] + ["RIGHT" if isinstance(v, int) else "LEFT" for v in rows[0][1:]]
    with pdf.table(
        col_widths=widths,
        headings_style=FontFace(emphasis="BOLD", fill_color=(220, 230, 241)),
        line_height=5,
        text_align=align,
    ) as table:
        table.row(headers)
        for i, values in enumerate(rows):
            style = FontFace(emphasis="BOLD") if bold_last and i == len(rows) - 1 else None
            table.row([str(v) for v in values], style=style)
