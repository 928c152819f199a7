"""Published records → chunks with provenance (record kind, id, revision, field).

Only short passages are embedded (a procedure's name and field, a FAQ question, a
plan section's heading and opening): on 2 CPU cores the packaged model embeds about
25 such passages a second, so embedding every field of every record would take half
an hour. Every chunk, embedded or not, goes into the keyword index.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from indexer.glossary import Glossary

#: Longest text handed to the embedder, in characters (~50 tokens of Vietnamese).
DENSE_CHARS = 220
_METHODS = {"truc_tiep": "Trực tiếp", "truc_tuyen": "Trực tuyến", "buu_chinh": "Bưu chính"}
_ONLINE = {
    "toan_trinh": "dịch vụ công trực tuyến toàn trình mức độ 4",
    "mot_phan": "dịch vụ công trực tuyến một phần mức độ 3",
}


@dataclass(frozen=True)
class Chunk:
    """One searchable passage of one record.

    ``dense_text`` is what gets embedded ("" = keyword index only); ``text`` is what the
    keyword index sees.
    """

    chunk_id: str
    kind: str
    record_id: str
    title: str
    field: str
    text: str
    dense_text: str
    revision: int

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form for the generation's chunk store."""
        return {
            "chunk_id": self.chunk_id,
            "kind": self.kind,
            "record_id": self.record_id,
            "title": self.title,
            "field": self.field,
            "text": self.text,
            "dense_text": self.dense_text,
            "revision": self.revision,
        }


def _join(values: list[str], sep: str = "; ") -> str:
    return sep.join(v for v in values if v)


def procedure_chunks(record: dict[str, Any], revision: int, glossary: Glossary) -> Iterator[Chunk]:
    """Header passage plus one passage per aspect a citizen asks about."""
    code, name = record["code"], record["name"]
    aliases = glossary.aliases(name)
    fields = _join(record.get("fields") or [])
    header = _join(
        [
            name,
            fields,
            record.get("implementing_agencies", ""),
            _join(record.get("levels") or []),
            record.get("issuing_body", ""),
            _ONLINE.get(record.get("online_level", ""), ""),
            _join(aliases, " "),
        ],
        ". ",
    )
    dense = f"{name} ({fields})" if fields else name

    def chunk(field: str, text: str, dense_text: str = "") -> Chunk:
        return Chunk(
            chunk_id=f"procedure:{code}#{field}",
            kind="procedure",
            record_id=code,
            title=name,
            field=field,
            text=f"{name}. {text}" if field != "header" else text,
            dense_text=dense_text[:DENSE_CHARS],
            revision=revision,
        )

    yield chunk("header", header, dense)
    documents = _join([d["name"] for d in record.get("documents") or []])
    if documents:
        yield chunk("documents", "Thành phần hồ sơ: " + documents)
    if record.get("steps"):
        yield chunk("steps", "Trình tự thực hiện: " + _join(record["steps"], " "))
    channels = [
        _join(
            [
                _METHODS.get(c["method"], c["method"]),
                c.get("time_text", ""),
                _join([f"{f.get('kind', '')} {f.get('description', '')}" for f in c.get("fees")]),
            ],
            ", ",
        )
        for c in record.get("channels") or []
    ]
    if channels:
        yield chunk("channels", "Cách thức thực hiện, thời hạn, phí, lệ phí: " + _join(channels))
    legal = _join([f"{b['number']} {b.get('title', '')}" for b in record.get("legal_bases") or []])
    if legal:
        yield chunk("legal_bases", "Căn cứ pháp lý: " + legal)
    extra = _join([record.get("conditions", ""), _join(record.get("results") or [])], ". ")
    if extra:
        yield chunk("conditions", "Yêu cầu, điều kiện, kết quả: " + extra)


def faq_chunks(record: dict[str, Any], revision: int) -> Iterator[Chunk]:
    """A FAQ entry is one passage: the question (embedded) with its answer."""
    question = record["question"].rstrip(". ")
    yield Chunk(
        chunk_id=f"faq:{record['source_id']}#qa",
        kind="faq",
        record_id=record["source_id"],
        title=question,
        field="qa",
        text=f"{record.get('topic', '')}. {question}. {record['answer']}",
        dense_text=question[:DENSE_CHARS],
        revision=revision,
    )


def plan_chunks(record: dict[str, Any], key: str, revision: int) -> Iterator[Chunk]:
    """One passage per top-level section, and one per large sub-section (heading path)."""
    title = record["title"]
    label = _join([title, record.get("issuer", ""), str(record.get("year") or "")], " - ")
    passages: list[tuple[list[dict[str, Any]], str]] = []
    for top in record.get("sections") or []:
        children = top.get("children") or []
        big = [c for c in children if _is_big(c)]
        small = [c for c in children if not _is_big(c)]
        passages.append(([top], _flatten({**top, "children": small})))
        passages.extend(([top, child], _flatten(child)) for child in big)
    for number, (path, body) in enumerate(passages, start=1):
        heading = " > ".join(_join([n.get("marker", ""), n.get("heading", "")], " ") for n in path)
        yield Chunk(
            chunk_id=f"plan:{key}#s{number}",
            kind="plan",
            record_id=key,
            title=title,
            field=f"section:{heading}"[:200],
            text=f"{label}. {heading}. {body}",
            dense_text=f"{title}. {heading}. {body}"[:DENSE_CHARS],
            revision=revision,
        )


def _is_big(node: dict[str, Any]) -> bool:
    """A sub-section that deserves a passage of its own."""
    return bool(node.get("children")) or len(_flatten(node)) > 400


def _flatten(node: dict[str, Any]) -> str:
    parts = [node.get("heading", ""), node.get("text", "")]
    parts += [" | ".join(row) for row in node.get("rows") or []]
    parts += [_flatten(child) for child in node.get("children") or []]
    return " ".join(p for p in parts if p)


def hotline_chunks(record: dict[str, Any], key: str, revision: int) -> Iterator[Chunk]:
    """A hotline is one passage: who answers, where, and the word "đường dây nóng"."""
    name = record["name"]
    area = record.get("area", "")
    text = _join(["Đường dây nóng, số điện thoại hỗ trợ", name, area], ". ")
    yield Chunk(
        chunk_id=f"hotline:{key}#line",
        kind="hotline",
        record_id=key,
        title=name,
        field="line",
        text=text,
        dense_text=text[:DENSE_CHARS],
        revision=revision,
    )
