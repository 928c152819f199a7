"""HTML form ⇄ plan JSON (kế hoạch) for the edit page, with Vietnamese errors per field.

A plan's body is a tree of sections (:class:`knowledge.records.PlanSection`). The form
shows it flattened in reading order, one row per section with its level (cấp, 0 for a
top-level part such as "I."), numbering, heading, own text and table rows (one line per
table row, cells separated by " | "). :func:`parse_plan` rebuilds the tree from the
levels: a row belongs under the nearest row above it with a smaller level, and a level
may grow by at most one from one row to the next.

Same contract as :mod:`bot.admin.forms`: ``plan_values(data) -> {input: text}`` and
``parse_plan(form, base) -> (data | None, {input: reason})``.
"""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

from bot.admin.forms import Form, _date, _rows, _s
from knowledge.validation import FieldError, check_document_number

#: Deepest level a section may have (0-based); plans nest I. › 1. › a) › - › + at most.
MAX_LEVEL = 6
CELL = " | "
PLAN_STATUSES = {"published": "Đang dùng", "retired": "Ngừng dùng"}


def _flatten(sections: list[dict[str, Any]], level: int = 0) -> list[tuple[int, dict[str, Any]]]:
    rows: list[tuple[int, dict[str, Any]]] = []
    for section in sections:
        rows.append((level, section))
        rows += _flatten(section.get("children") or [], level + 1)
    return rows


def _table_text(rows: list[list[str]]) -> str:
    return "\n".join(CELL.join(cells) for cells in rows)


def _section_values(prefix: str, level: int, section: dict[str, Any]) -> dict[str, str]:
    return {
        f"{prefix}level": str(level),
        f"{prefix}marker": str(section.get("marker", "")),
        f"{prefix}heading": str(section.get("heading", "")),
        f"{prefix}text": str(section.get("text", "")),
        f"{prefix}rows": _table_text(section.get("rows") or []),
    }


def plan_values(data: dict[str, Any]) -> dict[str, str]:
    """Form fields of a plan: its facts and one row per section (plus a blank one)."""
    values = {
        "number": str(data.get("number", "")),
        "title": str(data.get("title", "")),
        "issuer": str(data.get("issuer", "")),
        "issued_on": str(data.get("issued_on") or ""),
        "province": str(data.get("province", "")),
        "year": "" if data.get("year") is None else str(data["year"]),
        "status": str(data.get("status", "published")),
    }
    flat = _flatten(data.get("sections") or [])
    values["sections"] = str(len(flat) + 1)
    for i, (level, section) in enumerate(flat):
        values.update(_section_values(f"sec{i}_", level, section))
    return values


def _year(text: str, issued: dt.date | None, errors: dict[str, str]) -> int | None:
    if not text:
        return issued.year if issued else None
    if not text.isdigit() or not 1945 <= int(text) <= dt.date.today().year + 5:
        errors["year"] = "năm kế hoạch phải là năm có bốn chữ số, ví dụ 2026"
        return None
    return int(text)


def _section(
    form: Form, prefix: str, original: dict[str, Any] | None, errors: dict[str, str]
) -> tuple[int, dict[str, Any]] | None:
    """One row as ``(level, section without children)``; ``None`` for an empty row."""
    typed = {k[len(prefix) :]: _s(form, k, 50000) for k in _section_values(prefix, 0, {})}
    if not any(typed[k] for k in ("marker", "heading", "text", "rows")):
        return None  # the blank row, or a section the editor cleared
    level_text = typed["level"] or "0"
    level = int(level_text) if level_text.isdigit() else -1
    if not 0 <= level <= MAX_LEVEL:
        errors[f"{prefix}level"] = f"cấp của mục phải là số từ 0 đến {MAX_LEVEL}"
        level = 0
    unchanged = original is not None and all(
        typed[k] == v for k, v in _section_values("", 0, original).items() if k != "level"
    )
    if not (typed["heading"] or typed["rows"] or unchanged):
        errors[f"{prefix}heading"] = "mục cần có dòng đầu (tiêu đề) hoặc một bảng"
    section: dict[str, Any] = {
        "marker": typed["marker"][:16],
        "heading": typed["heading"],
        "text": typed["text"],
        "rows": [],
        "children": [],
    }
    if original is not None and typed["rows"] == _table_text(original.get("rows") or []):
        section["rows"] = copy.deepcopy(original.get("rows") or [])  # cells kept exactly
    else:
        section["rows"] = [
            [cell.strip() for cell in line.split("|")]
            for line in typed["rows"].splitlines()
            if line.strip()
        ]
    return level, section


def _tree(
    rows: list[tuple[str, int, dict[str, Any]]], errors: dict[str, str]
) -> list[dict[str, Any]]:
    """Sections nested by level; a level more than one deeper than the row above is an error."""
    roots: list[dict[str, Any]] = []
    stack: list[tuple[int, dict[str, Any]]] = []
    for prefix, level, section in rows:
        allowed = stack[-1][0] + 1 if stack else 0
        if level > allowed:
            errors[f"{prefix}level"] = (
                f"mục ở cấp {level} nhưng mục ngay trên ở cấp {allowed - 1}: mỗi mục chỉ sâu "
                "hơn mục trên nó một cấp (khi xoá một mục, hãy xoá hoặc nâng cấp các mục con)"
            )
            level = allowed
        while stack and stack[-1][0] >= level:
            stack.pop()
        (stack[-1][1]["children"] if stack else roots).append(section)
        stack.append((level, section))
    return roots


def parse_plan(form: Form, base: dict[str, Any]) -> tuple[dict[str, Any] | None, dict[str, str]]:
    """The proposed plan over ``base`` (``{}`` for a new one); see the module docstring.

    The fields that make a plan's key (its number, else its source file, else its title)
    stay as they are for an existing plan: a renumbered plan is a new record.
    """
    errors: dict[str, str] = {}
    exists = bool(base)
    data: dict[str, Any] = {
        "number": base.get("number", "") if exists else "",
        "title": _s(form, "title", 2000),
        "issuer": _s(form, "issuer", 2000),
        "province": _s(form, "province", 128),
        "source_file": base.get("source_file", "") if exists else "",
        "status": _s(form, "status", 16) or "published",
    }
    if not exists:
        try:
            data["number"] = check_document_number(_s(form, "number", 128))
        except FieldError as exc:
            errors["number"] = str(exc)
    elif not (data["number"] or data["source_file"]):
        data["title"] = base.get("title", "")  # the title is this plan's key
    if not data["title"]:
        errors["title"] = "tên kế hoạch không được để trống"
    issued = _date(_s(form, "issued_on", 10), "issued_on", errors)
    if issued is not None and issued > dt.date.today() + dt.timedelta(days=366):
        errors["issued_on"] = "ngày ban hành ở quá xa trong tương lai"
    data["issued_on"] = issued.isoformat() if issued else None
    data["year"] = _year(_s(form, "year", 8), issued, errors)
    if data["status"] not in PLAN_STATUSES:
        errors["status"] = "trạng thái không hợp lệ"
    originals = [section for _, section in _flatten(base.get("sections") or [])]
    parsed: list[tuple[str, int, dict[str, Any]]] = []
    for i in range(_rows(form, "sections", len(originals), 5000)):
        prefix = f"sec{i}_"
        row = _section(form, prefix, originals[i] if i < len(originals) else None, errors)
        if row is not None:
            parsed.append((prefix, *row))
    data["sections"] = _tree(parsed, errors)
    if not data["sections"]:
        errors["sections"] = "kế hoạch cần có ít nhất một mục nội dung"
    return (None if errors else data), errors
