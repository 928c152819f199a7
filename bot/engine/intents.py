"""What kind of message this is, read from words (folded, so accents do not matter).

Rules rather than a model: every decision here must be explainable to the staff who
tune it, and the word lists are plain data at the top of the module.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from bot.engine.model import Aspect, Choice

_FOLD = {ord("đ"): "d", ord("Đ"): "d"}


def fold(text: str) -> str:
    """Lower-case, diacritic-free, single-spaced words (own copy: no indexer import)."""
    decomposed = unicodedata.normalize("NFD", text.translate(_FOLD).lower())
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(re.findall(r"[0-9a-z]+", stripped))


def _has(folded: str, phrases: tuple[str, ...]) -> bool:
    padded = f" {folded} "
    return any(f" {p} " in padded for p in phrases)


# fmt: off
GREETINGS = ("xin chao", "chao ban", "chao ad", "hello", "hi", "alo", "start", "chao",
             "tam biet", "bye", "hen gap lai")
HELP = ("help", "huong dan su dung", "ban lam duoc gi", "tro giup")
# "trợ giúp" also names procedures (trợ giúp pháp lý, cơ sở trợ giúp xã hội, phương tiện
# trợ giúp): a help request only when the message asks nothing else.
HELP_ALONE = ("tro giup",)
THANKS = ("cam on", "thanks", "thank you", "tks", "cam on nhieu")
WHO = ("ban la ai", "ban la gi", "may la ai", "ban la nguoi hay may", "ban la nguoi that",
       "ban la bot", "ban la may")
HANDOFF = ("gap can bo", "noi chuyen voi nguoi", "gap tu van vien", "human", "gap nhan vien",
           "chuyen cho can bo", "can bo ho tro", "nhan vien ho tro", "nhan vien tu van",
           "tong dai vien", "noi may", "can bo phu trach", "gap nguoi that", "nguoi that ho tro",
           "chuyen cho nhan vien")
# A person named without asking for one: "tư vấn viên" is also a profession whose card
# and network are procedures ("Cấp thẻ tư vấn viên pháp luật").
HANDOFF_PERSON = ("tu van vien",)
# Words that make a message about a procedure even when it also holds an off-topic or
# handoff word (securities, films, games and hotels all have procedures of their own:
# "Bán cổ phiếu quỹ của công ty đại chúng").
PROCEDURE_WORDS = ("thu tuc", "ho so", "giay phep", "dang ky", "cap", "cap lai", "cap doi",
                   "de nghi", "chung nhan", "cong ty", "doanh nghiep", "thue", "kinh doanh",
                   "xac nhan", "tham dinh", "phe duyet", "cong nhan", "thu nhap", "khai",
                   "bao cao", "quyet toan", "chao ban", "phat hanh", "giay", "so huu",
                   "chuyen quyen", "mua lai", "thu hoi")
HOTLINE = ("so dien thoai", "duong day nong", "hotline", "sdt", "tong dai", "so dt",
           "dien thoai lien he", "so lien he", "dien thoai ho tro", "hot line",
           "duong day ho tro", "so de goi", "so nao de goi")
# Asking whom to contact, counted as a hotline question only when the message names
# nothing else ("liên hệ ở đâu?", not "làm căn cước liên hệ ở đâu?").
CONTACT = ("lien he o dau", "lien he the nao", "lien he bang cach nao", "lien he ai",
           "lien he nhu the nao", "goi so nao", "goi cho ai", "goi dien cho ai", "lien he voi ai",
           "lien lac o dau", "lien lac voi ai", "lien he", "lien lac")
_CONTACT_FILLERS = frozenset(("lien", "he", "lac", "o", "dau", "the", "nao", "bang", "cach",
                             "ai", "voi", "goi", "so", "dien", "cho", "ben", "minh", "co",
                             "quan", "de", "may"))
ONLINE_LEVEL_TERMS = ("muc do 3", "muc do 4", "muc 3", "muc 4", "toan trinh", "mot phan",
                      "dich vu cong truc tuyen", "dvc truc tuyen", "dvctt")
DOSSIER_STATUS = ("den dau roi", "xong chua", "tra cuu ho so", "tinh trang ho so",
                  "ho so cua toi", "bao gio xong", "da duyet chua", "ma ho so")
DEFINITION = ("la gi", "nghia la", "the nao la", "khac gi", "khac nhau", "la sao", "hieu la")

ASPECTS: tuple[tuple[Aspect, tuple[str, ...]], ...] = (
    ("fee", ("le phi", "phi", "bao nhieu tien", "het bao nhieu", "mat bao nhieu", "ton bao nhieu",
             "chi phi", "tien", "mien phi", "nop tien", "bao nhieu")),
    ("time", ("bao lau", "may ngay", "thoi gian", "thoi han", "bao nhieu ngay", "khi nao co",
              "mat may", "lau khong", "lau ko", "bao gio co", "may hom")),
    ("documents", ("giay to", "ho so gom", "thanh phan ho so", "can mang", "can chuan bi",
                   "mang theo", "can nhung gi", "can gi", "ho so can", "giay to gi",
                   "chuan bi gi", "mau don", "to khai", "gom nhung gi", "gom nhung j")),
    ("online", ("online", "truc tuyen", "qua mang", "tren mang", "dich vu cong", "dvc", "onl",
                "tai nha", "vneid", "cong dich vu")),
    ("where", ("o dau", "noi nao", "co quan nao", "cho nao", "nop o", "lam o", "den dau",
               "dia chi", "ai giai quyet", "ai cap")),
    ("steps", ("cac buoc", "trinh tu", "quy trinh", "lam the nao", "lam sao", "nhu the nao",
               "the nao", "ntn", "nhu nao", "huong dan", "cach lam", "ra sao")),
    ("legal_basis", ("can cu", "luat nao", "nghi dinh", "thong tu", "van ban nao",
                     "quy dinh nao", "co so phap ly", "van ban phap ly")),
    ("conditions", ("dieu kien", "yeu cau", "doi tuong nao", "ai duoc", "co duoc khong")),
    ("result", ("ket qua", "nhan duoc gi", "duoc cap gi")),
)
# Order of precedence when several aspects are named: the most specific first.
_PRIORITY: tuple[Aspect, ...] = ("fee", "time", "documents", "legal_basis", "conditions",
                                  "result", "where", "online", "steps")

ADMIN = ("thu tuc", "ho so", "giay", "dang ky", "cap", "doi", "lam lai", "nop", "chung nhan",
         "chung thuc", "xac nhan", "giay phep", "can cuoc", "cccd", "cmnd", "ho chieu",
         "khai sinh", "ket hon", "khai tu", "thuong tru", "tam tru", "ho khau", "so do", "dat",
         "nha", "xay dung", "doanh nghiep", "kinh doanh", "thue", "bao hiem", "bhyt", "bhxh",
         "le phi", "ubnd", "phuong", "xa", "tinh", "co quan", "dich vu cong", "gplx", "bang lai",
         "lai xe", "xe", "lltp", "ly lich", "thuoc", "y te", "kham benh", "hanh nghe",
         "ke hoach", "cai cach", "tuyen truyen", "mot cua", "truc tuyen", "mat", "ho tro")
OFF_TOPIC = ("thoi tiet", "bong da", "world cup", "ca si", "phim", "nau", "mon an",
             "nguoi yeu", "crush", "tinh yeu", "bitcoin", "crypto", "tien ao", "gia vang",
             "chung khoan", "co phieu", "xo so", "lo de", "truyen cuoi", "ke chuyen", "lam tho",
             "bai hat", "code", "python", "javascript", "lap trinh", "giai toan", "bai tap",
             "mat khau", "password", "bo qua huong dan", "ignore previous", "system prompt",
             "game", "khach san", "an gi", "hom nay ngay", "may gio roi", "tu vi", "boi toan",
             "horoscope", "recipe", "weather", "prompt", "api key", "gioi han nao", "dich sang",
             "tieng anh", "bai van", "bai toan", "ty so", "du doan", "uong thuoc gi",
             "nen uong", "nen mua", "eth", "so cccd cua", "dia chi cua ong", "dia chi cua ba",
             "thong tin ca nhan cua", "co mua khong", "troi mua", "nang nong", "da voi ai")
# Off-topic words whose folded form also occurs in procedure names, so they are matched
# with their marks: "công thức" (a recipe), not "tiền công thực hiện" (wages, in a tax
# refund procedure's name).
OFF_TOPIC_ACCENTED = ("công thức",)
# Pronouns, particles and question words that never name a procedure.
STOP = {"toi", "minh", "em", "anh", "chi", "ban", "a", "ah", "oi", "nhe", "nha", "vay", "the",
        "thi", "la", "co", "khong", "ko", "k", "duoc", "dc", "con", "cua", "cho", "voi", "va",
        "hoi", "xin", "muon", "can", "phai", "nao", "gi", "j", "sao", "nhu", "roi", "nua",
        "them", "ntn", "vui", "long", "giup", "ad", "admin", "neu", "mn", "moi", "nguoi"}
# fmt: on


@dataclass(frozen=True)
class Intent:
    """The engine's reading of a message."""

    kind: str  # smalltalk|handoff|hotline|dossier_status|online_levels|out_of_scope|question
    aspect: Aspect | None = None
    smalltalk: str = ""
    mentions_online: bool = False


def read_intent(text: str) -> Intent:
    """Classify a message (before any search)."""
    folded = fold(text)
    words = folded.split()
    aspect = detect_aspect(folded)
    online = _has(folded, dict(ASPECTS)["online"])
    if text.strip().startswith("/"):
        command = folded.split(" ")[0] if folded else ""
        if command in ("start", "help"):
            return Intent("smalltalk", smalltalk="greeting")
        if command == "human":
            return Intent("handoff")
    if _has(folded, WHO):
        return Intent("smalltalk", smalltalk="who")
    named_person = _has(folded, HANDOFF_PERSON) and not _has(folded, PROCEDURE_WORDS)
    if _has(folded, HANDOFF) or named_person:
        return Intent("handoff")
    gave_number = "[số đã ẩn]" in text  # "sđt tôi 09..." gives a number, asks for none
    if _has(folded.replace("tong dai ly", "_"), HOTLINE) and not (
        gave_number and not _has(folded, ("duong day nong", "hotline", "tong dai"))
    ):
        return Intent("hotline", aspect=None)
    if _has(folded, CONTACT) and not gave_number and not [
        w for w in words if w not in STOP and w not in _CONTACT_FILLERS
    ]:
        return Intent("hotline", aspect=None)
    if _has(folded, DOSSIER_STATUS):
        return Intent("dossier_status")
    if (
        _has(folded, ONLINE_LEVEL_TERMS)
        and _has(folded, DEFINITION)
        and not _content(folded, ignore=ONLINE_LEVEL_TERMS)
    ):
        return Intent("online_levels")
    off_topic = _has(folded, OFF_TOPIC) or _has_accented(text, OFF_TOPIC_ACCENTED)
    if off_topic and not _has(folded, PROCEDURE_WORDS):
        return Intent("out_of_scope")
    if len(words) <= 6:
        for name, phrases in (
            ("thanks", THANKS),
            ("who", WHO),
            ("greeting", GREETINGS),
            ("greeting", HELP),
        ):
            if _asks(folded, phrases) and not _has(folded, ADMIN):
                return Intent("smalltalk", smalltalk=name)
    if _has(folded, WHO) or _asks(folded, HELP):
        return Intent("smalltalk", smalltalk="who" if _has(folded, WHO) else "greeting")
    return Intent("question", aspect=aspect, mentions_online=online)


#: A citizen in a handoff who wants the automatic assistant back.
BACK_TO_BOT = ("gap tro ly", "quay lai tro ly", "tro ly tu dong", "quay lai bot", "gap bot",
               "noi chuyen voi bot", "noi chuyen voi tro ly")


def asks_for_bot(text: str) -> bool:
    """"/bot", "gặp trợ lý", "quay lại trợ lý tự động": leave the officer's queue."""
    folded = fold(text)
    return text.strip().lower().startswith("/bot") or _has(folded, BACK_TO_BOT)


def _asks(folded: str, phrases: tuple[str, ...]) -> bool:
    """``_has``, except that a ``HELP_ALONE`` phrase counts only in a message that names
    nothing else ("cần trợ giúp", not "trợ giúp pháp lý")."""
    plain = tuple(p for p in phrases if p not in HELP_ALONE)
    if _has(folded, plain):
        return True
    padded = f" {folded} "
    for phrase in phrases:
        if phrase in HELP_ALONE and f" {phrase} " in padded:
            rest = padded.replace(f" {phrase} ", " ").split()
            return not [w for w in rest if w not in STOP]
    return False


def _has_accented(text: str, phrases: tuple[str, ...]) -> bool:
    """Whole-word match of marked phrases on the lower-cased, NFC text."""
    words = " ".join(re.findall(r"\w+", unicodedata.normalize("NFC", text.lower())))
    padded = f" {words} "
    return any(f" {p} " in padded for p in phrases)


def detect_aspect(folded: str) -> Aspect | None:
    """Which field of a procedure the question asks about, if any."""
    found = {name for name, phrases in ASPECTS if _has(folded, phrases)}
    return next((name for name in _PRIORITY if name in found), None)


def has_admin_words(text: str) -> bool:
    """Does the message use the vocabulary of administrative procedures at all?"""
    return _has(fold(text), ADMIN)


def _content(folded: str, ignore: tuple[str, ...] = ()) -> list[str]:
    padded = f" {folded} "
    for _name, phrases in ASPECTS:
        for phrase in phrases:
            padded = padded.replace(f" {phrase} ", " ")
    for phrase in (*ignore, *DEFINITION, "thu tuc", "ho so"):
        padded = padded.replace(f" {phrase} ", " ")
    return [w for w in padded.split() if w not in STOP]


def content_words(text: str) -> list[str]:
    """Words that could name a procedure (aspect words, fillers and pronouns removed)."""
    return _content(fold(text))


_ORDINALS = {"mot": 1, "nhat": 1, "dau tien": 1, "hai": 2, "nhi": 2, "ba": 3, "bon": 4,
             "tu": 4, "nam": 5}
_CHOICE_PREFIX = r"(?:(?:chon|lua chon|so|cai|thu tuc|muc|phuong an|y|dong|cau)\s+)*"


def choice_number(text: str) -> int | None:
    """The number a reply picks: "2", "số 2", "chọn số 3", "cái thứ hai", "cái đầu tiên"."""
    folded = fold(text)
    match = re.fullmatch(_CHOICE_PREFIX + r"(?:thu\s+)?(\d{1,2})", folded)
    if match:
        return int(match.group(1))
    words = folded.split()
    if not words or len(words) > 4:
        return None
    tail = " ".join(words[-2:])
    if tail in _ORDINALS and (len(words) <= 2 or "thu" in words or "cai" in words):
        return _ORDINALS[tail]
    last = words[-1]
    if last in _ORDINALS and (len(words) == 1 or "thu" in words or "so" in words):
        return _ORDINALS[last]
    return None


def parse_choice(text: str, choices: list[Choice]) -> Choice | None:
    """A reply to a clarification: a number or ordinal in range, or words of one choice.

    Words pick a choice only when most of them are words of the choices ("lưu động",
    "cấp tỉnh"): a new question that shares one word with a label ("chứng thực chữ ký ở
    phường" and "… thực hiện tại cấp tỉnh") is a new question, not a pick.
    """
    number = choice_number(text)
    if number is not None:
        return next((c for c in choices if c.number == number), None)
    wanted = set(content_words(text))
    if not wanted:
        return None
    labels = [set(fold(c.label).split()) for c in choices]
    known = wanted & set().union(*labels)
    if len(wanted - known - _VAGUE) > len(known):
        return None
    scored = [(len(wanted & label), c) for label, c in zip(labels, choices, strict=True)]
    best = max(scored, key=lambda s: s[0], default=(0, None))
    tied = [c for s, c in scored if s == best[0]]
    return best[1] if best[0] > 0 and len(tied) == 1 else None


#: Words that, alone, name no procedure ("cho hỏi cái", "giấy").
_VAGUE = {"cai", "giay", "thu", "tuc", "lam", "viec", "ve", "nay", "do", "kia", "hoi", "van",
          "de", "gi", "j", "the", "nao", "sao", "cach", "di", "ra", "o", "dau", "mot", "so"}


#: Words that narrow nothing in a short reply: "cho người nước ngoài", "cái ở tỉnh".
_LINKS = {"cho", "voi", "tai", "cua", "con", "nguoi", "truong", "hop", "khi", "neu"}

#: Most words a reply can have and still be read as narrowing the conversation's topic.
REFINE_WORDS = 4


def refinement_words(text: str) -> list[str]:
    """The words of a short reply that could narrow the topic ("cái lưu động" → lưu,
    động; "cấp xã" → cấp, xã): lower-case syllables as typed, with or without their
    diacritics; empty when there are none or more than :data:`REFINE_WORDS`.

    Accents are kept as typed because folding merges words a procedure name tells
    apart ("khai tử" must not be found in "… từ …"; see :func:`holds_words`).
    """
    wanted = {w for w in content_words(text) if w not in _VAGUE and w not in _LINKS}
    if not wanted or len(wanted) > REFINE_WORDS:
        return []
    return list(dict.fromkeys(w for w in name_words(text) if fold(w) in wanted))


def name_words(text: str) -> list[str]:
    """Lower-case syllables of ``text`` with their diacritics ("Cấp xã" → cấp, xã)."""
    return re.findall(r"[^\W_]+", unicodedata.normalize("NFC", text.lower()))


def holds_words(words: list[str], label: str) -> bool:
    """Whether ``label`` has every one of ``words``: a word typed with diacritics must
    be there with the same ones, a word typed without them in any form ("xa" is found
    in "xã", "xã" is not found in "xa")."""
    accented = set(name_words(label))
    folded = {fold(w) for w in accented}
    return bool(words) and all(
        w in folded if w == fold(w) else w in accented for w in words
    )


def is_vague(text: str) -> bool:
    """A message that names no procedure at all: "giấy tờ", "thủ tục", "cho hỏi cái"."""
    return all(w in _VAGUE for w in content_words(text))
