"""Published records → chunks with provenance (record kind, id, revision, field).

Only short passages are embedded (a procedure's name and field, a FAQ question, a
plan section's heading and opening): on 2 CPU cores the packaged model embeds about
25 such passages a second, so embedding every field of every record would take half
an hour. Every chunk, embedded or not, goes into the keyword index.
"""

from __future__ import annotations

import re
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
                _join([_fee_words(f) for f in c.get("fees") or []]),
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


def _fee_words(fee: dict[str, Any]) -> str:
    """A fee as searchable words: kind, amount with its currency ("5 USD", "10.000 đồng")."""
    amount = ""
    if fee.get("currency", "VND") not in ("VND", "") and fee.get("foreign_amount") is not None:
        value = float(fee["foreign_amount"])
        amount = f"{int(value) if value.is_integer() else value} {fee['currency']}"
    elif fee.get("amount_vnd"):
        amount = f"{int(fee['amount_vnd']):,}".replace(",", ".") + " đồng"
    return _join([str(fee.get("kind") or ""), amount, str(fee.get("description") or "")], " ")


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
    """A plan's outline, then its content cut to the size that holds an answer.

    Fields (an address lists 1-based child positions from the top of the section tree:
    ``section:4.2`` is the 2nd child of the 4th top-level node; the engine resolves it
    in the same stored record):

    * ``outline``: number, title, issuer, year, opening paragraph and top-level headings;
    * ``section:<address>``: a section's own prose with its leaf items (bullets, numbered
      paragraphs); a section longer than :data:`PLAN_PASSAGE_CHARS` is cut at paragraph,
      then sentence boundaries into passages ``section:<address>/<n>`` (n from 1);
    * ``row:<table address>.<n>``: data row n of a table, each cell labelled with its
      column header (a continuation row inherits the cells the row above spans).

    Every passage's text starts with the plan's label and the heading path that leads to
    it, so a question's words find it whether they name the plan, the section or the fact.
    """
    title = record["title"]
    number = record.get("number") or ""
    year = str(record.get("year") or "")
    issuer = record.get("issuer", "")
    label = _join([f"Kế hoạch số {number}" if number else "Kế hoạch", title, issuer, year], " - ")
    short = _join([f"Kế hoạch số {number}" if number else "", issuer, year], " ")
    sections = record.get("sections") or []
    tops = [plan_label(n) for n in sections if n.get("marker") not in ("", "table", None)]
    opening = [n.get("heading", "") for n in sections if not n.get("marker")][:1]
    yield Chunk(
        chunk_id=f"plan:{key}#outline",
        kind="plan",
        record_id=key,
        title=title,
        field="outline",
        text=_join([label, *opening, _join(tops)], ". "),
        dense_text=_join([f"Kế hoạch {title}", short], " - ")[:DENSE_CHARS],
        revision=revision,
    )
    for field, path, body in plan_passages(sections):
        yield Chunk(
            chunk_id=f"plan:{key}#{field}",
            kind="plan",
            record_id=key,
            title=title,
            field=field,
            text=_join([label, _join(path, " > "), body], ". "),
            # A row's path is the appendix caption, the same for every row: leave it out.
            dense_text=_join(
                [short, path[-1] if path and field.startswith("section:") else "", body], ". "
            )[:DENSE_CHARS],
            revision=revision,
        )


#: Longest plan passage, in characters: about one paragraph, so that the words of a
#: question meet the sentence that answers it rather than a whole chapter.
PLAN_PASSAGE_CHARS = 500
#: A heading longer than this is a numbered paragraph: a path shows only its opening.
PLAN_LABEL_CHARS = 80
# A sentence ends at ". " (not after a bare number: "2. Trưởng phòng" is a list marker);
# a sentence still too long is cut after its clauses ("; ").
_SENTENCE_END = re.compile(r"(?<=[^\d\s][.!?])\s+")
_CLAUSE_END = re.compile(r"(?<=;)\s+")

Passage = tuple[str, list[str], str]


def plan_passages(sections: list[dict[str, Any]]) -> Iterator[Passage]:
    """``(field, heading path, text)`` of every answer-sized passage of a section tree.

    The recipients block ("Nơi nhận") and the closing sentence ("Trên đây là ...") hold
    no plan content and are skipped (the closing sentence is in the outline).
    """
    for position, node in enumerate(sections, start=1):
        heading = node.get("heading", "")
        if not node.get("marker") and (heading == "Nơi nhận" or heading.startswith("Trên đây là")):
            continue
        yield from _node_passages(node, (position,), [])


def plan_label(node: dict[str, Any]) -> str:
    """How a heading path names a node: marker and heading, long headings cut short."""
    heading = node.get("heading", "")
    if len(heading) > PLAN_LABEL_CHARS:
        heading = heading[:PLAN_LABEL_CHARS].rsplit(" ", 1)[0] + "…"
    marker = node.get("marker", "")
    return _join([marker if marker not in ("-", "+", "table") else "", heading], " ")


def _node_passages(
    node: dict[str, Any], here: tuple[int, ...], path: list[str]
) -> Iterator[Passage]:
    address = ".".join(map(str, here))
    if node.get("marker") == "table":
        rows = node.get("rows") or []
        for number, row in enumerate(plan_rows(rows), start=1):
            if row:
                yield f"row:{address}.{number}", path, row
        return
    # An unnumbered paragraph (the opening "Thực hiện Kế hoạch số ...") names no section.
    label = plan_label(node) if node.get("marker") else ""
    heading = node.get("heading", "")
    children = node.get("children") or []
    leaves = [plan_is_item(c) for c in children]
    parts: list[str] = []
    if heading and (len(heading) > PLAN_LABEL_CHARS or not node.get("marker")):
        parts.append(heading)  # a paragraph rather than a title: its words are content
    parts += [p for p in node.get("text", "").split("\n") if p]
    parts += [plan_item(c) for c, leaf in zip(children, leaves, strict=True) if leaf]
    passages = _windows(parts, PLAN_PASSAGE_CHARS)
    for number, body in enumerate(passages, start=1):
        suffix = f"/{number}" if len(passages) > 1 else ""
        yield f"section:{address}{suffix}", [*path, label], body
    for position, (child, leaf) in enumerate(zip(children, leaves, strict=True), start=1):
        if not leaf:
            yield from _node_passages(child, (*here, position), [*path, label])


def plan_is_item(node: dict[str, Any]) -> bool:
    """Is this node an item of its parent's passage rather than a section of its own?

    Items are childless bullets and numbered paragraphs; a childless node with a short
    title and prose of its own ("2. Kinh phí thực hiện" + its text) is a section.
    """
    if node.get("children") or node.get("marker") == "table":
        return False
    return not (node.get("text") and len(node.get("heading", "")) <= PLAN_LABEL_CHARS)


def plan_item(node: dict[str, Any]) -> str:
    """A leaf item as written: marker, heading and its own prose."""
    text = node.get("text", "").replace("\n", " ")
    return _join([node.get("marker", ""), node.get("heading", ""), text], " ")


def plan_rows(rows: list[list[str]]) -> list[str]:
    """Data rows of a table as ``"Header: cell; ..."`` ("" for an empty row).

    A row whose first cell (the item number) is empty continues the row above: the
    source merged its other empty cells with that row, so they are filled from it. A row
    with a single filled cell (a total line) is that cell alone.
    """
    if not rows:
        return []
    header = [_header_cell(cell) for cell in rows[0]]
    result: list[str] = []
    previous: list[str] = []
    for row in rows[1:]:
        if previous and not row[0]:
            row = [cell or above for cell, above in zip(row, previous, strict=False)]
        elif len(filled := [c for c in row if c]) == 1:
            result.append(filled[0])
            previous = []
            continue
        previous = row
        result.append(
            _join([f"{h}: {c}" if h else c for h, c in zip(header, row, strict=False) if c])
        )
    return result


def _header_cell(cell: str) -> str:
    """Column headers typed in capitals ("CƠ QUAN CHỦ TRÌ") read as "Cơ quan chủ trì"."""
    return cell[:1] + cell[1:].lower() if cell.isupper() and " " in cell else cell


def _windows(parts: list[str], limit: int) -> list[str]:
    """Consecutive parts joined into passages of at most ``limit`` characters.

    A part longer than the limit is cut at sentence ends, a sentence still longer at its
    clauses ("; "); a clause is never cut (that would part a subject from its fact).
    """
    pieces: list[str] = []
    for part in parts:
        for sentence in _SENTENCE_END.split(part) if len(part) > limit else [part]:
            pieces += _CLAUSE_END.split(sentence) if len(sentence) > limit else [sentence]
    passages: list[str] = []
    for piece in pieces:
        if passages and len(passages[-1]) + 1 + len(piece) <= limit:
            passages[-1] = f"{passages[-1]}\n{piece}"
        else:
            passages.append(piece)
    return passages


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
