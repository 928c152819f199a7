"""Masking personal numbers: a table of what goes and what stays, and generated forms
(spaced, dotted, dashed, bracketed, full-width) embedded in Vietnamese text."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.engine.intents import read_intent
from bot.engine.masking import EMAIL_MASK, NUMBER_MASK, mask_personal_data

N, E = NUMBER_MASK, EMAIL_MASK


@pytest.mark.parametrize(
    "text,expected",
    [
        # identity numbers (CCCD 12, CMND 9) in every form
        ("CCCD 001099012345", f"CCCD {N}"),
        ("CCCD: 001 099 012 345.", f"CCCD: {N}."),
        ("số định danh 001.099.012.345", f"số định danh {N}"),
        ("CCCD 001-099-012-345, cấp lại", f"CCCD {N}, cấp lại"),
        ("(CCCD 0010 9901 2345)", f"(CCCD {N})"),
        ("số [001099012345] nhé", f"số [{N}] nhé"),
        ("CCCD ００１０９９０１２３４５ ạ", f"CCCD {N} ạ"),
        ("CCCD ００１ ０９９ ０１２ ３４５", f"CCCD {N}"),
        ("CMND 123456789 hết hạn", f"CMND {N} hết hạn"),
        ("CMND 123 456 789", f"CMND {N}"),
        ("CMND 023.456.789", f"CMND {N}"),
        # phones: mobile, +84, 84, (+84), landline, with groups
        ("sđt 0912345678", f"sđt {N}"),
        ("sđt:0912 345 678", f"sđt:{N}"),
        ("gọi 091-234-5678 giúp", f"gọi {N} giúp"),
        ("gọi 091.234.5678", f"gọi {N}"),
        ("số +84912345678", f"số {N}"),
        ("số +84 912 345 678", f"số {N}"),
        ("số 84 912 345 678", f"số {N}"),
        ("số (+84) 912 345 678", f"số {N}"),
        ("số +84 (0) 912 345 678", f"số {N}"),
        ("máy bàn (024) 3825 1234", f"máy bàn {N}"),
        ("máy bàn 024.3825.1234", f"máy bàn {N}"),
        ("số cũ 01234 567 890", f"số cũ {N}"),
        ("zalo ０９１２３４５６７８", f"zalo {N}"),
        ("sđt 0912\u00a0345\u00a0678", f"sđt {N}"),
        # social insurance, tax codes
        ("mã số BHXH 7912345678", f"mã số BHXH {N}"),
        ("mã số BHXH 1812345678", f"mã số BHXH {N}"),
        ("mã số BHXH 1900123456", f"mã số BHXH {N}"),
        ("số tài khoản 1990 2005 ACB", f"số tài khoản {N} ACB"),
        ("mã số thuế 0101234567", f"mã số thuế {N}"),
        ("MST 0101234567-001 của công ty", f"MST {N} của công ty"),
        ("MST 0101234567 - 001", f"MST {N}"),
        # bank accounts: short ones only after bank words, long ones anywhere
        ("STK 123456 Vietcombank", f"STK {N} Vietcombank"),
        ("số tài khoản: 1903-5678-9012 Techcombank", f"số tài khoản: {N} Techcombank"),
        ("tài khoản Agribank 3100 205 123 456", f"tài khoản Agribank {N}"),
        ("TK 12345678 BIDV", f"TK {N} BIDV"),
        ("chuyển vào VCB 0071000123456", f"chuyển vào VCB {N}"),
        ("thẻ 4111 1111 1111 1111 bị khóa", f"thẻ {N} bị khóa"),
        ("1234 5678 901234 Vietcombank", f"{N} Vietcombank"),
        ("chuyển 123456 ngân hàng BIDV", f"chuyển {N} ngân hàng BIDV"),
        # e-mails
        ("mail a.b@gmail.com nhé", f"mail {E} nhé"),
        ("mail nguyen.van.a @ gmail.com", f"mail {E}"),
        ("mail nguyenvana(at)gmail(dot)com", f"mail {E}"),
        ("mail nguyenvana (at) gmail (dot) com", f"mail {E}"),
        ("mail nguyenvana[at]yahoo.com.vn", f"mail {E}"),
        ("mail nguyenvana at gmail dot com", f"mail {E}"),
        ("mail nguyenvana a còng gmail chấm com", f"mail {E}"),
        ("mail ｎｇｕｙｅｎ＠ｇｍａｉｌ．ｃｏｍ", f"mail {E}"),
        ("mail abc@gmail thôi", f"mail {E} thôi"),
        # what stays
        ("thủ tục 1.001193 và 2.000347", None),
        ("mã 2.000889.000.00.00.H56 trên cổng", None),
        ("lệ phí 1.000.000 đồng, 50.000đ hoặc 200 nghìn", None),
        ("phí 1.000.000.000 đồng", None),
        ("lệ phí 5 000 000 đồng", None),
        ("mức thu 123.456.789", None),
        ("nộp 1000000000 đồng", None),
        ("ngày 12/05/2024, năm 2024, 12.05.2024 hoặc 12-05-2024", None),
        ("từ 12.05.2024 - 15.06.2024", None),
        ("giai đoạn 2021 - 2025 - 2030", None),
        ("Nghị định 123/2015/NĐ-CP, Luật số 59/2020/QH14, Quyết định 1234/QĐ-UBND", None),
        ("trong 15 ngày làm việc, 8h30, 7:30-11:30", None),
        ("tổng đài 1900 1234, 1800 1096 hoặc 1900 123 456", None),
        ("mã hồ sơ 12345678, 10 bản sao, tổ 5", None),
        ("hồ sơ 12345678 đăng ký tài khoản", None),
        ("đăng ký tài khoản dịch vụ công trong 3 ngày", None),
        ("tăng 25%, 120000000 người", None),
    ],
)
def test_masking_table(text: str, expected: str | None) -> None:
    masked = mask_personal_data(text)
    assert masked == (text if expected is None else expected)
    assert mask_personal_data(masked) == masked


def test_placeholders_are_not_hotline_requests() -> None:
    masked = mask_personal_data("sđt tôi 0912 345 678, hỏi cấp lại căn cước")
    assert masked == f"sđt tôi {N}, hỏi cấp lại căn cước"
    assert read_intent(masked).kind != "hotline"


# ------------------------------------------------------------------ generated

_FULLWIDTH = str.maketrans({chr(c): chr(c + 0xFEE0) for c in range(0x21, 0x7F)})
SEPARATORS = [" ", ".", "-", " - ", "  ", "–", "\u00a0"]


def _digits(size: int, first: str = "0123456789") -> st.SearchStrategy[str]:
    rest = st.text("0123456789", min_size=size - 1, max_size=size - 1)
    return st.tuples(st.sampled_from(first), rest).map("".join)


@st.composite
def written(draw: st.DrawFn, digits: str) -> str:
    """``digits`` as a citizen might type them: in groups with separators, maybe
    full-width, maybe with the first group in brackets."""
    groups: list[str] = []
    rest = digits
    while rest:
        size = draw(st.integers(1, 5)) if draw(st.booleans()) else len(rest)
        groups.append(rest[:size])
        rest = rest[size:]
    out = groups[0]
    if len(groups) > 1 and draw(st.booleans()):
        out = f"({groups[0]})"
    for group in groups[1:]:
        out += draw(st.sampled_from(SEPARATORS)) + group
    return out.translate(_FULLWIDTH) if draw(st.booleans()) else out


@st.composite
def personal(draw: st.DrawFn) -> str:
    """A personal number (any kind, any form) in a sentence with no other digits."""
    kind = draw(
        st.sampled_from(["cccd", "cmnd", "mobile", "plus84", "landline", "bhxh", "mst", "bank"])
    )
    if kind == "cccd":
        number = draw(written(draw(_digits(12, "0"))))
        template = draw(
            st.sampled_from(["CCCD của tôi là {}", "số định danh {} bị sai", "căn cước {}"])
        )
    elif kind == "cmnd":
        number = draw(written(draw(_digits(9))))
        template = draw(st.sampled_from(["CMND cũ {} còn dùng được không", "chứng minh {} ạ"]))
    elif kind == "mobile":
        number = draw(written("0" + draw(_digits(9, "35789"))))
        template = draw(st.sampled_from(["sđt {} gọi lại giúp", "zalo {} nhé", "liên hệ {}"]))
    elif kind == "plus84":
        prefix = draw(st.sampled_from(["+84", "+84 ", "84 ", "(+84) ", "(+84)"]))
        number = prefix + draw(written(draw(_digits(9, "35789"))))
        template = draw(st.sampled_from(["số {} của tôi", "gọi {} giúp em"]))
    elif kind == "landline":
        number = draw(written("02" + draw(_digits(9))))
        template = "máy bàn {} ở nhà"
    elif kind == "bhxh":
        number = draw(written(draw(_digits(10))))
        template = draw(st.sampled_from(["mã số BHXH {} tra ở đâu", "sổ bảo hiểm {} bị mất"]))
    elif kind == "mst":
        number = draw(written(draw(_digits(10))))
        if draw(st.booleans()):
            number += draw(st.sampled_from(["-", " - "])) + draw(_digits(3))
        template = draw(st.sampled_from(["mã số thuế {} của tôi", "MST {} sai tên"]))
    else:
        number = draw(written(draw(_digits(draw(st.integers(6, 19))))))
        template = draw(
            st.sampled_from(
                [
                    "số tài khoản {} Vietcombank",
                    "STK: {} BIDV",
                    "chuyển vào tài khoản {} giúp",
                    "TK {}",
                ]
            )
        )
    return template.format(number)


_DIGIT = re.compile(r"\d")

SAFE = st.one_of(
    st.builds("{}.{}".format, st.sampled_from("12"), _digits(6)),  # procedure code
    st.builds(
        "{} đồng".format,
        st.integers(1, 999_999_999_999).map(lambda v: f"{v:,}".replace(",", ".")),
    ),
    st.builds("{}đ".format, st.integers(1, 999).map(lambda v: f"{v}.000")),
    st.builds(
        "{:02d}{sep}{:02d}{sep}{}".format,
        st.integers(1, 28),
        st.integers(1, 12),
        st.integers(1990, 2030),
        sep=st.sampled_from(["/", ".", "-"]),
    ),
    st.builds("{}/{}/NĐ-CP".format, st.integers(1, 400), st.integers(1990, 2030)),
    st.builds(
        "Luật số {}/{}/QH{}".format,
        st.integers(1, 99),
        st.integers(1990, 2030),
        st.integers(10, 15),
    ),
    st.builds("{} ngày làm việc".format, st.integers(1, 90)),
    st.builds("năm {}".format, st.integers(1990, 2030)),
)
WORDS = st.sampled_from(["thủ tục", "hỏi về", "lệ phí là", "theo", "hạn", "và", "cho hỏi"])


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(personal())
def test_every_generated_personal_number_is_gone(sentence: str) -> None:
    masked = mask_personal_data(sentence)
    assert not _DIGIT.search(masked), (sentence, masked)
    assert N in masked
    assert mask_personal_data(masked) == masked


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(WORDS, SAFE), min_size=1, max_size=5), personal())
def test_procedure_numbers_survive_next_to_personal_ones(
    parts: list[tuple[str, str]], sentence: str
) -> None:
    safe_text = ", ".join(f"{w} {s}" for w, s in parts)
    assert mask_personal_data(safe_text) == safe_text
    masked = mask_personal_data(f"{safe_text}; {sentence}.")
    assert masked.startswith(safe_text + "; "), (safe_text, sentence, masked)
    assert not _DIGIT.search(masked[len(safe_text) :]), (sentence, masked)


@settings(max_examples=200, deadline=None)
@given(
    st.from_regex(r"[a-z][a-z0-9._]{1,12}[0-9]", fullmatch=True),
    st.sampled_from(["gmail", "yahoo", "outlook", "quangtri"]),
    st.sampled_from(["com", "vn", "gov.vn", "com.vn", "org"]),
    st.sampled_from(["@", " @ ", "(at)", " (at) ", "[at]", " [at] ", " at "]),
    st.sampled_from([".", " . ", "(dot)", " (dot) ", " dot "]),
)
def test_every_generated_email_is_gone(
    local: str, domain: str, tld: str, at: str, dot: str
) -> None:
    address = f"{local}{at}{domain}{dot}{tld.replace('.', dot)}"
    masked = mask_personal_data(f"email của tôi là {address} nhé")
    assert masked == f"email của tôi là {E} nhé", (address, masked)
