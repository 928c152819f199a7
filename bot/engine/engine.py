"""The answer engine: reads the intent, searches, decides, composes. Never raises for
"no match": every path ends in an :class:`Answer` with a status."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.engine import texts
from bot.engine.composer import (
    compose_faq,
    compose_hotlines,
    compose_procedure,
    online_service,
    today_in_vietnam,
)
from bot.engine.conversation import ConversationState, ConversationStore
from bot.engine.hotlines import REQUEST_WORDS, pick_hotlines
from bot.engine.intake import clean_question, too_long
from bot.engine.intents import (
    choice_number,
    content_words,
    fold,
    has_admin_words,
    holds_words,
    is_vague,
    parse_choice,
    read_intent,
    refinement_words,
)
from bot.engine.masking import mask_personal_data
from bot.engine.model import (
    Answer,
    Aspect,
    Candidate,
    Choice,
    Citation,
    HotlineDirectory,
    KnowledgeSearch,
    Question,
    QuestionLog,
)
from bot.engine.plans import compose_plan, named_plan


@dataclass(frozen=True)
class Thresholds:
    """When the best hit is trusted. Calibrated on ``eval/answers_dev.jsonl`` (README).

    A hit is trusted when its dense cosine reaches ``dense`` and a keyword list also
    found it, or when its title matched strongly (BM25 ``title``) on its own.
    """

    dense: float = 0.85
    dense_alone: float = 0.89
    title: float = 12.0


#: At most this many related records (same name elsewhere, variants) are offered.
MAX_RELATED = 4
#: Characters the numbered line of related records may take under an answer.
RELATED_BUDGET = 420


class AnswerEngine:
    """Channel-neutral: a :class:`Question` in, an :class:`Answer` out."""

    def __init__(
        self,
        *,
        knowledge: KnowledgeSearch,
        conversations: ConversationStore,
        log: QuestionLog | None = None,
        thresholds: Thresholds | None = None,
        clock: Callable[[], float] = time.perf_counter,
        today: Callable[[], dt.date] = today_in_vietnam,
        hotlines: HotlineDirectory | None = None,
    ) -> None:
        self._knowledge = knowledge
        # Staff-entered hotlines (the database, cached briefly); without them, the
        # hotlines of the index generation.
        self._hotlines = hotlines
        self._conversations = conversations
        self._log = log
        self._thresholds = thresholds or Thresholds()
        self._clock = clock
        # The day decides which fee rate is in force; the caller owns the calendar.
        self._today = today

    # ------------------------------------------------------------------ entry

    def answer(self, question: Question) -> Answer:
        """Answer one message, continuing the (channel, user) conversation."""
        started = self._clock()
        if too_long(question.text):
            # Never searched, logged or remembered: the citizen is asked to shorten it.
            return Answer(question=question.text, status="too_long", text=texts.TOO_LONG)
        masked = mask_personal_data(clean_question(question.text).strip())
        state = self._conversations.load(question.channel, question.user_id)
        answer = self._answer(masked, question, state)
        self._count_misses(answer, state)
        answer.latency_ms = (self._clock() - started) * 1000
        self._conversations.save(question.channel, question.user_id, state)
        if answer.status in ("no_answer", "handoff") and self._log is not None:
            best = answer.candidates[0].id if answer.candidates else ""
            self._log.unanswered(
                question=masked, channel=question.channel, status=answer.status, best=best
            )
        return answer

    @staticmethod
    def _count_misses(answer: Answer, state: ConversationState) -> None:
        """Two no-answers in a row ask for a person; anything else starts the count anew."""
        if answer.status == "handoff":
            answer.handoff, state.misses = "asked", 0
        elif answer.status == "no_answer":
            state.misses += 1
            if state.misses >= 2:
                answer.handoff, state.misses = "failed_twice", 0
        else:
            state.misses = 0

    def hotline_text(self, area: str = "") -> str:
        """The lines for any "don't know" without a question (the apology): the area's,
        else the province's and national ones; the one-stop advice when there are none."""
        return self._hotline_text("", area)

    def _answer(self, text: str, question: Question, state: ConversationState) -> Answer:
        intent = read_intent(text)
        words = refinement_words(text)  # what a short reply narrows the topic with
        if question.choice is not None:
            return self._pressed(text, question.choice, intent.mentions_online, state)
        if state.pending_choices:
            choices, pending_aspect = state.pending_choices, state.pending_aspect
            state.pending_choices, state.pending_aspect = [], None
            number = choice_number(text)
            choice = parse_choice(text, choices)
            if (
                choice is not None
                and number is None
                and not holds_words(words, choice.label)
                and self._topic_holds(words, state)
            ):
                # "cấp tỉnh" after the province's answer, offered the central one: the
                # answer above was for it already.
                choice = None
            if number is not None and choice is None:
                # "7" for a list of four: show the same list again, keep it open.
                state.offer(choices, pending_aspect)
                return self._choices_answer(text, texts.CLARIFY_RETRY, choices, pending_aspect)
            if choice is not None:
                return self._about(
                    text,
                    choice.kind,
                    choice.id,
                    pending_aspect or intent.aspect,
                    state,
                    candidates=[],
                    prefer_online=intent.mentions_online,
                )
        if intent.kind == "smalltalk":
            reply = {"thanks": texts.THANKS, "who": texts.WHO_AM_I}.get(
                intent.smalltalk, texts.WELCOME
            )
            return Answer(question=text, status="smalltalk", text=reply)
        if intent.kind == "handoff":
            return Answer(
                question=text,
                status="handoff",
                text="\n".join([texts.HANDOFF, self._hotline_text(text, question.area)]),
            )
        if intent.kind == "online_levels":
            return Answer(
                question=text, status="answered", text=texts.ONLINE_LEVELS, aspect="online"
            )
        if intent.kind == "out_of_scope":
            return Answer(question=text, status="out_of_scope", text=texts.OUT_OF_SCOPE)
        if intent.kind == "hotline":
            return self._hotline(text, question.area)
        if intent.kind == "dossier_status":
            return Answer(question=text, status="no_answer", text=texts.DOSSIER_STATUS)
        if state.topic_id and self._is_follow_up(text, intent.aspect):
            return self._about(
                text,
                state.topic_kind,
                state.topic_id,
                intent.aspect,
                state,
                candidates=[],
                prefer_online=intent.mentions_online,
            )
        alone = None
        if self._topic_holds(words, state):
            narrowed: str | None = state.topic_id
        elif words and state.topic_kind == "procedure" and state.topic_id:
            # Searched once: the reply's own hits also answer it as a new question.
            alone = self._knowledge.search(text, k=10)
            narrowed = self._narrowed_topic(words, text, state, alone)
        else:
            narrowed = None
        if narrowed is not None:
            return self._about(
                text,
                "procedure",
                narrowed,
                intent.aspect,
                state,
                candidates=[],
                prefer_online=intent.mentions_online,
            )
        if is_vague(text):
            # "giấy tờ", "thủ tục", "cho hỏi cái", or "lệ phí bao nhiêu?" with no topic yet:
            # a random procedure would be a guess, so ask instead.
            reply = texts.ASK_WHICH_PROCEDURE if intent.aspect else texts.HELP_VAGUE
            return Answer(question=text, status="clarify", text=reply, aspect=intent.aspect)
        return self._search_and_answer(
            text, intent.aspect, intent.mentions_online, state, area=question.area, hits=alone
        )

    def _pressed(
        self, text: str, pressed: tuple[str, int], prefer_online: bool, state: ConversationState
    ) -> Answer:
        """A choice button: it answers from the list it was shown with, or says it expired."""
        list_id, number = pressed
        choices = state.choice_lists.get(list_id)
        if not choices:
            return Answer(question=text, status="clarify", text=texts.CHOICE_EXPIRED)
        choice = next((c for c in choices if c.number == number), None)
        if choice is None:
            return self._choices_answer(text, texts.CLARIFY_RETRY, choices, None)
        aspect = state.pending_aspect if state.pending_choices is choices else None
        state.pending_choices, state.pending_aspect = [], None
        return self._about(
            text, choice.kind, choice.id, aspect, state, candidates=[], prefer_online=prefer_online
        )

    @staticmethod
    def _choices_answer(
        text: str, intro: str, choices: list[Choice], aspect: Aspect | None
    ) -> Answer:
        lines = [intro, *(f"{c.number}. {c.label}" for c in choices)]
        return Answer(
            question=text, status="clarify", text="\n".join(lines), choices=choices, aspect=aspect
        )

    # --------------------------------------------------------------- decisions

    @staticmethod
    def _is_follow_up(text: str, aspect: Aspect | None) -> bool:
        """ "lệ phí bao nhiêu?", "còn giấy tờ?": an aspect and (almost) nothing else."""
        words = content_words(text)
        return (aspect is not None and len(words) <= 1) or (not words and len(text) < 40)

    def _topic_holds(self, words: list[str], state: ConversationState) -> bool:
        """Whether the topic procedure's name, levels and agencies hold every word."""
        if state.topic_kind != "procedure" or not state.topic_id or not words:
            return False
        record = self._knowledge.record("procedure", state.topic_id)
        return record is not None and holds_words(words, _full_label(record))

    def _narrowed_topic(
        self, words: list[str], text: str, state: ConversationState, alone: list[Any]
    ) -> str | None:
        """The procedure a short reply narrows the topic to, or ``None``.

        "cái lưu động" after "Thủ tục đăng ký khai sinh" means "Thủ tục đăng ký khai sinh
        lưu động" (the caller has already answered the topic itself when its name,
        levels and agencies hold the reply's words: "cấp tỉnh" after the province's
        passport answer). For a reply of at most
        :data:`~bot.engine.intents.REFINE_WORDS` words that narrow:

        1. none when the reply searched alone (``alone``) finds a trusted procedure with
           no base whose name holds every word and is at most twice as long ("tạm trú"
           after "đăng ký thường trú" is a new question, and so is "khai tử" after khai
           sinh);
        2. else, of the reply searched together with the topic's name, the first hit
           related to the topic (a record published under its name, its base, a variant
           of it or of its base, or the topic's name with some of its words swapped for
           the reply's: "cấp đổi" after "Cấp lại thẻ căn cước" is "Cấp đổi thẻ căn
           cước") whose name, levels and agencies hold every word.
        """
        topic = state.topic_id
        if (
            alone
            and alone[0].kind == "procedure"
            and not tuple(getattr(alone[0], "variant_of", ()))
            and self._trusted(alone[0])
            and holds_words(words, alone[0].title)
            and len(content_words(alone[0].title)) <= 2 * len(words)
        ):
            return None
        hits = self._knowledge.search(f"{state.topic_title} {text}", k=10)
        own = next((h for h in hits if h.kind == "procedure" and h.id == topic), None)
        bases = {topic, *getattr(own, "variant_of", ())}
        group = {topic, *getattr(own, "same_name", ())}
        for hit in hits:
            members: tuple[str, ...] = (hit.id, *getattr(hit, "same_name", ()))
            related = hit.kind == "procedure" and (
                bool(group.intersection(members))
                or hit.id in bases
                or bool(bases.intersection(getattr(hit, "variant_of", ())))
            )
            for key in members if hit.kind == "procedure" else ():
                other = self._knowledge.record("procedure", key) or {}
                name = str(other.get("name", ""))
                if (
                    other
                    and (related or _swaps_words(state.topic_title, name, words))
                    and holds_words(words, _full_label(other))
                ):
                    return str(key)
        return None

    def _trusted(self, hit: Any) -> bool:
        raw = hit.raw
        dense = raw.get("dense", 0.0)
        keyword = "keyword" in raw or "keyword_titles" in raw
        t = self._thresholds
        return (
            (dense >= t.dense and keyword)
            or dense >= t.dense_alone
            or raw.get("keyword_titles", 0.0) >= t.title
        )

    def _search_and_answer(
        self,
        text: str,
        aspect: Aspect | None,
        prefer_online: bool,
        state: ConversationState,
        *,
        area: str = "",
        hits: list[Any] | None = None,
    ) -> Answer:
        """Search ``text`` (unless its ``hits`` are given) and answer the best trusted hit."""
        if hits is None:
            hits = self._knowledge.search(text, k=10)
        candidates = [Candidate(h.kind, h.id, h.title, h.score) for h in hits]
        if not hits or not self._trusted(hits[0]):
            if not has_admin_words(text):
                return Answer(
                    question=text,
                    status="out_of_scope",
                    text=texts.OUT_OF_SCOPE,
                    candidates=candidates,
                    aspect=aspect,
                )
            reply = "\n".join([texts.NO_ANSWER, self._hotline_text(text, area)])
            return Answer(
                question=text, status="no_answer", text=reply, candidates=candidates, aspect=aspect
            )
        # A plan named by its number ("kế hoạch 733") wins. So does, when no learned
        # ranker ordered the hits, a candidate named exactly as typed ("đăng ký thường
        # trú"): a ranker weighs whole-name matches itself, against what else the question
        # says ("… khai sinh tại đại sứ quán" needs the variant for births abroad, not the
        # "đăng ký khai sinh" its words hold).
        ranked = any(getattr(hit, "rerank", 0.0) for hit in hits)
        exact = None if ranked else self._exact_title(text, hits)
        best = exact or named_plan(text, hits) or hits[0]
        best = self._for_area(self._for_level(best, text), area)
        related = self._related(best, hits)
        answer = self._about(
            text,
            best.kind,
            best.id,
            aspect,
            state,
            candidates=candidates,
            prefer_online=prefer_online,
            matched_field=best.field,
            reserve=len(related[1]) + 1 if related else 0,
        )
        if related and answer.status == "answered":
            choices, block = related
            state.offer(choices, aspect)
            answer.text = f"{answer.text}\n{block}"
            answer.choices = choices
        return answer

    def _for_area(self, best: Any, area: str) -> Any:
        """Of a same-name group, the record of the citizen's province when one is known.

        Returns ``best`` itself, or a copy of it standing for the area's record (the
        other members, ``best`` included, become its same-name list).
        """
        group = tuple(getattr(best, "same_name", ()))
        wanted = fold(area)
        if not group or not wanted:
            return best
        for key in group:
            record = self._knowledge.record("procedure", key) or {}
            where = fold(f"{record.get('name', '')} {record.get('implementing_agencies', '')}")
            if f" {wanted} " in f" {where} ":
                return _standing_for(best, key, record)
        return best

    def _for_level(self, best: Any, text: str) -> Any:
        """Of a same-name group, the record closest to the citizen when the question
        names no level: the commune's "Cấp thẻ căn cước …" rather than the central
        "… (thực hiện tại cấp trung ương)" that ranked first. Levels rank xã, huyện,
        tỉnh, bộ (a record at several counts at its lowest); ties keep ``best``.
        Returns ``best`` or a copy standing for the closer record (see :meth:`_for_area`).
        """
        group = tuple(getattr(best, "same_name", ()))
        if not group or _names_level(text):
            return best
        own = _level_rank(self._knowledge.record("procedure", best.id) or {})
        closest: tuple[int, str, dict[str, Any]] | None = None
        for key in group:
            record = self._knowledge.record("procedure", key) or {}
            rank = _level_rank(record)
            if rank < own and (closest is None or rank < closest[0]):
                closest = (rank, key, record)
        return best if closest is None else _standing_for(best, closest[1], closest[2])

    def _related(self, best: Any, hits: list[Any]) -> tuple[list[Choice], str] | None:
        """The numbered line of what else the citizen may have meant, and its text.

        The same procedure published by other levels or agencies (same name), and the
        variants of the answered base that the search also found ("… lưu động",
        "… có yếu tố nước ngoài"): the answer stays on the base, the citizen picks a
        number for a special case. The line takes at most :data:`RELATED_BUDGET`
        characters (fewer options rather than more); the answer above it is composed
        that much shorter, so the reply keeps its length limit.
        """
        if best.kind != "procedure":
            return None
        options: list[tuple[str, str]] = []
        same = tuple(getattr(best, "same_name", ()))
        for key in same[:MAX_RELATED]:
            record = self._knowledge.record("procedure", key)
            if record is not None:
                options.append((key, _where_label(record)))
        for hit in hits[1:8]:
            if len(options) >= MAX_RELATED:
                break
            if hit.kind == "procedure" and best.id in tuple(getattr(hit, "variant_of", ())):
                options.append((hit.id, _short(hit.title)))
        head = [""]
        if same:
            own = self._knowledge.record("procedure", best.id) or {}
            head.append(texts.ANSWER_IS_FOR.format(where=_where_label(own, with_name=False)))
        head.append(texts.RELATED_INTRO)
        while options:
            block = "\n".join(
                head + [f"{n}. {label}" for n, (_key, label) in enumerate(options, start=1)]
            )
            if len(block) <= RELATED_BUDGET:
                break
            options.pop()
        if not options:
            return None
        list_id = uuid.uuid4().hex[:8]
        choices = [
            Choice(n, label, "procedure", key, list_id)
            for n, (key, label) in enumerate(options, start=1)
        ]
        return choices, block

    @staticmethod
    def _exact_title(text: str, hits: list[Any]) -> Any | None:
        """A candidate whose name is exactly what was typed ("đăng ký thường trú").

        A whole name held by the question wins first, the longest one: aspect words are
        also name words ("Phê duyệt kết quả nghiên cứu …" must not lose "kết quả" and
        become "Phê duyệt nghiên cứu …").
        """
        padded = f" {fold(text)} "
        names = [(fold(hit.title).removeprefix("thu tuc "), hit) for hit in hits[:5]]
        held = [(len(name.split()), hit) for name, hit in names if f" {name} " in padded]
        held = [(length, hit) for length, hit in held if length >= 3]
        if held:
            return max(held, key=lambda pair: pair[0])[1]
        typed = " ".join(content_words(text))
        return next((hit for name, hit in names if typed and name == typed), None)

    # ---------------------------------------------------------------- answers

    def _about(
        self,
        text: str,
        kind: str,
        record_id: str,
        aspect: Aspect | None,
        state: ConversationState,
        *,
        candidates: list[Candidate],
        prefer_online: bool = False,
        matched_field: str = "",
        reserve: int = 0,
    ) -> Answer:
        record = self._knowledge.record(kind, record_id)
        if record is None:  # the index moved on and the record was retired
            state.topic_kind = state.topic_id = ""
            return Answer(
                question=text,
                status="no_answer",
                text="\n".join([texts.NO_ANSWER, texts.ONE_STOP]),
                candidates=candidates,
            )
        service = None
        if kind == "procedure":
            if aspect is None and prefer_online:
                aspect = "online"
            body = compose_procedure(
                record, aspect, prefer_online=prefer_online, today=self._today(), reserve=reserve
            )
            url = record.get("portal_url") or None
            title = record["name"]
            service = online_service(record)
            state.topic_kind, state.topic_id, state.topic_title = kind, record_id, title
        elif kind == "faq":
            body, url, title = (
                compose_faq(record),
                record.get("source_url") or None,
                record["question"],
            )
        elif kind == "plan":
            body, url = compose_plan(record, matched_field, question=text), None
            title = record["title"]
        else:
            body, url, title = compose_hotlines([record]), None, record["name"]
        if not candidates:
            candidates = [Candidate(kind, record_id, title, 1.0)]
        return Answer(
            question=text,
            status="answered",
            text=body,
            candidates=candidates,
            citations=[Citation(kind, record_id, title, url)],
            online_service=service,
            aspect=aspect,
        )

    def _hotline_records(
        self, text: str, area: str = "", *, asks_for_line: bool = True
    ) -> list[dict[str, Any]]:
        """Hotlines the question (or the user's known area) points at."""
        if self._hotlines is not None:
            try:
                return pick_hotlines(
                    self._hotlines.published(), text, area, asks_for_line=asks_for_line
                )
            except Exception:
                logging.getLogger(__name__).exception("reading the hotlines failed")
        text = f"{text} {area}".strip()
        if not text:
            return []
        hits = self._knowledge.search(text, k=5, kinds=["hotline"])
        wanted = set(content_words(text)) - REQUEST_WORDS
        found = []
        for hit in hits:
            record = self._knowledge.record("hotline", hit.id)
            if record is None:
                continue
            # A line of one province must not answer for another: its area must be named.
            line_area = set(fold(record.get("area", "")).split())
            name = set(fold(record["name"]).split())
            if line_area and not line_area <= wanted:
                continue
            if wanted and len(wanted & (name | line_area)) >= max(1, min(2, len(wanted))):
                found.append(record)
        return found

    def _hotline_text(self, text: str, area: str = "") -> str:
        """The lines added to a "don't know", a handoff or the apology."""
        records = self._hotline_records(text, area, asks_for_line=False)
        return compose_hotlines(records) if records else texts.ONE_STOP

    def _hotline(self, text: str, area: str = "") -> Answer:
        records = self._hotline_records(text, area)
        if not records:
            return Answer(
                question=text,
                status="no_answer",
                text="\n".join([texts.HOTLINE_NONE, texts.ONE_STOP]),
            )
        return Answer(
            question=text,
            status="answered",
            text=compose_hotlines(records),
            candidates=[Candidate("hotline", _hotline_key(r), r["name"], 1.0) for r in records],
            citations=[Citation("hotline", _hotline_key(r), r["name"], None) for r in records],
            aspect="hotline",
        )


def _short(title: str, limit: int = 90) -> str:
    title = " ".join(title.split())
    return title if len(title) <= limit else title[: limit - 1].rsplit(" ", 1)[0] + "…"


def _where_label(record: dict[str, Any], *, with_name: bool = True) -> str:
    """"<name> — Cấp tỉnh, Công an tỉnh": which level and agency a record is for."""
    levels = ", ".join(record.get("levels") or [])
    agency = _short(str(record.get("implementing_agencies") or ""), 60)
    where = "; ".join(x for x in (levels, agency) if x) or texts.WHERE_UNKNOWN
    return f"{_short(str(record.get('name', '')), 70)} ({where})" if with_name else where


#: Levels of government, closest to the citizen first (folded words of ``levels``).
_LEVELS = ("xa", "huyen", "tinh", "bo")
#: Words that name a level in a question: the group's ranking then stands.
_LEVEL_WORDS = ("cap xa", "cap huyen", "cap tinh", "cap bo", "trung uong", "cong an tinh",
                "cong an huyen", "bo cong an", "cap phuong", "cap quan")


def _level_rank(record: dict[str, Any]) -> int:
    """0 for a commune-level record, 1 district, 2 province, 3 ministry, 4 unknown."""
    words = {w for level in record.get("levels") or [] for w in fold(str(level)).split()}
    return min((i for i, level in enumerate(_LEVELS) if level in words), default=len(_LEVELS))


def _names_level(text: str) -> bool:
    padded = f" {fold(text)} "
    return any(f" {words} " in padded for words in _LEVEL_WORDS)


def _standing_for(best: Any, key: str, record: dict[str, Any]) -> Any:
    """A copy of ``best`` standing for ``key``, another record of its same-name group
    (the other members, ``best`` included, become its same-name list); ``best`` itself
    for a hit type that is not a dataclass."""
    others = tuple(k for k in (best.id, *getattr(best, "same_name", ())) if k != key)
    try:
        return dataclasses.replace(
            best, id=key, title=record.get("name", best.title), same_name=others
        )
    except TypeError:
        return best


def _swaps_words(topic: str, name: str, words: list[str]) -> bool:
    """Whether ``name`` is ``topic`` with some of its words swapped for words of the
    reply: every word ``name`` adds is one of ``words``, and it drops no more words than
    it adds ("Cấp đổi thẻ căn cước" from "Cấp lại thẻ căn cước" and "cấp đổi").
    Compared folded, like the rest of a name's words."""
    have, new = set(fold(topic).split()), set(fold(name).split())
    added, dropped = new - have, have - new
    return bool(added) and added <= {fold(w) for w in words} and len(dropped) <= len(added)


def _full_label(record: dict[str, Any]) -> str:
    """A record's name, levels and implementing agencies, whole (what a reply may name)."""
    levels = " ".join(record.get("levels") or [])
    return f"{record.get('name', '')} {levels} {record.get('implementing_agencies') or ''}"


def _hotline_key(record: dict[str, Any]) -> str:
    return f"{record['scope']}|{record.get('area', '')}|{record['name']}"
