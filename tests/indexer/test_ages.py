"""Ages a question states against the age ranges of procedure names (real names)."""

from __future__ import annotations

import math

import pytest

from indexer.ages import excludes, name_ages, other_ages_last, stated_age

UNDER_14 = "Cấp thẻ căn cước cho người dưới 14 tuổi"
FROM_14 = "Cấp thẻ căn cước cho người từ đủ 14 tuổi trở lên"
FROM_14_PROVINCE = "Cấp thẻ căn cước cho người từ đủ 14 tuổi trở lên (thực hiện tại cấp tỉnh)"
BUNDLE_UNDER_6 = (
    "Liên thông các thủ tục hành chính về đăng ký khai sinh, cấp Thẻ bảo hiểm y tế "
    "cho trẻ em dưới 6 tuổi"
)
ELDERLY_75_80 = (
    "Hỗ trợ chi phí mai táng cho người cao tuổi từ đủ 75 tuổi đến 80 tuổi mà không có lương hưu"
)
ELDERLY_70_75 = (
    "Thủ tục Hỗ trợ cho Người cao tuổi từ đủ 70 tuổi đến dưới 75 tuổi; Người cao tuổi "
    "dưới 75 tuổi thường trú trên địa bàn tỉnh, là Đảng viên được tặng huy hiệu 40 năm tuổi đảng"
)
INFANT_FOOD = "Đăng ký bản công bố sản phẩm dinh dưỡng dùng cho trẻ đến 36 tháng tuổi"


@pytest.mark.parametrize(
    ("question", "age"),
    [
        ("con tôi 15 tuổi làm căn cước", (15, 16)),
        ("con toi 15 tuoi lam can cuoc", (15, 16)),
        ("làm căn cước cho con 10 tuổi", (10, 11)),
        ("làm thẻ căn cước cho bé dưới 14 tuổi ở đâu", (0, 14)),
        ("cháu chưa đủ 14 tuổi", (0, 14)),
        ("cháu đủ 18 tuổi rồi, muốn chấm dứt việc giám hộ", (18, math.inf)),
        ("bà nội hơn 70 tuổi chưa làm căn cước", (70, math.inf)),
        ("người từ 60 tuổi trở lên", (60, math.inf)),
        ("cụ ngoài 60 tuổi", (60, math.inf)),
        ("bà ngoại 80 tuổi làm căn cước", (80, 81)),  # grandmother, not "over 80"
        ("bé nhà em được 20 ngày tuổi", None),  # days, not years
        ("bé 6 tháng tuổi", None),
        ("sắp đủ 25 tuổi có phải đổi thẻ căn cước không", None),  # not yet
        ("khoảng 15 tuổi", None),
        ("làm căn cước từ năm 14 tuổi, nay đã 25 tuổi", None),  # two ages
        ("con 15 tuổi, làm căn cước cho con 15 tuổi", (15, 16)),  # the same age twice
        ("làm căn cước cho con", None),
        ("sinh năm 2010", None),
    ],
)
def test_the_age_a_question_states(question: str, age: tuple[float, float] | None) -> None:
    assert stated_age(question) == age


def test_the_age_ranges_of_real_names() -> None:
    assert name_ages(UNDER_14) == ((0, 14),)
    assert name_ages(FROM_14) == name_ages(FROM_14_PROVINCE) == ((14, math.inf),)
    assert name_ages(BUNDLE_UNDER_6) == ((0, 6),)
    assert name_ages(ELDERLY_75_80) == ((75, 81),)  # "đến 80 tuổi" includes 80
    assert name_ages(ELDERLY_70_75) == ((70, 75), (0, 75))  # "40 năm tuổi đảng" is no age
    assert name_ages(INFANT_FOOD) == ()  # months
    assert name_ages("Đăng ký khai sinh") == ()
    assert name_ages("Đề nghị việc sử dụng người chưa đủ 13 tuổi làm việc") == ((0, 13),)


def test_a_name_is_ruled_out_only_when_every_range_excludes_the_age() -> None:
    assert excludes((15, 16), UNDER_14) and not excludes((15, 16), FROM_14)
    assert excludes((14, 15), UNDER_14) and not excludes((13, 14), UNDER_14)
    assert excludes((10, 11), FROM_14) and not excludes((0, 14), UNDER_14)
    assert excludes((0, 14), FROM_14)
    assert excludes((70, math.inf), UNDER_14) and not excludes((70, math.inf), FROM_14)
    assert not excludes((80, 81), ELDERLY_75_80) and excludes((81, 82), ELDERLY_75_80)
    assert not excludes((72, 73), ELDERLY_70_75) and not excludes((40, 41), ELDERLY_70_75)
    assert excludes((75, 76), ELDERLY_70_75)
    assert not excludes((15, 16), "Đăng ký khai sinh")  # no range: never ruled out


def test_names_of_other_ages_go_last_in_their_order() -> None:
    hits = [
        ("procedure", UNDER_14),
        ("faq", "Trẻ em dưới 14 tuổi có phải làm căn cước không?"),
        ("procedure", BUNDLE_UNDER_6),
        ("procedure", FROM_14),
        ("procedure", "Cấp đổi thẻ căn cước"),
    ]

    def name(hit: tuple[str, str]) -> str | None:
        return hit[1] if hit[0] == "procedure" else None

    assert other_ages_last("con tôi 15 tuổi làm căn cước", hits, name) == [
        hits[1],  # not a procedure: never moved
        hits[3],
        hits[4],
        hits[0],
        hits[2],
    ]
    assert other_ages_last("làm căn cước cho con 10 tuổi", hits, name) == [
        hits[0],
        hits[1],
        hits[4],
        hits[2],  # under 6
        hits[3],  # 14 and over
    ]
    assert other_ages_last("con tôi làm căn cước", hits, name) == hits
    assert other_ages_last("sắp đủ 25 tuổi", hits, name) == hits
