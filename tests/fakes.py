"""Fakes held to the same contract tests as the real classes."""

from __future__ import annotations

import dataclasses
import hashlib
import threading
from typing import Any

import numpy as np

from bot.engine import texts
from bot.engine.intake import too_long
from bot.engine.model import Answer, Question
from indexer.embedding import Vectors
from indexer.textnorm import keyword_terms


class FakeEmbedder:
    """Deterministic bag-of-terms hashing embedder: fast, offline, meaning-free.

    Texts sharing folded syllables get similar vectors, which is enough to exercise
    indexing, caching, fusion and generation handling without the real model.
    """

    def __init__(self, *, dimension: int = 64, model_id: str = "fake-hash-64") -> None:
        self._dimension = dimension
        self._model_id = model_id
        self.calls = 0
        self.texts_embedded = 0

    @property
    def model_id(self) -> str:
        return self._model_id

    @property
    def dimension(self) -> int:
        return self._dimension

    @property
    def prompts(self) -> dict[str, str]:
        return {"query": "", "passage": ""}

    def _embed(self, texts: list[str]) -> Vectors:
        self.calls += 1
        self.texts_embedded += len(texts)
        out = np.zeros((len(texts), self._dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for term in keyword_terms(text):
                digest = hashlib.md5(term.encode()).digest()
                out[row, digest[0] % self._dimension] += 1.0 if digest[1] % 2 else -1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        return out / norms

    def embed_queries(self, texts: list[str]) -> Vectors:
        return self._embed(texts)

    def embed_passages(self, texts: list[str]) -> Vectors:
        return self._embed(texts)


class FakeAnswerer:
    """An :class:`bot.engine.model.Answerer` for plumbing tests: no index, no ranking.

    Answers every question with ``text`` (status ``answered``, no citation) unless
    ``script`` holds an :class:`~bot.engine.model.Answer` for that exact question text;
    scripted answers are returned as a copy whose ``question`` is the asked text. When
    ``gate`` is given, every call waits for it (at most 30 s) first, so a test can see
    what a channel shows while an answer is being computed. Held to the same contract
    as :class:`bot.engine.engine.AnswerEngine` (``tests/bot/test_answerer_contract.py``).
    """

    def __init__(
        self,
        text: str = "Trả lời thử nghiệm.",
        *,
        script: dict[str, Answer] | None = None,
        gate: threading.Event | None = None,
    ) -> None:
        self.text = text
        self.script: dict[str, Answer] = dict(script or {})
        self.gate = gate
        self.questions: list[Question] = []

    def answer(self, question: Question) -> Answer:
        self.questions.append(question)
        if self.gate is not None:
            self.gate.wait(timeout=30)
        if too_long(question.text):  # as the engine: over-long questions are not answered
            return Answer(question=question.text, status="too_long", text=texts.TOO_LONG)
        scripted = self.script.get(question.text.strip())
        if scripted is not None:
            return dataclasses.replace(scripted, question=question.text)
        return Answer(question=question.text, status="answered", text=self.text)


class FakeIndexRefresh:
    """An :class:`knowledge.refresh.IndexRefresh` that records what was asked."""

    def __init__(self) -> None:
        self.requests: list[str] = []

    def request(self, reason: str) -> None:
        self.requests.append(reason)

    def status(self) -> dict[str, Any]:
        return {
            "generation": "gen-test",
            "knowledge_revision": 7,
            "build_state": "pending" if self.requests else "idle",
        }
