"""The citizen's situation (abroad, first time) against what a procedure is for (real
names and agencies of the bundled national records)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from indexer.situations import (
    DEFAULT_SITUATIONS,
    SECTIONS,
    SituationWords,
    SituationWordsError,
    only_renews,
    says_abroad,
    says_first_time,
    situations_last,
    works_abroad,
)


def _lines() -> list[tuple[int, str, str]]:
    out = []
    for number, raw in enumerate(DEFAULT_SITUATIONS.read_text("utf-8").splitlines(), start=1):
        if raw.strip() and not raw.startswith("#"):
            section, _, phrase = raw.partition("\t")
            out.append((number, section, phrase.strip()))
    return out


#: What each line of a section must do, asked in a question (or a name, an agency).
CHECKS = {
    "abroad": lambda p: says_abroad(f"hỏi về {p}"),
    "country": lambda p: says_abroad(f"con sinh ở {p}") and not says_abroad(f"con {p}"),
    "place": lambda p: says_abroad(f"con sinh {p} Nhật") and not says_abroad(f"sinh {p} nhà"),
    "foreigner": lambda p: not says_abroad(f"kết hôn với {p} nước ngoài"),
    "first_time": lambda p: says_first_time(f"làm căn cước {p}"),
    "renewal": lambda p: not says_first_time(f"làm căn cước lần đầu {p}"),
    "cost_after_mat": lambda p: says_first_time(f"làm căn cước lần đầu mất {p}"),
    "renewal_action": lambda p: only_renews(f"{p} thẻ căn cước"),
    "other_action": lambda p: not only_renews(f"Cấp lại, {p} thẻ căn cước"),
    "mission": lambda p: works_abroad(p.upper()) and works_abroad(f"{p}; {p.title()}"),
}


@pytest.mark.parametrize(("number", "section", "phrase"), _lines())
def test_every_line_of_the_words_file_does_its_part(
    number: int, section: str, phrase: str
) -> None:
    assert section in SECTIONS, f"{DEFAULT_SITUATIONS}:{number}"
    assert CHECKS[section](phrase), f"{DEFAULT_SITUATIONS}:{number}: {section} {phrase}"


def test_every_section_has_lines_and_a_check() -> None:
    assert set(CHECKS) == set(SECTIONS)
    assert {section for _n, section, _p in _lines()} == set(SECTIONS)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("abroad\tnước ngoài\nabrod\tMỹ\n", ":2: mục 'abrod' không có"),
        ("# comment\n\nfirst_time\t  \n", ":3: thiếu cụm từ"),
        ("country\tHàn Quốc\n", ":1: mục 'country' chỉ nhận một tiếng"),
    ],
)
def test_a_broken_words_file_names_file_and_line(
    tmp_path: Path, text: str, reason: str
) -> None:
    path = tmp_path / "situations.tsv"
    path.write_text(text, "utf-8")
    with pytest.raises(SituationWordsError, match=reason) as caught:
        SituationWords.load(path)
    assert str(caught.value).startswith(f"{path}:")


@pytest.mark.parametrize(
    ("question", "abroad"),
    [
        ("đang ở Úc, chứng thực bản sao hộ chiếu tại cơ quan đại diện Việt Nam thế nào", True),
        ("con sinh bên Nhật, muốn đăng ký khai sinh", True),
        ("con sinh ben nhat muon dang ky khai sinh", True),
        ("xin xác nhận tình trạng hôn nhân tại đại sứ quán", True),
        ("Việt kiều về nước mua nhà", True),
        ("người Việt ở nước ngoài đăng ký khai tử", True),
        ("giấy tờ do nước ngoài cấp", True),
        ("đi xuất khẩu lao động Hàn Quốc", True),
        # A foreigner may well be here.
        ("lấy chồng Hàn thì đăng ký kết hôn với người nước ngoài ở đâu", False),
        ("kết hôn với người có quốc tịch nước ngoài", False),
        # Folded country names that are everyday syllables.
        ("bằng lái hết hạn", False),
        ("mỹ phẩm nhập khẩu cần giấy phép gì", False),
        ("anh ơi cho hỏi làm căn cước", False),
        ("xác nhận chữ ký ở phường được không", False),
        ("đây là lần đầu nhất", False),
    ],
)
def test_what_puts_a_question_abroad(question: str, abroad: bool) -> None:
    assert says_abroad(question) is abroad


@pytest.mark.parametrize(
    ("question", "first"),
    [
        ("làm căn cước lần đầu có mất phí không", True),
        ("lam the can cuoc lan dau mat bao nhieu ngay", True),
        ("bà nội chưa bao giờ làm chứng minh hay căn cước", True),
        ("con chưa từng đăng ký khai sinh", True),
        ("đổi bằng lái lần đầu", False),
        ("lần đầu làm mất CCCD", False),
        ("lần đầu cấp lại sổ đỏ", False),
        ("giấy phép hết hạn, lần đầu gia hạn", False),
        ("làm căn cước mất bao lâu", False),
    ],
)
def test_first_time_without_a_word_of_renewal(question: str, first: bool) -> None:
    assert says_first_time(question) is first


@pytest.mark.parametrize(
    ("name", "renews"),
    [
        ("Cấp đổi thẻ căn cước", True),
        ("Đổi, cấp lại Giấy xác nhận khuyết tật", True),
        ("Thủ tục đăng ký lại kết hôn", True),
        ("Đổi giấy phép lái xe", True),
        ("Cấp lại chứng nhận đăng ký xe, biển số xe", True),
        ("Cấp thẻ căn cước cho người từ đủ 14 tuổi trở lên", False),
        ("Cấp lại, đổi, điều chỉnh thông tin trên sổ BHXH, thẻ BHYT", False),
        ("Đăng ký thay đổi nội dung đăng ký hộ kinh doanh", False),
        ("Cấp lại", False),
    ],
)
def test_names_that_only_renew(name: str, renews: bool) -> None:
    assert only_renews(name) is renews


@pytest.mark.parametrize(
    ("agencies", "abroad"),
    [
        ("Cơ quan đại diện Việt Nam ở nước ngoài; Cơ quan đại diện Việt Nam ở nước ngoài", True),
        ("Cơ quan đại diện ngoại giao", True),
        ("Cơ quan đại diện có thẩm quyền", True),
        # A state company's owner and the Consular Department in Hà Nội are at home.
        ("Cơ quan đại diện chủ sở hữu", False),
        ("Cục Lãnh sự - Bộ Ngoại giao", False),
        ("Cơ quan đại diện có thẩm quyền, Tổ chức hành nghề công chứng", False),
        ("", False),
    ],
)
def test_agencies_that_work_abroad(agencies: str, abroad: bool) -> None:
    assert works_abroad(agencies) is abroad


@dataclass(frozen=True)
class Hit:
    id: str
    name: str | None
    abroad: bool = False


def _order(question: str, hits: list[Hit]) -> list[str]:
    ranked = situations_last(question, hits, lambda h: h.name, lambda h: h.abroad)
    return [h.id for h in ranked]


MISSION = Hit("1.001590", "Thủ tục Chứng thực chữ ký trong các giấy tờ, văn bản", abroad=True)
HOME = Hit("2.000884", "Chứng thực chữ ký trong các giấy tờ, văn bản (áp dụng cho cả …)")
FAQ = Hit("moh-faq-0045", None)
RENEW = Hit("1.014063", "Cấp đổi thẻ căn cước")
FIRST = Hit("2.000200", "Cấp thẻ căn cước cho người từ đủ 14 tuổi trở lên")


def test_a_mission_abroad_goes_last_unless_the_question_is_abroad() -> None:
    hits = [MISSION, FAQ, HOME]
    assert _order("chứng thực chữ ký mất phí bao nhiêu", hits) == [
        "moh-faq-0045",
        "2.000884",
        "1.001590",
    ]
    assert _order("đang ở Đức, chứng thực chữ ký tại đại sứ quán", hits) == [
        "1.001590",
        "moh-faq-0045",
        "2.000884",
    ]


def test_a_renewal_goes_last_for_a_first_time_question() -> None:
    hits = [RENEW, FAQ, FIRST]
    assert _order("làm căn cước lần đầu có mất phí không", hits) == [
        "moh-faq-0045",
        "2.000200",
        "1.014063",
    ]
    assert _order("đổi căn cước lần đầu", hits) == ["1.014063", "moh-faq-0045", "2.000200"]
    assert _order("làm căn cước ở đâu", hits) == ["1.014063", "moh-faq-0045", "2.000200"]


def test_a_record_asked_by_its_whole_name_stays() -> None:
    hits = [MISSION, HOME]
    ranked = situations_last(
        "Thủ tục Chứng thực chữ ký trong các giấy tờ, văn bản",
        hits,
        lambda h: h.name,
        lambda h: h.abroad,
        lambda h: h is MISSION,
    )
    assert [h.id for h in ranked] == ["1.001590", "2.000884"]
    renewal = situations_last(
        "cấp đổi thẻ căn cước lần đầu", [RENEW, FIRST], lambda h: h.name, lambda h: h.abroad
    )
    assert [h.id for h in renewal] == ["1.014063", "2.000200"]  # "đổi": a renewal word
