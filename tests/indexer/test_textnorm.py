"""The one normaliser, the glossary and the accent restorer."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest

from indexer.accents import AccentRestorer
from indexer.components import DEFAULT_FILLERS
from indexer.glossary import Glossary, GlossaryError
from indexer.textnorm import (
    QueryFillers,
    fold,
    has_diacritics,
    has_phrase,
    keyword_terms,
    nfc,
    normalize,
    syllables,
)


@pytest.mark.parametrize(
    "a,b",
    [("hoà", "hòa"), ("Thuý", "thúy"), ("khoẻ", "khỏe"), ("TOÀ ÁN", "tòa án")],
)
def test_tone_placement_styles_are_equal(a: str, b: str) -> None:
    assert normalize(a) == normalize(b)


def test_qu_and_inner_vowels_are_left_alone() -> None:
    assert normalize("Quý khách") == "quý khách"
    assert normalize("hoàn thành") == "hoàn thành"
    assert normalize("Huỳnh") == "huỳnh"


def test_decomposed_input_is_composed() -> None:
    decomposed = unicodedata.normalize("NFD", "Đăng ký khai sinh")
    assert nfc(decomposed) == "Đăng ký khai sinh"
    assert normalize(decomposed) == "đăng ký khai sinh"


def test_fold_and_terms() -> None:
    assert fold("Đăng ký Thường trú") == "dang ky thuong tru"
    assert not has_diacritics("lam lai cccd") and has_diacritics("làm lại")
    assert keyword_terms("Cấp lại GPLX") == ["cap", "lai", "gplx", "cap_lai", "lai_gplx"]


def test_glossary_expands_and_aliases(glossary: Glossary) -> None:
    assert "giấy phép lái xe" in glossary.expand("doi GPLX het han")
    assert "giấy chứng nhận quyền sử dụng đất" in glossary.expand("làm sổ đỏ")
    assert "cccd" in glossary.aliases("Cấp lại thẻ căn cước")
    assert glossary.expand("thời tiết hôm nay") == "thời tiết hôm nay"


def test_glossary_aliases_match_whole_syllables_in_file_order(tmp_path: Path) -> None:
    path = tmp_path / "words.tsv"
    path.write_text(
        "gplx\tgiấy phép lái xe\n"
        "mat bao lau\t-\n"
        "cccd\tthẻ căn cước; căn cước công dân\n"
        "bang lai\tgiấy phép lái xe\n"
        "ho khau\tthường trú\n",
        "utf-8",
    )
    glossary = Glossary.load(path)
    # Every term whose wording the name holds, once each, in the file's order; a "-"
    # (drop-only) entry is never an alias.
    assert glossary.aliases("Đổi giấy phép lái xe và thẻ căn cước") == ["gplx", "cccd", "bang lai"]
    # Whole syllables only: "thường trực" does not hold "thường trú".
    assert glossary.aliases("Đăng ký thường trực") == []
    assert glossary.aliases("Đăng ký thường trú") == ["ho khau"]
    assert glossary.aliases("") == []


def test_glossary_file_errors_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "extra.tsv"
    path.write_text("# comment\nok\tđúng\nno tab here\n", "utf-8")
    with pytest.raises(GlossaryError, match=r"extra\.tsv:3"):
        Glossary.load(path)


def test_staff_glossary_file_is_merged(tmp_path: Path, glossary: Glossary) -> None:
    extra = tmp_path / "extra.tsv"
    extra.write_text("giay ket hon\tđăng ký kết hôn\nhon thu\tđăng ký kết hôn\n", "utf-8")
    from indexer.glossary import DEFAULT_GLOSSARY

    merged = Glossary.load(DEFAULT_GLOSSARY, extra)
    assert "đăng ký kết hôn" in merged.expand("lam hon thu")
    assert len(merged.entries) == len(glossary.entries) + 2


def test_accent_restorer_learns_from_passages(tmp_path: Path) -> None:
    restorer = AccentRestorer.from_texts(
        [
            "Cấp lại thẻ căn cước",
            "Cấp lại giấy phép lái xe",
            "Đổi giấy phép lái xe",
            "Đăng ký khai sinh",
            "khai sinh",
        ]
    )
    assert restorer.restore("cap lai can cuoc") == "cấp lại căn cước"
    assert restorer.restore("lam khai sinh xyz") == "lam khai sinh xyz"  # unknown words stay
    assert restorer.restore("Cấp lại") == "cấp lại"  # accented input untouched
    path = tmp_path / "a.json"
    restorer.save(path)
    assert AccentRestorer.load(path).restore("cap lai giay phep lai xe") == (
        "cấp lại giấy phép lái xe"
    )


def test_fillers_are_stripped() -> None:
    fillers = QueryFillers.load(DEFAULT_FILLERS)
    assert fillers.remove_from("Cho mình hỏi làm lại CCCD ở đâu ạ") == "làm lại cccd"
    assert fillers.remove_from("cho minh hoi lam lai cccd o dau") == "lam lai cccd"
    assert fillers.remove_from("thủ tục") == "thủ tục"  # never strips to nothing


def test_a_phrase_is_found_only_as_a_contiguous_run_of_whole_syllables() -> None:
    words = syllables("Con sinh ở nước ngoài")
    assert has_phrase(words, ("nuoc", "ngoai"))
    assert not has_phrase(words, ("sinh", "nuoc"))  # not contiguous
    assert not has_phrase(words, ("nuoc", "ngoai", "xa"))  # runs past the end
    assert not has_phrase(syllables("nước ngoàii"), ("nuoc", "ngoai"))  # whole syllables only
    assert has_phrase(words, ())
