"""Charts of a period's figures, drawn server-side with matplotlib (Agg, no pyplot
state, safe in worker threads): SVG for the dashboard, PNG for the PDF.

Each function takes :class:`~bot.reports.figures.Figures` and returns a matplotlib
``Figure``; :func:`svg` and :func:`png` serialise it. Text uses DejaVu Sans (bundled
with matplotlib), which has every Vietnamese letter.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable

import matplotlib
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from bot.reports.figures import Figures, channel_name

#: One colour per channel, the same on every chart (colour-blind-safe Okabe–Ito).
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442"]
SHARE_COLOURS = {
    "answered": "#009E73",
    "clarified": "#56B4E9",
    "unanswered": "#D55E00",
    "other": "#999999",
}


def _figure(width: float = 7.5, height: float = 3.2) -> Figure:
    figure = Figure(figsize=(width, height), dpi=100, layout="constrained")
    figure.set_facecolor("white")
    return figure


def _style(ax: Axes) -> None:
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.tick_params(labelsize=9)


def _legend_above(ax: Axes, *, ncols: int) -> None:
    """The legend in one band above the plot, where it never hides a bar."""
    ax.legend(
        fontsize=8,
        frameon=False,
        ncols=ncols,
        loc="lower left",
        bbox_to_anchor=(0, 1.0),
        borderaxespad=0.2,
    )


def _empty_note(ax: Axes, text: str) -> None:
    """A grey sentence in the middle of an empty chart."""
    ax.text(
        0.5,
        0.5,
        text,
        ha="center",
        va="center",
        transform=ax.transAxes,
        fontsize=10,
        color="#666666",
    )


def questions_per_day(figures: Figures) -> Figure:
    """Stacked bars: questions per day (weeks or months on long periods), by channel."""
    figure = _figure()
    ax = figure.add_subplot()
    _style(ax)
    days = list(figures.per_day)
    channels = [c.channel for c in figures.channels if c.questions]
    buckets, labels = _buckets(days)
    bottoms = [0] * len(buckets)
    for i, channel in enumerate(channels):
        values = [sum(figures.per_day[d].get(channel, 0) for d in bucket) for bucket in buckets]
        ax.bar(
            range(len(buckets)),
            values,
            bottom=bottoms,
            color=PALETTE[i % len(PALETTE)],
            label=channel_name(channel),
            width=0.8,
        )
        bottoms = [b + v for b, v in zip(bottoms, values, strict=True)]
    step = max(1, len(labels) // 12)
    ax.set_xticks(range(0, len(labels), step), labels[::step], rotation=0)
    ax.set_ylabel("Số câu hỏi", fontsize=9)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title(f"Câu hỏi theo {_unit(days)} và kênh", fontsize=11, loc="left", pad=22)
    if channels:
        _legend_above(ax, ncols=min(4, len(channels)))
    else:
        _empty_note(ax, "Chưa có câu hỏi trong kỳ")
    return figure


def _unit(days: list[dt.date]) -> str:
    return "ngày" if len(days) <= 45 else ("tuần" if len(days) <= 190 else "tháng")


def _buckets(days: list[dt.date]) -> tuple[list[list[dt.date]], list[str]]:
    """Days grouped for the x axis: days up to 45, weeks up to 190, then months."""
    if len(days) <= 45:
        return [[d] for d in days], [f"{d:%d/%m}" for d in days]
    if len(days) <= 190:
        weeks = [days[i : i + 7] for i in range(0, len(days), 7)]
        return weeks, [f"{w[0]:%d/%m}" for w in weeks]
    months: dict[tuple[int, int], list[dt.date]] = {}
    for d in days:
        months.setdefault((d.year, d.month), []).append(d)
    return list(months.values()), [f"T{m}" for (_, m) in months]


def answer_shares(figures: Figures) -> Figure:
    """One horizontal 100 % bar per channel: answered / clarified / unanswered / other."""
    rows = [c for c in figures.channels if c.questions]
    figure = _figure(height=max(1.6, 0.55 * (len(rows) + 1) + 0.9))
    ax = figure.add_subplot()
    _style(ax)
    names = ["Tất cả kênh", *[channel_name(c.channel) for c in rows]]
    data = [figures.total, *rows]
    parts = [
        ("answered", "Đã trả lời"),
        ("clarified", "Hỏi lại làm rõ"),
        ("unanswered", "Chưa trả lời được"),
        ("other", "Khác"),
    ]
    left = [0.0] * len(data)
    for key, label in parts:
        values = [c.share(getattr(c, key)) for c in data]
        bars = ax.barh(
            range(len(data)), values, left=left, color=SHARE_COLOURS[key], label=label, height=0.6
        )
        for bar, value in zip(bars, values, strict=True):
            if value >= 7:
                ax.text(
                    bar.get_x() + bar.get_width() / 2,
                    bar.get_y() + bar.get_height() / 2,
                    f"{value:.0f}%",
                    ha="center",
                    va="center",
                    fontsize=8,
                    color="white",
                )
        left = [a + b for a, b in zip(left, values, strict=True)]
    ax.set_yticks(range(len(data)), names)
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel("% số câu hỏi", fontsize=9)
    ax.set_title("Tỷ lệ trả lời", fontsize=11, loc="left", pad=24)
    _legend_above(ax, ncols=4)
    return figure


def top_procedures(figures: Figures, limit: int = 10) -> Figure:
    """Horizontal bars: the procedures asked about most."""
    rows = figures.procedures[:limit]
    figure = _figure(height=max(1.8, 0.38 * len(rows) + 1.0))
    ax = figure.add_subplot()
    _style(ax)
    labels = [_short(p.name, 60) for p in rows]
    ax.barh(range(len(rows)), [p.questions for p in rows], color=PALETTE[0], height=0.6)
    for i, p in enumerate(rows):
        ax.text(p.questions, i, f" {p.questions}", va="center", fontsize=8)
    ax.set_yticks(range(len(rows)), labels, fontsize=8)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.invert_yaxis()
    ax.set_title("Thủ tục được hỏi nhiều nhất", fontsize=11, loc="left")
    if not rows:
        _empty_note(ax, "Chưa có thủ tục nào được hỏi")
    return figure


def promotions_and_clicks(figures: Figures) -> Figure:
    """Grouped bars per channel: online services promoted, and links followed."""
    rows = [c for c in figures.channels if c.promotions or c.clicks]
    figure = _figure(height=2.8)
    ax = figure.add_subplot()
    _style(ax)
    xs = range(len(rows))
    ax.bar(
        [x - 0.2 for x in xs],
        [c.promotions for c in rows],
        width=0.4,
        color=PALETTE[1],
        label="Lượt giới thiệu DVC trực tuyến",
    )
    ax.bar(
        [x + 0.2 for x in xs],
        [c.clicks for c in rows],
        width=0.4,
        color=PALETTE[2],
        label="Lượt bấm vào liên kết",
    )
    for x, c in zip(xs, rows, strict=True):
        ax.text(x - 0.2, c.promotions, str(c.promotions), ha="center", va="bottom", fontsize=8)
        ax.text(x + 0.2, c.clicks, str(c.clicks), ha="center", va="bottom", fontsize=8)
    ax.set_xticks(list(xs), [channel_name(c.channel) for c in rows], fontsize=8)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title("Giới thiệu dịch vụ công trực tuyến", fontsize=11, loc="left", pad=22)
    if rows:
        _legend_above(ax, ncols=2)
    else:
        _empty_note(ax, "Chưa có lượt giới thiệu nào")
    return figure


#: The charts of a report, in the order they are printed.
CHARTS: dict[str, Callable[[Figures], Figure]] = {
    "per_day": questions_per_day,
    "shares": answer_shares,
    "procedures": top_procedures,
    "promotions": promotions_and_clicks,
}


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def svg(figure: Figure) -> str:
    """The figure as an SVG document (text kept as text: selectable, sharp)."""
    buffer = io.StringIO()
    FigureCanvasSVG(figure)
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "tthc"}):
        figure.savefig(buffer, format="svg")
    return buffer.getvalue()


def png(figure: Figure, dpi: int = 150) -> bytes:
    """The figure as PNG bytes."""
    buffer = io.BytesIO()
    FigureCanvasAgg(figure)
    figure.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()
