"""Parsers for the four flattened HTML tables of the national public-service portal crawl.

The ``dvcqg_bo_nganh_tthc`` crawl of ``dichvucong.gov.vn`` stores four table fields as the
text of every header and cell concatenated without separators ("...Mô tảTrực tuyến2 Ngày
làm việcMiễn phí..."). Cell boundaries are recovered from what each column can look like
(a method, a time, a fee, a quantity, a document number), since nothing else marks them.
No value is invented: numbers are returned only when the source literally shows them.
"""

from __future__ import annotations

import re
import unicodedata

from knowledge.amounts import parse_amount
from knowledge.fee_notes import with_facts
from knowledge.records import (
    ChannelData,
    ChannelMethod,
    DocumentData,
    FeeData,
    LegalBasisData,
    TimeUnit,
)

__all__ = ["parse_channels", "parse_documents", "parse_legal_bases", "parse_results"]

_EMPTY = ("", "Không có thông tin")
_CHARS = [chr(c) for c in range(0x41, 0x1F00)]
# ``re`` has no \p{Lu}; Vietnamese capitals (Đ, Ư, Ấ...) must be listed explicitly.
_UP = "[" + "".join(c for c in _CHARS if c.isalpha() and c.isupper()) + "]"
_LO = "[" + "".join(c for c in _CHARS if c.isalpha() and c.islower()) + "]"
# A VND amount: grouped with '.' or ',' (50.000 / 2,000,000) or plain digits (15000000),
# never a piece of a longer or malformed number ("10.000.0000 đồng" gives nothing).
_AMOUNT = r"(?:\d{1,3}(?:[.,]\d{3})+|\d+)(?!\d|[.,]\d)"
# The portal's fee cell often drops the thousands ("40 VNĐ" beside a note saying
# "40.000đ") or shows a USD figure as VND ("155 VNĐ ... 155 USD/thẻ"). No fee is below
# 1,000 đồng, so a smaller headline figure is not trusted: it keeps its words, no amount.
MIN_PLAUSIBLE_VND = 1000


def _clean(text: str) -> str:
    """NFC-normalise (the crawl mixes composed and decomposed accents) and strip."""
    return unicodedata.normalize("NFC", text).strip()


def _to_int(amount: str) -> int:
    """Read "2,000,000" / "50.000" / "15000000" with the one amount reader."""
    return int(parse_amount(amount).value)


_NOTE_USD = re.compile(r"(?<![\d.,])(\d+(?:[.,]\d+)?)\s*(?:USD|đô la Mỹ)", re.I)


# --- Channels (cách thức thực hiện) -------------------------------------------------------------

_METHODS: dict[str, ChannelMethod] = {
    "Trực tiếp": "truc_tiep",
    "Trực tuyến": "truc_tuyen",
    "Dịch vụ bưu chính": "buu_chinh",
}
_UNITS: dict[str, TimeUnit] = {
    "ngày làm việc": "working_day",
    "ngày": "day",
    "giờ": "hour",
    "tháng": "month",
    "năm": "year",
}
_METHOD_RE = "|".join(_METHODS)
_FEE_HEAD = (
    r"(?P<fee>Miễn phí|Không có thông tin|(?:(?P<label>Lệ phí|Phí) ?: ?)?(?P<amt>"
    + _AMOUNT
    + r") ?(?P<cur>Việt Nam Đồng|VNĐ|VND|Đồng|USD))"
)
# A row starts with a method name glued to a time cell and then a fee cell. Requiring the
# fee cell right after the time keeps "Trực tiếp tại ..." inside descriptions from being
# taken as a row. A unit-less time is matched lazily because the portal prints bare
# numbers ("1") that are glued to numeric fees ("120 VNĐ" = time 1, fee 20 VNĐ).
_ROW = re.compile(
    rf"(?P<method>{_METHOD_RE})(?:(?P<num>\d+(?:[.,]\d+)?) ?"
    r"(?P<unit>Ngày làm việc|Ngày|Giờ|Tháng|Năm|Tuần|Phút)|(?P<bare>\d+?)"
    r"|(?P<text>Không có thông tin|Không quy định|Không phải trả kết quả cho người nộp thuế"
    rf"|Không ?|{_UP}(?:(?!{_METHOD_RE})[^\n]){{0,300}}?)){_FEE_HEAD}"
)
# A VND amount inside a fee note: either labelled ("Phí: 600,000") or followed by a VND
# currency word, optionally after a per-unit ("15000000/lần Đồng", "20.000đ/tờ khai").
# The look-behind keeps dates ("01/7/2025 đến") and document numbers out.
_NOTE_AMOUNT = re.compile(
    r"(?<![\d.,/])(?:(?P<label>(?i:lệ phí|phí))\s*:\s*(?P<lamt>" + _AMOUNT + r")(?!\s*%)"
    r"|(?P<amt>" + _AMOUNT + r")\s*(?:/\s*[^\W\d][^\s(/]*\s*)?"
    r"(?:đồng|Đồng|VNĐ|vnđ|VND|đ|Đ)(?!\w))"
)
_KIND_WORD = re.compile(r"(?i)(?<!miễn )lệ phí|(?<!miễn )(?<!lệ )phí")
_CLAUSE_SEP = re.compile(r"[;\n]|\.\s|(?:^|\s)[-+*]\s|\s{2,}")


def _kind_of(text: str) -> str:
    """Return 'Lệ phí'/'Phí' for the last fee word in ``text`` ('' when there is none)."""
    words = _KIND_WORD.findall(text)
    return ("Lệ phí" if words[-1].lower() == "lệ phí" else "Phí") if words else ""


def _split_note(body: str) -> tuple[str, str]:
    """Split ``"(fee note)description"`` into the note's inner text and the description."""
    if not body.startswith("("):
        return "", body
    depth = 0
    for i, char in enumerate(body):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth == 0:
            return body[1:i], body[i + 1 :]
    # The crawler sometimes drops closing parentheses: end the note at the last one.
    last = body.rfind(")")
    return (body[1:last], body[last + 1 :]) if last > 0 else (body[1:], "")


def _note_fees(note: str, head: int) -> list[FeeData]:
    """Extra fees stated in a fee note, one per VND amount other than the headline one.

    Notes list the cases of a fee ("Phí: 400.000 đ/lần Đồng (Sát hạch...)  Phí: 600.000
    ..."); an amount equal to the headline just restates it, so it is not repeated.
    """
    fees: list[FeeData] = []
    matches = list(_NOTE_AMOUNT.finditer(note))
    starts: list[int] = []
    prev = 0
    for m in matches:
        # A note amount's description starts at the clause holding it ("Phí công bố...:").
        seps = list(_CLAUSE_SEP.finditer(note, prev, m.start()))
        starts.append(seps[-1].end() if seps else prev)
        prev = m.end()
    for i, m in enumerate(matches):
        amount = _to_int(m.group("lamt") or m.group("amt"))
        end = starts[i + 1] if i + 1 < len(matches) else len(note)
        kind = _kind_of(m.group("label") or note[starts[i] : m.start()])
        fee = FeeData(kind, amount, note[starts[i] : end].strip(" ;,.-+*\n\t"))
        if amount != head and fee not in fees:
            fees.append(fee)
    return fees


def _fees(row: re.Match[str], note: str) -> tuple[FeeData, ...]:
    """Fees of one row: the fee cell itself, then the other amounts of its note.

    Each fee carries its currency and meaning and is followed by the temporary reduced
    rates its note states (:func:`knowledge.fee_notes.with_facts`).
    """
    if row["fee"] == "Không có thông tin":
        return ()
    note = note.strip()
    says_free = row["fee"] == "Miễn phí"
    if says_free:
        head = FeeData("Miễn phí", 0, note)
    else:
        label = row["label"] or ""
        lead = re.match(r"[\s(\-+*]*(?i:(lệ phí|phí))", note)
        kind = label or (_kind_of(lead.group(1)) if lead else "")
        usd = _NOTE_USD.search(note)
        if row["cur"] == "USD":  # not VND: keep the amount in its own currency
            value = float(parse_amount(row["amt"], currency="USD").value)
            return with_facts(FeeData(kind, None, note, currency="USD", foreign_amount=value))
        amount: int | None = _to_int(row["amt"])
        if usd is not None:
            # "155 VNĐ (155 USD/thẻ)": the cell's currency is wrong, the note's is right.
            value = float(parse_amount(usd.group(1), currency="USD").value)
            head = FeeData(kind, None, note, currency="USD", foreign_amount=value)
        elif amount is not None and 0 < amount < MIN_PLAUSIBLE_VND:
            head = FeeData(kind, None, f"{row['amt']} {row['cur'] or ''} {note}".strip())
        else:
            head = FeeData(kind, amount, note)
    facts = with_facts(head, says_free=says_free)
    extra = [f for fee in _note_fees(note, head.amount_vnd or 0) for f in with_facts(fee)]
    return (*facts, *(f for f in extra if f not in facts))


def parse_channels(text: str) -> list[ChannelData]:
    """Parse ``cach_thuc_thuc_hien`` into one :class:`ChannelData` per table row.

    Columns are method, processing time, fee and description. ``time_text`` is the source
    time cell ("7 Ngày làm việc", "1", "Không quy định"; '' for "Không có thông tin");
    ``time_value`` is set whenever the cell is a number, ``time_unit`` only when a unit is
    written. Fees: "Miễn phí" gives amount 0, a VND amount its value, USD or "Không có
    thông tin" no amount; further VND amounts in the fee note become further fees.
    """
    text = _clean(text)
    if text in _EMPTY:
        return []
    rows = list(_ROW.finditer(text))
    channels: list[ChannelData] = []
    for i, row in enumerate(rows):
        end = rows[i + 1].start() if i + 1 < len(rows) else len(text)
        body = text[row.end() : end]
        # Only a real fee is followed by a "(note)"; after "Không có thông tin" a "(1) ..."
        # opens the description.
        note, description = _split_note(body) if row["fee"] != "Không có thông tin" else ("", body)
        description = description.strip()
        value: float | None = None
        unit: TimeUnit | None = None
        if row["num"]:
            value = float(row["num"].replace(",", "."))
            unit = _UNITS.get(row["unit"].lower(), "other")
            time_text = text[row.start("num") : row.end("unit")]
        elif row["bare"]:
            value, time_text = float(row["bare"]), row["bare"]
        else:
            time_text = "" if row["text"] == "Không có thông tin" else row["text"].strip()
        method = _METHODS[row["method"]]  # fields in ChannelData order below
        channels.append(ChannelData(method, value, unit, time_text, _fees(row, note), description))
    return channels


# --- Documents (thành phần hồ sơ) ---------------------------------------------------------------

_DOC_HEADER = "Tên giấy tờMẫu đơn, tờ khaiSố lượng"
# The quantity cell is a single-digit count glued to the name before it. Quantities quoted
# inside names ("(01 bản chính hoặc ...)", "nộp 02 bản chính tờ khai", ": 01 bản chính;")
# are written as a separate zero-padded word, or are followed by a space or ')'.
_QUANTITY = re.compile(r"(?<!\s0)(?<!\(0)(\d) bản chính(?:,(\d+) bản sao)?(?![\s)])")
# Template files attached to a row; the look-ahead stops ".doc" matching inside ".docx".
_FORM_EXT = re.compile(rf"(?i:\.(?:docx?|pdf|xlsx?|odt|rtf|zip|rar|jpe?g|png))(?!{_LO})")
# Words template files usually start with ("Mẫu số 01.docx", "Mus08.docx", "văn bản.docx");
# the short ones only before a space or digit ("PL III", "TK 1.001023") as they hide in codes.
_FORM_WORD = (
    r"(?i:mẫu|mau|mus|ms\d|phụ lục|phu luc|pl(?=[\s\d_])|tờ khai|to khai|tk(?=[\s\d_])|đơn"
    r"|don|biểu|phiếu|văn bản|van ban|báo cáo|bao cao|giấy|giay|danh sách|danh sach)"
)
_FORM_WINDOW = 160
_FORM_BOUNDARIES = [
    re.compile(p)
    for p in (
        rf"(?<=[^\s(“\"'])(?={_FORM_WORD})",
        r"(?<=;)(?=\S)|(?<=\))(?=[^\s.;()])|(?<=\.)(?=[^\s\d.;()])",
        rf"(?<={_LO})(?={_UP}|\d)|(?<={_UP})(?={_UP}{_LO})",
        r"(?<=\.)(?=\d)",
    )
]


def _form_start(chunk: str, end: int) -> int:
    """Index where the template file name ending at ``end`` starts inside ``chunk``.

    Names and file names are glued ("...NĐ-CPMau05.docx"). The start is the first glued
    boundary found, by kind from the most to the least telling: a template word after a
    non-space (not a bracket or quote); text after ';', '.' or ')'; a case change ("nuôiBao",
    acronym end "TT-BNNMTThuyết", letters to digits); digits after '.'. Only the last 160
    characters are searched: file names are short and names hold such boundaries too.
    """
    # Start after the name's first letter so that a name is never left empty ("-Đơn...").
    first = re.search(r"\w", chunk)
    lo = max(first.end() if first else 0, end - _FORM_WINDOW)
    for pattern in _FORM_BOUNDARIES:
        for hit in pattern.finditer(chunk, lo, end - 5):
            # Not inside a bracket of the name: "(Mẫu 02-PLIII-ĐGTS ...)Mẫu số 02.docx".
            rest = chunk[hit.start() : end]
            if rest.count(")") <= rest.count("("):
                return hit.start()
    space = chunk.rfind(" ", lo, end - 5)
    return space + 1 if space >= 0 else lo


def _split_forms(chunk: str) -> tuple[str, list[str]]:
    """Split a name cell with glued template file names into (name, [file names])."""
    forms: list[str] = []
    ends = [m.end() for m in _FORM_EXT.finditer(chunk)]
    end = len(chunk)
    while ends and ends[-1] == end:
        ends.pop()
        # Files are glued one after another ("Mau05.docxMau07.docx"): the extension of
        # the previous file marks where this one begins.
        start = ends[-1] if ends and end - ends[-1] <= _FORM_WINDOW else _form_start(chunk, end)
        forms.insert(0, chunk[start:end].strip())
        end = start
    return chunk[:end].strip(), forms


def _case_name(heading: str) -> str:
    """A block heading names the case its documents belong to; '--' means none."""
    heading = heading.strip()
    return "" if not heading.strip("-") else heading


def parse_documents(text: str) -> list[DocumentData]:
    """Parse ``thanh_phan_ho_so`` into one :class:`DocumentData` per document row.

    Each header block ("Tên giấy tờMẫu đơn, tờ khaiSố lượng") may be preceded by a case
    heading, stored in ``case``. Each row is a name, optional template file names (joined
    with "; " in ``form_name``) and a quantity "1 bản chính" / "0 bản chính,1 bản sao"
    (``copies`` stays None when the source gives no copy count). Text without a header,
    and trailing text without a quantity, is not a table row and is skipped. ``required``
    stays None: the table has no such column.
    """
    text = _clean(text)
    if text in _EMPTY or _DOC_HEADER not in text:
        return []
    blocks = text.split(_DOC_HEADER)
    documents: list[DocumentData] = []
    case = _case_name(blocks[0])
    for block in blocks[1:]:
        prev = 0
        for qty in _QUANTITY.finditer(block):
            name, forms = _split_forms(block[prev : qty.start()].strip())
            prev = qty.end()
            if not name:
                continue
            documents.append(
                DocumentData(
                    name=name,
                    originals=int(qty.group(1)),
                    copies=int(qty.group(2)) if qty.group(2) else None,
                    has_form=bool(forms),
                    form_name="; ".join(forms),
                    case=case,
                )
            )
        case = _case_name(block[prev:])
    return documents


# --- Legal bases (căn cứ pháp lý) ---------------------------------------------------------------

_LEGAL_HEADER = "Tên văn bản pháp lýMã văn bản"
# Issuer codes after the year: "NĐ-CP", "TTLT-BYT-BCT", "NQ-HĐND", "QĐ-TTg", "QH13",
# "UBTVQH15". They use only A-Z and Đ, and only legislature codes end in (one or two)
# digits, so "TT-BTC218/2016/..." cannot swallow the next number. The next title is glued
# on: a capital that opens a Vietnamese syllable (consonant + vowel/h/r/g, "CPThông",
# "BNNPTNTPhlc") or an all-caps heading word ("NĐ-CPLUẬT", "TT-BCAQUY ĐỊNH") starts it.
_VOWEL = "[" + "".join(c for c in _LO[1:-1] if unicodedata.normalize("NFD", c)[0] in "aeiouy") + "]"
_HEADING = r"(?:LUẬT|BỘ|QUY|QUYẾT|SỬA|NGHỊ|THÔNG|BAN|HƯỚNG|PHÁP|VỀ)\s"
_PART = (
    rf"(?:TTg|[A-ZĐ]*QH(?:1\d|[1-9])|[A-ZĐ]+?(?={_HEADING})"
    rf"|[A-ZĐ]+(?=[A-ZĐ](?:{_VOWEL}|[hrg]))|[A-ZĐ]+(?![A-ZĐ]))"
)
_CODE = rf"{_PART}(?:\s?-\s?{_PART})*"
# "number/year/code" ("30a/2008/NQ-CP"), "number/code" (older decisions: "3510/QĐ-BHXH")
# or a bare "number/year" cell ("46/2020"); the last two never continue a date or number.
_LEGAL_NUMBER = re.compile(
    rf"(?P<run>\d(?:[\d.]*\d)?[a-z]?)/(?:19|20)\d\d/{_CODE}"
    rf"|(?<![\d/.])(?P<nyrun>\d+[a-z]?)/{_PART}\s?-\s?{_CODE}"
    r"|(?<![\d/.])(?P<bare>\d{1,3})/(?:19|20)\d\d(?![\d/])"
)
# Words that introduce a number ("Thông tư 218/2016/TT-BTC", "Luật số 32/2024/QH15", also
# misspelt "Luất số"): a number after them is quoted, unless they are glued to the text
# before, which makes them the start of a number cell ("tín dụngLuật số 32/2024/QH15").
_TYPE_WORD = re.compile(
    r"(?:(?i:luật|nghị định|thông tư(?: liên tịch)?|quyết định|nghị quyết|pháp lệnh|lệnh|nđ"
    rf"|tt|qđ|nq|ttlt)(?:\s+số)?|{_UP}{_LO}*(?:\s+{_LO}+)*\s+số|số)\s*:?\s*$"
)


def _number_start(m: re.Match[str]) -> int:
    """Start of the real number inside the digit run before the first '/'.

    Titles often end in a year glued to the number ("Luật Khiếu nại năm 201102/2011/QH13",
    "giai đoạn 2026 - 2030182/2025/NQ-HĐND", "ngày 15/5/2026.55/2026/TT-BTC"). Document
    numbers are 1-3 digits ("66.7" for some resolutions; up to 4 for numbers without a
    year), so a longer run that begins with a year is split after that year.
    """
    run = m["run"] or m["nyrun"] or m["bare"]
    number = rf"\d{{1,{4 if m['nyrun'] else 3}}}(?:\.\d{{1,3}})?[a-z]?"
    if re.fullmatch(number, run):
        return m.start()
    split = re.fullmatch(rf"((?:19|20)\d\d\.?)({number})", run)
    return m.start() + (len(split.group(1)) if split else 0)


def parse_legal_bases(text: str) -> list[LegalBasisData]:
    """Parse ``can_cu_phap_ly`` into (number, title) pairs.

    The table alternates a title cell and a number cell, and titles often quote numbers
    themselves. A number is taken as a number cell when it is glued to the text before it
    (the crawler adds no separator between cells, while a number quoted in a title follows
    a space: "Thông tư 218/2016/TT-BTC218/2016/TT-BTC"), or when it follows a space but is
    not introduced by a type word ("Luật", "số", ...) and ends the text or is followed by a
    new capitalised title. Spaces inside a code ("NĐ- CP") are removed; text after the
    last number is not a pair and is skipped.
    """
    text = _clean(text)
    if text in _EMPTY:
        return []
    text = text.replace(_LEGAL_HEADER, "", 1)
    found = list(_LEGAL_NUMBER.finditer(text))
    bases: list[LegalBasisData] = []
    prev = 0
    for i, m in enumerate(found):
        start = _number_start(m)
        number = re.sub(r"\s", "", text[start : m.end()])
        before, after = text[prev:start], text[m.end() :]
        twin = found[i + 1] if i + 1 < len(found) else None
        same = twin and twin.group().split("/")[:2] == number.split("/")[:2]
        if twin and same and twin.start() == m.end():
            continue  # "Luật 54/2014/QH1354/2014/QH13": quoted, then the number cell
        if not before.strip():
            continue  # a title cannot be empty: this number is the start of the title
        title_end = len(before)
        if before[-1].isspace():
            word = _TYPE_WORD.search(before)
            if word and word.start() > 0 and not before[word.start() - 1].isspace():
                title_end = word.start()  # a cell written "Nghị định 146/2018/NĐ-CP"
            elif word or not re.match(rf"\s*(?:$|{_UP})", after):
                continue  # quoted in the title: "Thông tư 218/2016/TT-BTC ngày ..."
        bases.append(LegalBasisData(number=number, title=before[:title_end].strip()))
        prev = m.end()
    return bases


# --- Results (kết quả xử lý) --------------------------------------------------------------------

# A result code runs up to its last digit ("KQ.G12.000693", "G19-KQ0060102",
# "000.00.00.G11-KQ1711"); the next result name is glued right after it.
_RESULT_CODE = re.compile(r"\s*[A-Za-z0-9.\-_/]*\d")


def parse_results(text: str) -> list[str]:
    """Parse ``ket_qua_xu_ly`` into result names (kết quả), dropping their "Mã:" codes.

    Everything from "Từ khóa" on is page chrome (keywords, agency pickers, "Nộp hồ sơ").
    A code without digits ("Mã: Chưa xác định", "Mã: VBTT") is taken whole when nothing
    follows it; leading list bullets of a name ("+ Văn bản từ chối") are dropped.
    """
    text = _clean(text)
    cut = text.find("Từ khóa")
    text = (text if cut < 0 else text[:cut]).strip()
    if text in _EMPTY:
        return []
    pieces = re.split(r"Mã\s*:", text)
    names = [pieces[0]]
    for i, piece in enumerate(pieces[1:], 1):
        code = _RESULT_CODE.match(piece)
        if code:
            names.append(piece[code.end() :])
        elif i < len(pieces) - 1:
            # A junk code glued to a capitalised name ("utwChứng chỉ ...").
            names.append(re.sub(rf"^\s*[a-z]+(?={_UP})", "", piece))
    cleaned = (name.strip().lstrip("+-*•.;, ").strip() for name in names)
    return [name for name in cleaned if name and name not in _EMPTY]
