"""The engine's choices, vague questions and same-name groups, over a scripted search.

The search is a fake that returns fixed hits, so these tests say nothing about
ranking (that is the quality benchmark's job); they pin what the engine does with a
ranking it is given.
"""

from __future__ import annotations

from typing import Any

import pytest

from bot.engine import texts
from bot.engine.composer import GENERAL_LIMIT, compose_procedure
from bot.engine.conversation import InMemoryConversationStore
from bot.engine.engine import AnswerEngine
from bot.engine.intents import choice_number, is_vague
from bot.engine.model import Question
from indexer.retriever import SearchHit

TRUSTED = {"dense": 0.95, "keyword": 20.0, "keyword_titles": 20.0}

RECORDS: dict[str, dict[str, Any]] = {
    "1.001445": {
        "code": "1.001445",
        "name": "Trình báo mất hộ chiếu phổ thông (thực hiện tại cấp tỉnh)",
        "levels": ["Cấp tỉnh"],
        "implementing_agencies": "Công an tỉnh Lai Châu",
    },
    "1.010386": {
        "code": "1.010386",
        "name": "Trình báo mất hộ chiếu phổ thông (thực hiện tại cấp xã)",
        "levels": ["Cấp xã"],
        "implementing_agencies": "Công an xã",
    },
    "1.001193": {"code": "1.001193", "name": "Thủ tục đăng ký khai sinh", "levels": ["Cấp xã"]},
    "1.014064": {"code": "1.014064", "name": "Cấp lại thẻ căn cước", "levels": ["Cấp xã"]},
    "1.014063": {"code": "1.014063", "name": "Cấp đổi thẻ căn cước", "levels": ["Cấp xã"]},
    "1.115269": {"code": "1.115269", "name": "Cấp đổi giấy chứng nhận đã cấp.", "levels": []},
    "1.003583": {
        "code": "1.003583",
        "name": "Thủ tục đăng ký khai sinh lưu động",
        "levels": ["Cấp xã"],
    },
    "2.000528": {
        "code": "2.000528",
        "name": "Thủ tục đăng ký khai sinh có yếu tố nước ngoài",
        "levels": ["Cấp xã"],
    },
}


class ScriptedKnowledge:
    """Returns the hits scripted for a question; reads records from :data:`RECORDS`."""

    def __init__(self, script: dict[str, list[SearchHit]]) -> None:
        self.script = script

    def search(self, query: str, *, k: int = 10, kinds: Any = None) -> list[SearchHit]:
        if kinds and "procedure" not in kinds:
            return []
        return self.script.get(query, [])[:k]

    def record(self, kind: str, record_id: str) -> dict[str, Any] | None:
        return RECORDS.get(record_id)


def hit(code: str, **extra: Any) -> SearchHit:
    return SearchHit(
        kind="procedure",
        id=code,
        title=RECORDS[code]["name"],
        score=0.05,
        field="header",
        raw=dict(TRUSTED),
        **extra,
    )


@pytest.fixture
def engine() -> AnswerEngine:
    script = {
        "mất hộ chiếu báo ở đâu": [hit("1.010386", same_name=("1.001445",))],
        # The province's record ranked first: the commune's is closer to the citizen.
        "báo mất hộ chiếu": [hit("1.001445", same_name=("1.010386",))],
        "báo mất hộ chiếu cấp tỉnh": [hit("1.001445", same_name=("1.010386",))],
        # "cấp đổi" alone finds another paper; with the topic, the topic's own card.
        "cấp lại thẻ căn cước": [hit("1.014064")],
        "cấp đổi": [hit("1.115269")],
        "Cấp lại thẻ căn cước cấp đổi": [hit("1.115269"), hit("1.014064"), hit("1.014063")],
        "khai sinh cho bé": [
            hit("1.001193"),
            hit("1.003583", variant_of=("1.001193",)),
            hit("2.000528", variant_of=("1.001193",)),
        ],
    }
    return AnswerEngine(
        knowledge=ScriptedKnowledge(script), conversations=InMemoryConversationStore()
    )


def test_same_name_answer_says_where_and_offers_the_others(engine: AnswerEngine) -> None:
    answer = engine.answer(Question(text="mất hộ chiếu báo ở đâu", user_id="a"))
    assert answer.citations[0].id == "1.010386"
    assert texts.ANSWER_IS_FOR.format(where="Cấp xã; Công an xã") in answer.text
    assert [c.id for c in answer.choices] == ["1.001445"]
    assert "Cấp tỉnh; Công an tỉnh Lai Châu" in answer.choices[0].label


def test_the_citizens_province_picks_its_record(engine: AnswerEngine) -> None:
    answer = engine.answer(Question(text="mất hộ chiếu báo ở đâu", user_id="b", area="Lai Châu"))
    assert answer.citations[0].id == "1.001445"
    assert [c.id for c in answer.choices] == ["1.010386"]


def test_with_no_level_named_the_group_answers_its_closest_record(engine: AnswerEngine) -> None:
    answer = engine.answer(Question(text="báo mất hộ chiếu", user_id="d"))
    assert answer.citations[0].id == "1.010386"
    assert texts.ANSWER_IS_FOR.format(where="Cấp xã; Công an xã") in answer.text
    assert [c.id for c in answer.choices] == ["1.001445"]
    # A level the question names keeps the ranking's record; a known area still wins.
    named = engine.answer(Question(text="báo mất hộ chiếu cấp tỉnh", user_id="e"))
    assert named.citations[0].id == "1.001445"
    area = engine.answer(Question(text="báo mất hộ chiếu", user_id="f", area="Lai Châu"))
    assert area.citations[0].id == "1.001445"


def test_a_reply_swapping_the_topics_action_stays_on_its_object(engine: AnswerEngine) -> None:
    engine.answer(Question(text="cấp lại thẻ căn cước", user_id="g"))
    answer = engine.answer(Question(text="cấp đổi", user_id="g"))
    assert answer.citations[0].id == "1.014063"
    # Without the topic, the same words are a question of their own.
    fresh = engine.answer(Question(text="cấp đổi", user_id="h"))
    assert fresh.citations[0].id == "1.115269"


def test_variants_are_numbered_and_ordinals_pick_them(engine: AnswerEngine) -> None:
    answer = engine.answer(Question(text="khai sinh cho bé", user_id="c"))
    assert answer.citations[0].id == "1.001193"
    assert [c.id for c in answer.choices] == ["1.003583", "2.000528"]
    first = engine.answer(Question(text="cái đầu tiên", user_id="c"))
    assert first.citations[0].id == "1.003583"


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("2", 2),
        ("số 2", 2),
        ("chọn số 3", 3),
        ("cái thứ hai", 2),
        ("cai dau tien", 1),
        ("thứ nhất", 1),
        ("đăng ký khai sinh", None),
        ("2 con", None),
    ],
)
def test_choice_number(text: str, number: int | None) -> None:
    assert choice_number(text) == number


@pytest.mark.parametrize(
    ("text", "vague"),
    [
        ("cho hỏi cái", True),
        ("thủ tục", True),
        ("giấy tờ", True),
        ("lệ phí bao nhiêu?", True),
        ("", True),
        ("khai sinh", False),
        ("hộ chiếu", False),
    ],
)
def test_is_vague(text: str, vague: bool) -> None:
    assert is_vague(text) is vague


def test_related_line_fits_its_budget_and_the_answer_its_limit(
    engine: AnswerEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    full = engine.answer(Question(text="khai sinh cho bé", user_id="d"))
    assert len(full.choices) == 2 and len(full.text) <= GENERAL_LIMIT
    # With room for one option only, the second one is left out.
    block = full.text[full.text.index("\n\n" + texts.RELATED_INTRO) :]
    monkeypatch.setattr("bot.engine.engine.RELATED_BUDGET", len(block.rsplit("\n", 1)[0]))
    trimmed = engine.answer(Question(text="khai sinh cho bé", user_id="e"))
    assert [c.id for c in trimmed.choices] == ["1.003583"]


def test_the_answer_is_composed_shorter_to_make_room() -> None:
    record = {
        "code": "1.001193",
        "name": "Thủ tục đăng ký khai sinh",
        "levels": ["Cấp xã"],
        "implementing_agencies": "Ủy ban nhân dân cấp xã",
        "documents": [{"name": f"Giấy tờ số {i} " + "rất dài " * 20} for i in range(30)],
    }
    plain = compose_procedure(record, None)
    shorter = compose_procedure(record, None, reserve=400)
    assert len(plain) <= GENERAL_LIMIT and len(shorter) <= GENERAL_LIMIT - 400


def test_a_learned_ranking_stands_over_a_name_the_question_holds() -> None:
    """ "đăng ký khai sinh" is held whole by the question, but the ranker put the variant
    for births abroad first (the question says where): its order stands. Without a
    learned ranker's scores, the name the question holds wins."""
    question = "con sinh ở Nhật, muốn đăng ký khai sinh tại đại sứ quán Việt Nam bên đó"
    ranked = [hit("2.000528", variant_of=("1.001193",), rerank=2.5), hit("1.001193", rerank=1.1)]
    unranked = [hit("2.000528", variant_of=("1.001193",)), hit("1.001193")]
    for hits, cited in ((ranked, "2.000528"), (unranked, "1.001193")):
        engine = AnswerEngine(
            knowledge=ScriptedKnowledge({question: hits}),
            conversations=InMemoryConversationStore(),
        )
        assert engine.answer(Question(text=question, user_id="r")).citations[0].id == cited
