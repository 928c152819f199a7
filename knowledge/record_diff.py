"""Records read field by field the way staff name them, for histories and reviews.

:func:`readable` flattens a record's canonical JSON (see :func:`knowledge.codec.to_json`)
into ``{label: text}`` with Vietnamese labels and fees written "35.000 đồng";
:func:`readable_diff` compares two such records: ``[(label, old, new)]`` for each line
that differs, in a stable order.
"""

from __future__ import annotations

from typing import Any

from knowledge.amounts import format_vnd

LABELS: dict[str, str] = {
    "code": "Mã thủ tục",
    "name": "Tên",
    "detail": "Mức chi tiết",
    "fields": "Lĩnh vực",
    "levels": "Cấp thực hiện",
    "procedure_type": "Loại thủ tục",
    "decision_number": "Quyết định công bố",
    "issuing_body": "Cơ quan ban hành",
    "implementing_agencies": "Cơ quan thực hiện",
    "competent_agencies": "Cơ quan có thẩm quyền",
    "target_groups": "Đối tượng thực hiện",
    "steps": "Trình tự thực hiện",
    "conditions": "Yêu cầu, điều kiện",
    "results": "Kết quả thực hiện",
    "receiving_address": "Địa chỉ tiếp nhận hồ sơ",
    "online_level": "Mức dịch vụ công trực tuyến",
    "online_url": "Đường dẫn nộp trực tuyến",
    "portal_url": "Trang thủ tục trên Cổng DVC",
    "dataset": "Nguồn dữ liệu",
    "source_id": "Mã nguồn",
    "crawled_at": "Ngày thu thập",
    "status": "Trạng thái",
    "scope": "Phạm vi",
    "area": "Địa bàn",
    "phones": "Số điện thoại",
    "email": "Thư điện tử",
    "hours": "Giờ làm việc",
    "source": "Nguồn",
    "verified_at": "Ngày kiểm tra",
    "source_id_faq": "Mã câu hỏi",
    "question": "Câu hỏi",
    "answer": "Trả lời",
    "topic": "Chủ đề",
    "title": "Tiêu đề",
    "source_url": "Đường dẫn nguồn",
    "number": "Số ký hiệu",
    "issuer": "Cơ quan ban hành",
    "issued_on": "Ngày ban hành",
    "province": "Tỉnh, thành phố",
    "year": "Năm",
    "source_file": "Tệp nguồn",
}
METHODS = {
    "truc_tiep": "Nộp trực tiếp",
    "truc_tuyen": "Nộp trực tuyến",
    "buu_chinh": "Qua bưu chính",
}
TIME_UNITS = {
    "working_day": "ngày làm việc",
    "day": "ngày",
    "hour": "giờ",
    "month": "tháng",
    "year": "năm",
    "other": "",
}
ONLINE_LEVELS = {"none": "Không có", "mot_phan": "Một phần", "toan_trinh": "Toàn trình"}


def fee_text(fee: dict[str, Any]) -> str:
    """One fee as a line: "Lệ phí: 35.000 đồng (ghi chú)"."""
    if fee.get("currency") not in ("VND", None) and fee.get("foreign_amount") is not None:
        amount = f"{fee['foreign_amount']:g} {fee['currency']}"
    elif fee.get("amount_vnd") is not None:
        amount = (
            "Miễn phí" if fee["amount_vnd"] == 0 else f"{format_vnd(int(fee['amount_vnd']))} đồng"
        )
    else:
        amount = "không ghi số tiền"
    text = f"{fee.get('kind') or 'Phí, lệ phí'}: {amount}"
    if fee.get("description"):
        text += f" ({fee['description']})"
    return text


def time_text(channel: dict[str, Any]) -> str:
    """A channel's processing time as staff read it."""
    value = channel.get("time_value")
    if value is not None:
        unit = TIME_UNITS.get(str(channel.get("time_unit") or ""), "")
        number = f"{value:g}" if isinstance(value, float) else str(value)
        return f"{number} {unit}".strip()
    return str(channel.get("time_text") or "")


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return "\n".join(_text(v) for v in value)
    if isinstance(value, bool):
        return "có" if value else "không"
    return str(value)


def _sections(sections: list[dict[str, Any]], path: str = "") -> dict[str, str]:
    """A plan's body as ``{"Nội dung › 2.1": "1. heading\ntext\ncells | …"}`` in reading
    order; the path counts sections (1-based) so each passage has its own line."""
    out: dict[str, str] = {}
    for i, section in enumerate(sections, start=1):
        where = f"{path}.{i}" if path else str(i)
        head = " ".join(p for p in (section.get("marker", ""), section.get("heading", "")) if p)
        lines = [head, str(section.get("text") or "")]
        lines += [" | ".join(cells) for cells in section.get("rows") or []]
        out[f"Nội dung › {where}"] = "\n".join(line for line in lines if line)
        out.update(_sections(section.get("children") or [], where))
    return out


def readable(kind: str, data: dict[str, Any]) -> dict[str, str]:
    """``{label: text}`` of a record's canonical JSON, in display order."""
    out: dict[str, str] = {}
    for name, value in data.items():
        if name == "channels":
            for channel in value or []:
                method = METHODS.get(str(channel.get("method")), str(channel.get("method")))
                out[f"{method} › Thời hạn giải quyết"] = time_text(channel)
                if channel.get("description"):
                    out[f"{method} › Mô tả"] = str(channel["description"])
                for i, fee in enumerate(channel.get("fees") or [], start=1):
                    out[f"{method} › Phí, lệ phí {i}"] = fee_text(fee)
            continue
        if name == "documents":
            for i, doc in enumerate(value or [], start=1):
                counts = []
                if doc.get("originals"):
                    counts.append(f"{doc['originals']} bản chính")
                if doc.get("copies"):
                    counts.append(f"{doc['copies']} bản sao")
                if doc.get("required") is not None:
                    counts.append("bắt buộc" if doc["required"] else "không bắt buộc")
                if doc.get("form_name"):
                    counts.append(f"mẫu: {doc['form_name']}")
                suffix = f" ({', '.join(counts)})" if counts else ""
                case = f"[{doc['case']}] " if doc.get("case") else ""
                out[f"Thành phần hồ sơ {i}"] = f"{case}{doc.get('name', '')}{suffix}"
            continue
        if name == "legal_bases":
            for i, basis in enumerate(value or [], start=1):
                out[f"Căn cứ pháp lý {i}"] = (
                    f"{basis.get('number', '')} {basis.get('title', '')}".strip()
                )
            continue
        if name == "sections":
            out.update(_sections(value or []))
            continue
        label = LABELS.get("source_id_faq" if (kind, name) == ("faq", "source_id") else name, name)
        if name == "online_level":
            value = ONLINE_LEVELS.get(str(value), value)
        out[label] = _text(value)
    return out


def readable_diff(
    kind: str, old: dict[str, Any] | None, new: dict[str, Any] | None
) -> list[tuple[str, str, str]]:
    """Lines that differ between two versions of a record: ``(label, old, new)``."""
    before = readable(kind, old or {})
    after = readable(kind, new or {})
    labels = list(after) + [label for label in before if label not in after]
    return [
        (label, before.get(label, ""), after.get(label, ""))
        for label in labels
        if before.get(label, "") != after.get(label, "")
    ]
