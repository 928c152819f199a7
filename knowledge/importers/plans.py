"""Importer for plan documents (kế hoạch), e.g. CCHC communication plans.

``read_plan_file`` reads ``.txt``/``.md``/``.docx``/``.pdf``; ``parse_plan_text`` parses
text. Both return :class:`~knowledge.records.PlanData` with the section tree built by
:mod:`knowledge.importers.plan_tree` and the plan's number, issuer, date, year and
province read from the text (letterhead, appendix caption, opening and closing
sentences). Facts the text lacks come from a :class:`PlanMetadata`; the bundled seeds
have theirs in :data:`SEED_METADATA`. Anything unusable raises
:class:`~knowledge.errors.ImportFileError` instead of returning a half-parsed plan.
"""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import docx
from docx.opc.exceptions import PackageNotFoundError
from docx.table import Table as DocxTable
from pypdf import PdfReader
from pypdf.errors import PdfReadError

from knowledge.errors import ImportFileError
from knowledge.importers.plan_tree import (
    RANK_ROMAN,
    Block,
    Line,
    Table,
    build_sections,
    clean_text,
    is_upper,
    iter_texts,
    make_line,
    match_item,
    normalise_table,
    split_blocks,
)
from knowledge.records import PlanData


@dataclass(frozen=True)
class PlanMetadata:
    """Facts about a plan supplied from outside its text; ``None`` means unknown."""

    number: str | None = None
    issuer: str | None = None
    issued_on: dt.date | None = None
    province: str | None = None
    year: int | None = None


#: What ``data/seeds/README.md`` states about each bundled seed. Used only where the
#: seed's own text lacks a fact (e.g. seed 002 has no letterhead at all).
SEED_METADATA: dict[str, PlanMetadata] = {
    "000_18ac861e3429d323.txt": PlanMetadata(
        "733/KH-STP", "Sở Tư pháp Hà Tĩnh", dt.date(2019, 12, 30), "Hà Tĩnh", 2020
    ),
    "001_b4bf8d82e268aa69.txt": PlanMetadata(
        "152/KH-UBND", "UBND huyện Cẩm Xuyên", dt.date(2021, 1, 20), "Hà Tĩnh", 2021
    ),
    "002_ea4846b3744c1f6a.txt": PlanMetadata(
        None, "Sở Tư pháp Bình Thuận", None, "Bình Thuận", 2023
    ),
    "003_b2065d14729f10f5.txt": PlanMetadata(None, "Sở Tư pháp An Giang", None, "An Giang", 2025),
    "004_5cc6c30e6988dc7d.txt": PlanMetadata(
        None, "Sở Tài nguyên và Môi trường Hà Tĩnh", None, "Hà Tĩnh", 2024
    ),
}

_AGENCY = r"(?:Sở|UBND|Ủy ban nhân dân|Uỷ ban nhân dân|Ban|Phòng|Văn phòng|Trung tâm|Cục|Bộ)\b"
# "Số: 152 /KH-UBND"; a blank number ("Số: /KH-STP", not yet assigned) yields n == "".
_NUMBER = re.compile(r"Số\s*:\s*(?P<n>\d*)\s*/\s*(?P<s>[0-9A-ZĐ][0-9A-ZĐ.\-]*)")
_PLACE_DATE = re.compile(
    r"(?P<place>[^\W\d_][^\d,;:()]{0,60}?),\s*ngày\s*(?P<d>\d{1,2})?\s*"
    r"tháng\s*(?P<m>\d{1,2})\s*năm\s*(?P<y>\d{4})"
)
_SLASH_DATE = re.compile(r"(\d{1,2})\s*/\s*(\d{1,2})\s*/\s*(\d{4})")
_PROVINCE_HEADER = re.compile(r"^(?:UBND|[ỦU]Y BAN NHÂN DÂN)\s+(?:TỈNH|THÀNH PHỐ)\s+(?P<p>.+)$")
_PROVINCE = re.compile(r"(?<!\w)(?:tỉnh|thành phố)\s+(?P<words>(?:\S+\s*){1,4})")
# The appendix caption names the plan itself: "(Ban hành kèm theo Kế hoạch số 733/KH-STP
# ngày 30/12/2019 của Sở Tư pháp)". Other "Kế hoạch số ..." mentions cite other plans.
_SELF_REF = re.compile(
    r"[Kk]èm theo Kế hoạch số\s*(?P<n>\d*)\s*/\s*(?P<s>[0-9A-ZĐ][0-9A-ZĐ\-]*)\s*"
    rf"ngày\s*(?P<date>[\d\s/]*)(?:của\s+(?P<issuer>{_AGENCY}[^)]*))?"
)
_CLOSING = re.compile(r"^Trên đây là (?:nội dung )?[Kk]ế hoạch (?P<rest>.+)$")
_INTRO = re.compile(
    rf"(?:^|[,;]\s*)(?P<issuer>{_AGENCY}[^,;]*?)\s+xây dựng\s+[Kk]ế hoạch(?P<what>[^:]*)"
)
_LAYOUT = re.compile(r"^(?:Số\s*:|CỘNG HÒA|CỘNG HOÀ|Nơi nhận)")
_TITLE_HEAD = re.compile(r"^kế hoạch\b[\s:.\-–]*(?P<rest>.*)$", re.IGNORECASE)
_YEAR = re.compile(r"năm\s+(\d{4})", re.IGNORECASE)
_INTRO_WORDS = ("Thực hiện", "Căn cứ")


@dataclass
class _Facts:
    """Metadata found in the text, before fallbacks."""

    number: str = ""
    issued_on: dt.date | None = None
    date_year: int | None = None
    place: str = ""
    header_province: str = ""
    issuers: list[str] = field(default_factory=list)
    years: list[int] = field(default_factory=list)
    provinces: Counter[str] = field(default_factory=Counter)
    closing_title: str = ""


def _capitalise(text: str) -> str:
    return text[:1].upper() + text[1:]


def _last_year(text: str) -> int | None:
    years = _YEAR.findall(text)
    return int(years[-1]) if years else None


def _date(day: str | None, month: str | None, year: str | None) -> dt.date | None:
    """A real date, or ``None`` when a part was left blank (unsigned drafts) or is invalid."""
    if not (day and month and year):
        return None
    try:
        return dt.date(int(year), int(month), int(day))
    except ValueError:
        return None


def _starts_body(line: Line) -> bool:
    item = match_item(line)
    return (item is not None and item.rank >= RANK_ROMAN) or line.text.startswith(_INTRO_WORDS)


def _is_dateline(line: Line) -> bool:
    return not line.text or bool(_NUMBER.search(line.text) or _PLACE_DATE.search(line.text))


def _is_letterhead(line: Line) -> bool:
    """Lines of the letterhead block: agency, number, motto, place and date."""
    text = line.text
    return (
        _is_dateline(line)
        or text.startswith(("CỘNG HÒA", "CỘNG HOÀ", "Độc lập"))
        or (is_upper(text) and match_item(line) is None)
        or set(text) <= set("-_=*. ")
    )


def _split_title(blocks: Sequence[Block]) -> tuple[str, int]:
    """The plan's title and the index where its body starts.

    The title is the text after a "KẾ HOẠCH" line (same line or the following lines up
    to a blank), or a markdown heading "# Kế hoạch ...". Without one, the body starts
    after the letterhead lines and the title is left empty.
    """
    for index, block in enumerate(blocks):
        if isinstance(block, Table):
            break
        head = _TITLE_HEAD.match(block.text)
        if head and (block.text.startswith("KẾ HOẠCH") or block.hashes):
            rest = head.group("rest")
            parts, end = ([rest] if rest else []), index + 1
            # A markdown "# Kế hoạch X" heading is complete; "KẾ HOẠCH" alone is followed
            # by the title, which may wrap over several lines (seed 004).
            while not (rest and block.hashes) and end < len(blocks) and len(parts) < 4:
                nxt = blocks[end]
                if isinstance(nxt, Table) or _starts_body(nxt) or (not nxt.text and parts):
                    break
                if nxt.text:
                    parts.append(nxt.text)
                end += 1
            # Markdown files may put "Số:" and the date under the title; they are still
            # letterhead, not body.
            while (
                end < len(blocks) and isinstance(line := blocks[end], Line) and _is_dateline(line)
            ):
                end += 1
            return _capitalise(" ".join(parts).strip(" .:-")), end
        if _starts_body(block):
            break
    end = 0
    while end < len(blocks) and isinstance(line := blocks[end], Line) and _is_letterhead(line):
        end += 1
    return "", end


def _place(raw: str) -> str:
    """The place name before ", ngày": its trailing capitalised words ("Hà Tĩnh")."""
    words: list[str] = []
    for word in reversed(raw.split()):
        if not word.istitle() or len(words) == 4:
            break
        words.insert(0, word)
    return " ".join(words)


def _read_letterhead(facts: _Facts, preamble: Sequence[Line]) -> None:
    for line in preamble:
        if not facts.number and (number := _NUMBER.search(line.text)) and number.group("n"):
            facts.number = f"{number.group('n')}/{number.group('s')}"
        if not facts.place and (when := _PLACE_DATE.search(line.text)):
            facts.place = _place(when.group("place"))
            facts.issued_on = _date(when.group("d"), when.group("m"), when.group("y"))
            facts.date_year = int(when.group("y"))
        if not facts.header_province and (head := _PROVINCE_HEADER.match(line.text)):
            # PDF text may run the motto onto the same line: "UBND TỈNH X CỘNG HÒA ...".
            facts.header_province = head.group("p").split("CỘNG H")[0].strip().title()


def _read_body(facts: _Facts, texts: Sequence[str]) -> None:
    for text in texts:
        if (ref := _SELF_REF.search(text)) is not None:
            if ref.group("n") and not facts.number:
                facts.number = f"{ref.group('n')}/{ref.group('s')}"
            if (when := _SLASH_DATE.search(ref.group("date"))) and facts.issued_on is None:
                facts.issued_on = _date(*when.groups())
                facts.date_year = facts.date_year or int(when.group(3))
            if ref.group("issuer"):
                facts.issuers.append(ref.group("issuer").strip())
        if (closing := _CLOSING.match(text)) is not None:
            # "Trên đây là Kế hoạch <what> của <issuer>, yêu cầu ..."
            what, _, issuer = closing.group("rest").partition(" của ")
            what = re.split(r"\./\.|[,;]", what)[0].strip(" .")
            facts.closing_title = facts.closing_title or _capitalise(what)
            if (year := _last_year(what)) is not None:
                facts.years.append(year)
            if re.match(_AGENCY, issuer):
                facts.issuers.append(re.split(r"[,.;/]", issuer)[0].strip())
        if (intro := _INTRO.search(text)) is not None:
            facts.issuers.append(intro.group("issuer").strip())
            if (year := _last_year(intro.group("what"))) is not None:
                facts.years.append(year)
        for found in _PROVINCE.finditer(text):
            words: list[str] = []
            for word in found.group("words").split():
                name = word.strip(".,;:()/")
                if not (name.istitle() and name.isalpha()):
                    break
                words.append(name)
                if name != word:  # punctuation ends the name ("tỉnh Kiên Giang./.")
                    break
            if words:
                facts.provinces[" ".join(words)] += 1


def _province(facts: _Facts, fallback: str | None) -> str:
    """Letterhead province, else the signing place if the text calls it a province, else
    the province the text names most often, else ``fallback``, else the signing place
    (which may be a district or commune, hence last)."""
    if facts.header_province:
        return facts.header_province
    if facts.place and facts.place in facts.provinces:
        return facts.place
    if facts.provinces:
        return facts.provinces.most_common(1)[0][0]
    return fallback or facts.place


def _qualify(issuer: str, province: str) -> str:
    """Name a provincial body with its province: "Sở Tư pháp" → "Sở Tư pháp Hà Tĩnh"."""
    if not issuer or not province or province in issuer:
        return issuer
    if issuer.startswith("Sở ") or issuer.endswith((" tỉnh", " thành phố")):
        return f"{issuer} {province}"
    return issuer


def _build_plan(
    blocks: Sequence[Block], *, where: str, source_file: str, metadata: PlanMetadata | None
) -> PlanData:
    if not any(isinstance(block, Table) or block.text for block in blocks):
        raise ImportFileError(where, None, "file", "tệp rỗng, không có nội dung")
    title, body_start = _split_title(blocks)
    sections = build_sections(blocks[body_start:])
    facts = _Facts()
    _read_letterhead(facts, [b for b in blocks[:body_start] if isinstance(b, Line)])
    _read_body(facts, list(iter_texts(sections)))
    if not title:
        title = facts.closing_title
    if not title:
        raise ImportFileError(
            where, None, "title", "không tìm thấy tên kế hoạch (dòng “KẾ HOẠCH” và tiêu đề)"
        )
    if not sections:
        raise ImportFileError(where, None, "sections", "không tìm thấy nội dung kế hoạch")
    meta = metadata or PlanMetadata()
    # The year is voted on by the title, the opening and closing sentences and the
    # appendix caption: seed 004's title says 2023 while everything else says 2024.
    votes = [y for y in [_last_year(title), *facts.years] if y is not None]
    captions = [n.heading for n in sections if n.marker.lower().startswith("phụ lục")]
    votes += [y for caption in captions if (y := _last_year(caption)) is not None]
    year = Counter(votes).most_common(1)[0][0] if votes else facts.date_year or meta.year
    province = _province(facts, meta.province)
    issuer = _qualify(max(facts.issuers, key=len, default=""), province)
    if meta.issuer and (not issuer or (meta.issuer.startswith(issuer) and meta.issuer != issuer)):
        issuer = meta.issuer  # the text only had a vaguer name ("UBND huyện")
    return PlanData(
        number=facts.number or meta.number or "",
        title=title,
        issuer=issuer,
        issued_on=facts.issued_on or meta.issued_on,
        province=province,
        year=year,
        sections=sections,
        source_file=source_file,
    )


def parse_plan_text(
    text: str, *, source_file: str = "", metadata: PlanMetadata | None = None
) -> PlanData:
    """Parse a plan's text (plain or markdown) into :class:`PlanData`.

    Raises :class:`ImportFileError` when the text is empty, has no recognisable title or
    no body.
    """
    where = source_file or "<văn bản>"
    return _build_plan(split_blocks(text), where=where, source_file=source_file, metadata=metadata)


def _text_blocks(path: Path) -> list[Block]:
    data = path.read_bytes()
    try:
        return split_blocks(data.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ImportFileError(str(path), line, "encoding", "tệp không phải UTF-8") from exc


def _docx_rows(table: DocxTable) -> list[list[str]]:
    """Raw cell texts row by row; merged cells keep their text in the first position only."""
    rows: list[list[str]] = []
    above: list[object] = []
    for row in table.rows:
        cells: list[str] = []
        seen: list[object] = []
        for index, cell in enumerate(row.cells):
            # python-docx repeats a merged cell for every grid position it covers; blank
            # the repeats like the text seeds do, so column counts stay right.
            tc = cell._tc
            repeat = (seen and seen[-1] is tc) or (index < len(above) and above[index] is tc)
            cells.append("" if repeat else cell.text)
            seen.append(tc)
        rows.append(cells)
        above = seen
    return rows


def _is_layout(rows: list[list[str]]) -> bool:
    """Is this table the letterhead or the recipients/signature block?"""
    pieces = [clean_text(p) for row in rows for cell in row for p in cell.split("\n")]
    return any(_LAYOUT.match(p) or _PLACE_DATE.search(p) for p in pieces)


def _docx_blocks(path: Path) -> list[Block]:
    """Paragraphs and tables in document order; heading styles become markdown headings."""
    document = docx.Document(str(path))
    blocks: list[Block] = []
    for number, item in enumerate(document.iter_inner_content(), start=1):
        pieces: list[str] = []
        if isinstance(item, DocxTable):
            rows = _docx_rows(item)
            if not _is_layout(rows):
                if table := normalise_table([[clean_text(c) for c in row] for row in rows]):
                    blocks.append(Table(table, number))
                continue
            # Word plans put the letterhead and the signature in borderless tables; read
            # their cells as lines so the number, date and recipients are found.
            pieces = [p for row in rows for cell in row for p in [*cell.split("\n"), ""]]
        else:
            style = item.style.name if item.style is not None and item.style.name else ""
            heading = re.fullmatch(r"Heading (\d)", style)
            level = 1 if style == "Title" else int(heading.group(1)) if heading else 0
            bullet = "- " if style.startswith("List Bullet") else ""
            for piece in item.text.split("\n"):  # soft line breaks inside one paragraph
                pieces.append(
                    "#" * level + " " + piece if level and piece.strip() else bullet + piece
                )
        blocks.extend(make_line(piece, number) for piece in pieces)
        # Word paragraphs are real paragraphs: a blank line keeps them from being glued
        # together by the hard-wrap rule meant for PDF text.
        blocks.append(Line("", number))
    return blocks


def _pdf_blocks(path: Path) -> list[Block]:
    reader = PdfReader(str(path))
    if reader.is_encrypted:
        raise ImportFileError(str(path), None, "file", "tệp PDF được mã hoá, không đọc được")
    text = "\n".join(page.extract_text() or "" for page in reader.pages)
    if not text.strip():
        raise ImportFileError(str(path), None, "file", "tệp PDF không có lớp chữ (bản quét?)")
    return split_blocks(text)


_READERS: dict[str, Callable[[Path], list[Block]]] = {
    ".txt": _text_blocks,
    ".md": _text_blocks,
    ".docx": _docx_blocks,
    ".pdf": _pdf_blocks,
}


def read_plan_file(path: Path, *, metadata: PlanMetadata | None = None) -> PlanData:
    """Read a plan from ``.txt``, ``.md``, ``.docx`` or ``.pdf``.

    ``metadata`` fills facts the text lacks; when omitted, a bundled seed's entry in
    :data:`SEED_METADATA` is used. ``source_file`` is the file's name. Raises
    :class:`ImportFileError` for an unsupported suffix, an unreadable or empty file, or
    a plan without a recognisable title.
    """
    reader = _READERS.get(path.suffix.lower())
    if reader is None:
        suffix = path.suffix or "(trống)"
        raise ImportFileError(str(path), None, "file", f"kế hoạch không hỗ trợ đuôi {suffix}")
    if not path.is_file():
        raise ImportFileError(str(path), None, "file", "không tìm thấy tệp")
    if path.stat().st_size == 0:
        raise ImportFileError(str(path), None, "file", "tệp rỗng, không có nội dung")
    try:
        blocks = reader(path)
    except (
        OSError,
        ValueError,
        KeyError,
        PdfReadError,
        PackageNotFoundError,
        zipfile.BadZipFile,
    ) as exc:
        # Broken docx/pdf files surface as any of these from python-docx, zipfile or pypdf.
        raise ImportFileError(str(path), None, "file", f"không đọc được tệp: {exc}") from exc
    meta = metadata if metadata is not None else SEED_METADATA.get(path.name)
    return _build_plan(blocks, where=str(path), source_file=path.name, metadata=meta)
