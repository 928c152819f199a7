"""Procedure families, same-name groups, the glossary's longest match and the rerank rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from indexer.components import DEFAULT_FILLERS
from indexer.families import Profiles, build_profiles, name_words
from indexer.glossary import DEFAULT_GLOSSARY, Glossary
from indexer.rerank import (
    FEATURES,
    QueryView,
    candidate_features,
    collapse_same_name,
    family_order,
    qualifier_named,
)
from indexer.retriever import SearchHit
from indexer.textnorm import QueryFillers, syllables

NAMES = {
    "1.001193": ("Thủ tục đăng ký khai sinh", ["Cấp xã"]),
    "1.003583": ("Thủ tục đăng ký khai sinh lưu động", ["Cấp xã"]),
    "2.000528": ("Thủ tục đăng ký khai sinh có yếu tố nước ngoài", ["Cấp xã"]),
    "1.004884": ("Thủ tục đăng ký lại khai sinh", ["Cấp xã"]),
    "1.004772": ("Thủ tục đăng ký khai sinh cho người đã có hồ sơ, giấy tờ cá nhân", ["Cấp xã"]),
    "1.001022": ("Thủ tục đăng ký nhận cha, mẹ, con", ["Cấp xã"]),
    "1.000689": ("Thủ tục đăng ký khai sinh kết hợp đăng ký nhận cha, mẹ, con", ["Cấp xã"]),
    "1.010386": ("Trình báo mất hộ chiếu phổ thông (thực hiện tại cấp xã)", ["Cấp xã"]),
    "1.001445": ("Trình báo mất hộ chiếu phổ thông (thực hiện tại cấp tỉnh)", ["Cấp tỉnh"]),
    "9.000001": ("Cấp giấy", []),
    "3.000346": ("Cấp giấy phép lái xe", ["Cấp tỉnh"]),
    "3.000348": ("Cấp lại giấy phép lái xe", ["Cấp tỉnh"]),
    "2.002895": ("Thủ tục phát hành phim tài liệu (cấp Trung ương)", ["Cấp bộ"]),
    "2.002897": ("Thủ tục phát hành phim tài liệu (cấp tỉnh)", ["Cấp tỉnh"]),
    "1.008498": ("Đăng ký thuế lần đầu đối với người nộp thuế là cá nhân", ["Cấp tỉnh"]),
    "2.002225": ("Đăng ký thuế lần đầu đối với người nộp thuế là tổ chức", ["Cấp tỉnh"]),
}


@pytest.fixture(scope="module")
def profiles() -> Profiles:
    records = {
        ("procedure", code): {"name": name, "levels": levels, "detail": "full"}
        for code, (name, levels) in NAMES.items()
    }
    records[("faq", "moh-faq-0001")] = {"question": "Thẻ BHYT là gì?"}
    return build_profiles(records)


def _hit(code: str, rank: int = 1) -> SearchHit:
    return SearchHit(
        kind="procedure",
        id=code,
        title=NAMES[code][0],
        score=1 / (60 + rank),
        field="header",
        sources={"dense": rank},
        raw={"dense": 0.85},
    )


@pytest.fixture(scope="module")
def glossary() -> Glossary:
    return Glossary.load(DEFAULT_GLOSSARY)


@pytest.fixture(scope="module")
def fillers() -> QueryFillers:
    return QueryFillers.load(DEFAULT_FILLERS)


def test_variants_find_their_closest_bases(profiles: Profiles) -> None:
    mobile = profiles.get("procedure", "1.003583")
    assert mobile is not None and [b.key for b in mobile.bases] == ["1.001193"]
    assert mobile.bases[0].qualifier == ("luu", "dong")
    assert mobile.bases[0].accented == ("lưu", "động")
    # One inserted syllable: "đăng ký *lại* khai sinh".
    again = profiles.get("procedure", "1.004884")
    assert again is not None and again.bases[0].qualifier == ("lai",)
    # A combined procedure varies both of its bases.
    combined = profiles.get("procedure", "1.000689")
    assert combined is not None and {b.key for b in combined.bases} == {"1.001193", "1.001022"}
    base = profiles.get("procedure", "1.001193")
    assert base is not None and base.bases == () and base.variants >= 4
    # Two syllables are too generic to head a family.
    generic = profiles.get("procedure", "9.000001")
    assert generic is not None and generic.variants == 0


def test_levels_of_one_name_are_one_group(profiles: Profiles) -> None:
    assert name_words("Trình báo mất hộ chiếu phổ thông (thực hiện tại cấp tỉnh)") == tuple(
        syllables("trình báo mất hộ chiếu phổ thông")
    )
    commune = profiles.get("procedure", "1.010386")
    assert commune is not None and commune.same_name == ("1.001445",) and commune.bases == ()


def test_profiles_round_trip(profiles: Profiles, tmp_path: Path) -> None:
    profiles.save(tmp_path / "profiles.json")
    again = Profiles.load(tmp_path / "profiles.json")
    assert again.by_record == profiles.by_record and again.idf == profiles.idf


@pytest.mark.parametrize(
    ("question", "code", "named"),
    [
        ("khai sinh cho em bé", "1.003583", False),
        ("đăng ký khai sinh lưu động ở xã", "1.003583", True),
        ("dang ky khai sinh luu dong", "1.003583", True),
        ("khai sinh cho con cần giấy tờ gì", "1.004772", False),
        ("bố cháu là người nước ngoài, khai sinh thế nào", "2.000528", True),
        ("đăng ký lại khai sinh vì sổ gốc bị mất", "1.004884", True),
        ("bằng lái xe khai sinh", "1.004884", False),
        # "lại" folds to the "lái" of the base's name: compared as written.
        ("cấp giấy phép lái xe lần đầu", "3.000348", False),
        ("xin cấp lại bằng lái xe", "3.000348", True),
        # A life event's record wording names the qualifier ("làm mất" → "cấp lại").
        ("làm mất giấy phép lái xe rồi", "3.000348", True),
    ],
)
def test_qualifier_named(
    profiles: Profiles,
    glossary: Glossary,
    fillers: QueryFillers,
    question: str,
    code: str,
    named: bool,
) -> None:
    view = QueryView.of(question, glossary, fillers)
    profile = profiles.get("procedure", code)
    assert profile is not None
    assert (qualifier_named(view, profile, profiles) > 0) is named


def test_features_have_one_column_each(
    profiles: Profiles, glossary: Glossary, fillers: QueryFillers
) -> None:
    view = QueryView.of("làm giấy khai sinh cho con", glossary, fillers)
    rows = candidate_features(view, [_hit("1.003583", 1), _hit("1.001193", 2)], profiles)
    assert rows.shape == (2, len(FEATURES))
    column = dict(zip(FEATURES, rows.T, strict=True))
    assert list(column["variant_unnamed"]) == [1.0, 0.0]
    assert list(column["is_base"]) == [0.0, 1.0]
    assert column["name_covered"][1] > column["name_covered"][0]


def test_glossary_longest_match(glossary: Glossary) -> None:
    assert "đăng ký sang tên xe" in glossary.expansions("sang tên xe ô tô")
    assert "chuyển nhượng" not in glossary.expansions("sang tên xe ô tô")
    assert "chuyển nhượng quyền sử dụng đất" in glossary.expansions("sang tên sổ đỏ")
    # "mất bao lâu" is about time: the loss words inside it do not fire.
    assert "trình báo mất" not in glossary.expansions("làm hộ chiếu mất bao lâu")
    assert "trình báo mất" in glossary.expansions("bị mất hộ chiếu")
    assert "tách hộ" in glossary.expansions("tách sổ hộ khẩu")


@pytest.mark.parametrize(
    "question,wanted,unwanted",
    [
        # Abbreviations and teencode.
        ("mất CCCD thì làm lại ở đâu", "cấp lại thẻ căn cước", "đăng ký khai tử"),
        ("lm lai cccd", "cấp lại thẻ căn cước", None),
        ("tach HK cho vo chong con trai", "tách hộ", None),
        ("mất GCN QSDĐ", "cấp lại giấy chứng nhận do bị mất", None),
        ("đăng ký đóng bảo hiểm xã hội", "bhxh", None),
        # Life events → the official action.
        ("làm mất giấy khai sinh của con", "bản sao giấy khai sinh", "đăng ký khai sinh"),
        ("bằng lái hết hạn", "đổi giấy phép lái xe", None),
        (
            "đã báo mất hộ chiếu giờ tìm thấy lại",
            "khôi phục giá trị sử dụng hộ chiếu phổ thông",
            None,
        ),
        ("nhà có người mất, đi khai tử ở đâu", "đăng ký khai tử", None),
        # Longest match keeps neighbouring words apart.
        ("xin giấy xác nhận con đang đi học", None, "đăng ký nhận cha, mẹ, con"),
        ("bố muốn làm giấy nhận con", "đăng ký nhận cha, mẹ, con", None),
        ("đang hưởng thất nghiệp thì đi làm lại", None, "cấp lại"),
        ("bị mất việc thì nhận trợ cấp thế nào", "hưởng trợ cấp thất nghiệp", "trình báo mất"),
        ("bi mat viec lam o cong ty", "hưởng trợ cấp thất nghiệp", "cấp lại"),
        ("làm sổ đỏ cho đất nhà mình", None, "tặng cho quyền sử dụng đất"),
        ("thế chấp sổ đỏ vay ngân hàng", "đăng ký biện pháp bảo đảm bằng quyền sử dụng đất", None),
    ],
)
def test_citizens_words_reach_the_official_wording(
    glossary: Glossary, question: str, wanted: str | None, unwanted: str | None
) -> None:
    found = glossary.expansions(question)
    assert wanted is None or wanted in found, found
    assert unwanted is None or unwanted not in found, found


def test_time_phrases_are_left_out_of_the_searched_text(
    glossary: Glossary, fillers: QueryFillers
) -> None:
    """The "mất" of "mất bao lâu" must not match records about a loss ("... bị mất"):
    the glossary leaves its words out of the search text, the fillers out of the
    question the embedder and the features read."""
    expanded = glossary.expand("Cấp đổi sổ đỏ mất bao lâu?")
    assert "mất" not in expanded.split() and expanded.startswith("Cấp đổi sổ đỏ")
    assert glossary.expand("mất bao lâu") == "mất bao lâu"  # never down to nothing
    assert glossary.expand("thời tiết hôm nay") == "thời tiết hôm nay"
    assert fillers.remove_from("làm hộ chiếu mất bao lâu") == "làm hộ chiếu"
    assert fillers.remove_from("sang tên sổ đỏ hết bao nhiêu tiền") == "sang tên sổ đỏ tiền"


def test_every_glossary_line_is_reachable(glossary: Glossary) -> None:
    """Each line staff write applies to its own words: no longer term shadows it,
    and an expansion "-" only consumes them."""
    for entry in glossary.entries:
        found = glossary.expansions(" ".join(entry.term))
        wanted = [e for e in entry.expansions if e != "-"]
        assert all(e in found for e in wanted), (entry.term, found)
        if not wanted:
            assert found == [], entry.term


def test_contrast_features_tell_near_identical_names_apart(
    profiles: Profiles, glossary: Glossary, fillers: QueryFillers
) -> None:
    """Two names that differ by one side ("cá nhân" / "tổ chức"): the question's word
    counts for the side it names and against the other, whichever ranked first."""
    hits = [_hit("2.002225", 1), _hit("1.008498", 2)]
    view = QueryView.of("đăng ký thuế lần đầu cho cá nhân mất mấy ngày", glossary, fillers)
    column = dict(zip(FEATURES, candidate_features(view, hits, profiles).T, strict=True))
    organisation, person = 0, 1
    assert column["own_words_matched"][person] > 0
    assert column["own_words_matched"][organisation] == 0
    assert column["own_words_unmatched"][organisation] > 0
    assert column["sibling_words_matched"][organisation] > 0
    assert column["sibling_words_matched"][person] == 0
    assert column["name_covered_gap"][person] == 0
    assert column["name_covered_gap"][organisation] > 0
    # A question naming neither side leaves both even.
    view = QueryView.of("đăng ký thuế lần đầu mất mấy ngày", glossary, fillers)
    column = dict(zip(FEATURES, candidate_features(view, hits, profiles).T, strict=True))
    assert list(column["own_words_matched"]) == [0.0, 0.0]
    assert list(column["sibling_words_matched"]) == [0.0, 0.0]


def test_a_question_holding_a_variants_whole_name_names_it(
    profiles: Profiles, glossary: Glossary, fillers: QueryFillers
) -> None:
    """ "lại" is also a word of the base ("lái" folded): the qualifier alone cannot be
    told named, but the variant's whole name in the question can."""
    again = profiles.get("procedure", "3.000348")
    assert again is not None and [b.key for b in again.bases] == ["3.000346"]
    for question, first in [
        ("lệ phí cấp lại giấy phép lái xe là bao nhiêu", "3.000348"),
        ("cap lai giay phep lai xe", "3.000348"),
        ("cấp giấy phép lái xe lần đầu", "3.000346"),
    ]:
        view = QueryView.of(question, glossary, fillers)
        order, _ = family_order(view, [_hit("3.000348", 1), _hit("3.000346", 2)], profiles)
        assert order[0].id == first, question
    view = QueryView.of("lệ phí cấp lại giấy phép lái xe là bao nhiêu", glossary, fillers)
    rows = candidate_features(view, [_hit("3.000348", 1), _hit("3.000346", 2)], profiles)
    column = dict(zip(FEATURES, rows.T, strict=True))
    assert list(column["name_contained"]) == [1.0, 0.0]
    assert list(column["name_contained_longest"]) == [1.0, 0.0]


def test_same_name_group_is_answered_by_the_level_the_question_names(
    profiles: Profiles, glossary: Glossary, fillers: QueryFillers
) -> None:
    def title_of(key: str) -> str:
        return NAMES[key][0]

    hits = [_hit("2.002895", 1), _hit("2.002897", 2)]
    for question, first in [
        ("Thủ tục phát hành phim tài liệu (cấp tỉnh)", "2.002897"),
        ("phát hành phim tài liệu cấp trung ương", "2.002895"),
        ("phát hành phim tài liệu", "2.002895"),
    ]:
        view = QueryView.of(question, glossary, fillers)
        collapsed = collapse_same_name(hits, profiles, view, title_of)
        assert [h.id for h in collapsed] == [first], question
        assert set(collapsed[0].same_name) == {"2.002895", "2.002897"} - {first}


def test_a_base_only_a_mission_abroad_carries_out_heads_no_family_at_home(
    glossary: Glossary, fillers: QueryFillers
) -> None:
    """The embassy's "Thủ tục Chứng thực chữ ký trong các giấy tờ, văn bản" names no
    qualifier, so the commune's "… (áp dụng cho cả …)" reads as its variant; for a
    question that says nothing of abroad it is not."""
    mission, home = "1.001590", "2.000884"
    names = {
        mission: "Thủ tục Chứng thực chữ ký trong các giấy tờ, văn bản",
        home: "Chứng thực chữ ký trong các giấy tờ, văn bản (áp dụng cho cả trường hợp "
        "chứng thực điểm chỉ và trường hợp người yêu cầu chứng thực không thể ký, không thể "
        "điểm chỉ được)",
    }
    records = {
        ("procedure", mission): {
            "name": names[mission],
            "implementing_agencies": "Cơ quan đại diện Việt Nam ở nước ngoài",
        },
        ("procedure", home): {
            "name": names[home],
            "levels": ["Cấp xã"],
            "implementing_agencies": "Cơ quan đại diện có thẩm quyền, Tổ chức hành nghề công chứng",
        },
    }
    profiles = build_profiles(records)
    variant = profiles.get("procedure", home)
    base = profiles.get("procedure", mission)
    assert variant is not None and [b.key for b in variant.bases] == [mission]
    assert base is not None and base.abroad and not variant.abroad

    def hit(code: str, rank: int) -> SearchHit:
        return SearchHit("procedure", code, names[code], 1 / (60 + rank), "header", {}, {})

    view = QueryView.of("chứng thực chữ ký mất phí bao nhiêu", glossary, fillers)
    hits = [hit(home, 1), hit(mission, 2)]
    assert [h.id for h in family_order(view, hits, profiles, abroad_bases=False)[0]] == [
        home,
        mission,
    ]
    assert [h.id for h in family_order(view, hits, profiles)[0]] == [mission, home]
    # Asked by its whole name, it heads its family again.
    exact = QueryView.of("thủ tục chứng thực chữ ký trong các giấy tờ, văn bản", glossary, fillers)
    assert [h.id for h in family_order(exact, hits, profiles, abroad_bases=False)[0]] == [
        mission,
        home,
    ]
    # Nor is it brought in when the first stage missed it.
    assert family_order(view, [hit(home, 1)], profiles, abroad_bases=False)[1] == []
    assert family_order(view, [hit(home, 1)], profiles)[1] == [(0, mission)]
