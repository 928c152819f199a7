"""Turn a plan's text into a tree of :class:`PlanSection` nodes.

The pipeline is ``split_blocks`` (raw text → cleaned lines and tables) → ``join_wrapped``
(hard-wrapped lines glued back into logical lines) → ``build_sections`` (logical lines →
section tree). Readers for other formats (docx) produce the same :class:`Line` /
:class:`Table` blocks, so every format shares one tree builder. Nothing here knows about
plan metadata; :mod:`knowledge.importers.plans` does that.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Literal

from knowledge.records import PlanSection


@dataclass(frozen=True)
class Line:
    """One cleaned source line (``""`` for a blank one).

    ``number`` is the 1-based source line (or docx block) for error messages; ``hashes``
    counts the leading ``#`` of a markdown heading (0 for ordinary lines).
    """

    text: str
    number: int
    hashes: int = 0


@dataclass(frozen=True)
class Table:
    """A table found in the source, as rows of cleaned cell strings (first row = header)."""

    rows: list[list[str]]
    number: int


Block = Line | Table


@dataclass(frozen=True)
class Item:
    """A line that opens a numbered or bulleted section."""

    marker: str
    rank: int
    rest: str


# Ranks order the nesting: a node becomes the child of the nearest open node with a
# smaller rank. Appendix/recipient blocks sit above everything so their content nests in
# them; plain paragraphs sit below everything so nothing nests in them.
RANK_CONTAINER = 0
RANK_ROMAN, RANK_ARABIC, RANK_LETTER, RANK_DASH, RANK_PLUS = 10, 20, 30, 40, 50
RANK_PARAGRAPH = 100

_ROMAN = re.compile(r"^(?P<m>(?=[IVX])X{0,3}(?:IX|IV|V?I{0,3})\.)\s*(?P<rest>[^\d\s].*)$")
# "1." / "1)" / "1.2." — a bare "05 tin" or "2023 được" (wrapped text) is not an item.
_ARABIC = re.compile(r"^(?P<m>\d{1,2}(?:\.\d{1,2})*[.)]|\d{1,2}(?:\.\d{1,2})+)\s+(?P<rest>\S.*)$")
_LETTER = re.compile(r"^(?P<m>[a-zđ]\))\s*(?P<rest>\S.*)$")
_DASH = re.compile(r"^(?:[-–—•]|\*(?=\s))\s*(?P<rest>[^-\s].*)$")
_PLUS = re.compile(r"^\+\s*(?P<rest>\S.*)$")
_APPENDIX = re.compile(
    r"^(?P<m>phụ lục(?:\s+(?:số\s+)?(?:[IVX]+|\d+))?)\s*(?:[:.\-–]\s*(?P<rest>.*))?$",
    re.IGNORECASE,
)
_RECIPIENTS = re.compile(r"^Nơi nhận\s*:?\s*$", re.IGNORECASE)
_CLOSING = re.compile(r"^Trên đây là\b")
_HEADING = re.compile(r"^(#{1,6})\s+(.*)$")
_TAG = re.compile(r"</?(?:b|strong|i|em|u|span)(?:\s[^>]*)?>", re.IGNORECASE)
_BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)
_SPACE = re.compile(r"\s+")
_NOISE = re.compile(r"^(?:[-_*=]{3,}|[-–]?\s*\d{1,3}\s*[-–]?)$")
_PIPE_RULE = re.compile(r"^\|?\s*:?-{3,}:?\s*(?:\|\s*:?-{3,}:?\s*)*\|?$")
_CELL_LINE = re.compile(r"^ *\t[^\t]*\S[^\t]*$")
_TERMINATORS = (".", ":", ";", "!", "?", "…")
#: A wrapped PDF line fills the page width; a shorter line ending without punctuation is a
#: heading, so a capitalised line after it starts something new.
WRAP_WIDTH = 50


def clean_text(raw: str) -> str:
    """Strip inline markup (``**``, ``<b>``, whole-line italics) and collapse whitespace."""
    # Decomposed diacritics (macOS, some PDF/Word exports) would defeat every pattern.
    text = _BREAK.sub(" ", unicodedata.normalize("NFC", raw))
    text = _TAG.sub("", text).replace("**", "").replace("__", "")
    text = _SPACE.sub(" ", text).strip()
    # A line wrapped in *italics* (e.g. "*(Có Phụ lục kèm theo)*") keeps only its words;
    # "* item" (a markdown bullet) keeps its star for the bullet rule.
    if len(text) > 2 and text[0] == "*" and text[-1] == "*" and text[1] != " ":
        text = text.strip("*").strip()
    return text


def make_line(raw: str, number: int) -> Line:
    """Clean one raw line, remembering a markdown heading's level.

    Page numbers ("2", "- 2 -") and rules ("---") become blank lines: left as text they
    would be glued into the sentence that a page break interrupted.
    """
    stripped = raw.strip()
    if _NOISE.match(stripped):
        return Line("", number)
    heading = _HEADING.match(stripped)
    if heading:
        return Line(clean_text(heading.group(2)), number, len(heading.group(1)))
    return Line(clean_text(stripped), number)


def is_upper(text: str) -> bool:
    """All-capitals text (headings, agency names, signature titles)."""
    letters = [c for c in text if c.isalpha()]
    return len(letters) >= 3 and all(c.isupper() for c in letters)


def match_item(line: Line) -> Item | None:
    """The section this line opens, or ``None`` for prose."""
    text = line.text
    for pattern, rank in ((_ROMAN, RANK_ROMAN), (_ARABIC, RANK_ARABIC), (_LETTER, RANK_LETTER)):
        found = pattern.match(text)
        if found:
            marker = found.group("m")
            # "1.2." nests below "1."; one rank step per extra level keeps it above "a)".
            return Item(marker, rank + marker.rstrip(".)").count("."), found.group("rest"))
    if (found := _DASH.match(text)) is not None:
        return Item("-", RANK_DASH, found.group("rest"))
    if (found := _PLUS.match(text)) is not None:
        return Item("+", RANK_PLUS, found.group("rest"))
    if line.hashes:
        return Item("#" * line.hashes, line.hashes, text)
    return None


def is_special(text: str) -> bool:
    """Lines that always start something new: appendix, recipients, closing sentence."""
    return bool(_APPENDIX.match(text) or _RECIPIENTS.match(text) or _CLOSING.match(text))


def normalise_table(rows: list[list[str]]) -> list[list[str]]:
    """Drop empty rows and repeated headers; pad or trim rows to the header's width.

    Tables split across PDF pages repeat their header row; keeping only the first makes
    the pieces one table again.
    """
    rows = [row for row in rows if any(row)]
    if not rows:
        return []
    header, width = rows[0], len(rows[0])
    result = [header]
    for row in rows[1:]:
        if row == header:
            continue
        while len(row) > width and not row[-1]:
            row = row[:-1]
        result.append(row + [""] * (width - len(row)))
    return result


def _next_content(raw: Sequence[str], start: int) -> int:
    index = start
    while index < len(raw) and not raw[index].strip():
        index += 1
    return index


def _read_tsv(raw: Sequence[str], start: int) -> tuple[Table, int]:
    """Tab-separated rows; blank lines between them are page breaks, not the table's end."""
    rows: list[list[str]] = []
    index = start
    while index < len(raw):
        if "\t" in raw[index] and raw[index].strip():
            rows.append([clean_text(cell) for cell in raw[index].split("\t")])
            index += 1
            continue
        after = _next_content(raw, index)
        if after > index and after < len(raw) and "\t" in raw[after]:
            index = after
            continue
        break
    return Table(normalise_table(rows), start + 1), index


def _read_pipes(raw: Sequence[str], start: int) -> tuple[Table, int]:
    """A markdown pipe table (``| a | b |``), skipping its ``|---|`` rule."""
    rows: list[list[str]] = []
    index = start
    while index < len(raw) and raw[index].strip().startswith("|"):
        line = raw[index].strip()
        if not _PIPE_RULE.match(line):
            rows.append([clean_text(cell) for cell in line.strip("|").split("|")])
        index += 1
    return Table(normalise_table(rows), start + 1), index


def _read_indented(raw: Sequence[str], start: int) -> tuple[Table | None, int]:
    """A table written one cell per tab-indented line, rows separated by blank lines.

    Seed 004 looks like this: each cell starts with a tab, a cell's text may wrap onto
    untabbed lines (even across a blank line), and a blank line before a tabbed line
    ends the row. The first row fixes the width; a first row of one cell is just an
    indented line (a letterhead, "Nơi nhận:"), so ``None`` is returned for it.
    """
    rows: list[list[str]] = []
    cells: list[list[str]] = []
    index = start

    def finish_row() -> None:
        if cells:
            rows.append([clean_text(" ".join(parts)) for parts in cells])
            cells.clear()

    while index < len(raw):
        line = raw[index]
        if _CELL_LINE.match(line):
            cells.append([line.strip()])
        elif line.strip():
            cells[-1].append(line.strip())
        else:
            after = _next_content(raw, index)
            if after < len(raw) and _CELL_LINE.match(raw[after]):
                finish_row()
            elif not (rows and cells and len(cells) < len(rows[0]) and after < len(raw)):
                break
            if len(rows) == 1 and len(rows[0]) < 2:
                return None, start
            index = after
            continue
        index += 1
    finish_row()
    if not rows or len(rows[0]) < 2:
        return None, start
    return Table(normalise_table(rows), start + 1), index


def split_blocks(text: str) -> list[Block]:
    """Split raw plan text into cleaned lines and tables."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    blocks: list[Block] = []
    index, layout = 0, False
    while index < len(lines):
        line = lines[index]
        fields = [f for f in line.split("\t") if f.strip()]
        layout = layout and bool(fields)
        if "\t" in line.strip() and _RECIPIENTS.match(clean_text(fields[0])):
            layout = True
        if layout:
            # Tab-aligned two-column block: recipients on the left, the signer (dropped
            # anyway) on the right. Not a table: keep the left column as lines.
            blocks.append(make_line(fields[0], index + 1))
            index += 1
            continue
        table: Table | None = None
        end = index + 1
        if "\t" in line.strip():
            table, end = _read_tsv(lines, index)
        elif line.strip().startswith("|"):
            table, end = _read_pipes(lines, index)
        elif _CELL_LINE.match(line):
            table, end = _read_indented(lines, index)
        # A lone row is a layout artefact (tab-aligned text), not a table.
        if table is not None and len(table.rows) >= 2:
            blocks.append(table)
            index = end
        else:
            blocks.append(make_line(line.replace("\t", " "), index + 1))
            index += 1
    return blocks


def _continues(prev: Line, last_physical: str, line: Line, gap: bool) -> bool:
    """Is ``line`` the hard-wrapped rest of ``prev`` rather than a new paragraph?"""
    if line.hashes or prev.hashes or match_item(line) is not None or is_special(line.text):
        return False
    if _APPENDIX.match(prev.text) or _RECIPIENTS.match(prev.text):
        return False
    if line.text[0].islower():
        # Vietnamese sentences and list items start with a capital, so lowercase text
        # continues the previous line, even after ";" or blank lines left by a page break.
        return True
    if gap or prev.text.endswith(_TERMINATORS) or is_upper(prev.text):
        return False
    return len(last_physical) >= WRAP_WIDTH


def join_wrapped(blocks: Sequence[Block]) -> list[Block]:
    """Re-join hard-wrapped lines; drop blank lines (they have done their job)."""
    result: list[Block] = []
    gap, last_physical = False, ""
    for block in blocks:
        if isinstance(block, Table):
            result.append(block)
            gap, last_physical = False, ""
            continue
        if not block.text:
            gap = True
            continue
        prev = result[-1] if result else None
        if isinstance(prev, Line) and _continues(prev, last_physical, block, gap):
            result[-1] = Line(f"{prev.text} {block.text}", prev.number, prev.hashes)
        else:
            result.append(block)
        gap, last_physical = False, block.text
    return result


def _looks_like_signature(text: str) -> bool:
    """Signer titles ("KT. GIÁM ĐỐC"), signer names, "(Đã ký)" after the recipients."""
    if is_upper(text) or (text.startswith("(") and text.endswith(")") and len(text) < 40):
        return True
    words = text.split()
    return 2 <= len(words) <= 6 and all(w[:1].isupper() and w.isalpha() for w in words)


@dataclass
class _Builder:
    """Stack-based tree builder; one instance per document."""

    roots: list[PlanSection] = field(default_factory=list)
    stack: list[tuple[int, PlanSection]] = field(default_factory=list)
    mode: Literal["body", "recipients", "signature"] = "body"
    caption_for: PlanSection | None = None

    def open(self, rank: int, node: PlanSection, *, top: bool = False) -> None:
        if top:
            self.stack.clear()
        while self.stack and self.stack[-1][0] >= rank:
            self.stack.pop()
        siblings = self.stack[-1][1].children if self.stack else self.roots
        siblings.append(node)
        self.stack.append((rank, node))

    def add_table(self, table: Table) -> None:
        if self.mode != "body":
            self.mode = "body"
            self.stack.clear()
        self.caption_for = None
        siblings = self.stack[-1][1].children if self.stack else self.roots
        siblings.append(PlanSection("table", "", rows=table.rows))

    def add_line(self, line: Line) -> None:
        text, item = line.text, match_item(line)
        appendix = _APPENDIX.match(text)
        if appendix:
            node = PlanSection(appendix.group("m"), appendix.group("rest") or "")
            self.open(RANK_CONTAINER, node, top=True)
            # The caption ("NỘI DUNG VÀ HÌNH THỨC ...") usually sits on the next line.
            self.caption_for = None if node.heading else node
            self.mode = "body"
            return
        if _RECIPIENTS.match(text):
            self.open(RANK_CONTAINER, PlanSection("", "Nơi nhận"), top=True)
            self.mode = "recipients"
            return
        if self.mode == "recipients":
            if item is not None and item.rank >= RANK_DASH:
                self.open(item.rank, PlanSection(item.marker, item.rest))
                return
            self.mode = "signature"
        if self.mode == "signature":
            # Signer blocks are not plan content; anything else ends the block.
            if item is None and _looks_like_signature(text):
                return
            self.mode = "body"
            self.stack.clear()
        if _CLOSING.match(text):
            self.open(RANK_PARAGRAPH, PlanSection("", text), top=True)
        elif item is not None:
            self.caption_for = None
            self.open(item.rank, PlanSection(item.marker, item.rest))
        elif self.caption_for is not None:
            self.caption_for.heading, self.caption_for = text, None
        elif self.stack:
            node = self.stack[-1][1]
            node.text = f"{node.text}\n{text}" if node.text else text
        else:
            self.open(RANK_PARAGRAPH, PlanSection("", text))


def build_sections(blocks: Sequence[Block]) -> list[PlanSection]:
    """Build the section tree from a plan body (blocks after the title)."""
    builder = _Builder()
    for block in join_wrapped(blocks):
        if isinstance(block, Table):
            builder.add_table(block)
        else:
            builder.add_line(block)
    return builder.roots


def iter_texts(sections: Sequence[PlanSection]) -> Iterator[str]:
    """Every heading and prose line of the tree, in reading order (tables skipped)."""
    for node in sections:
        if node.marker == "table":
            continue
        yield node.heading
        yield from (part for part in node.text.split("\n") if part)
        yield from iter_texts(node.children)
