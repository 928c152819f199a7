"""Example questions: citizens' questions labelled with the procedure they need.

The second stage consults them as a memory. ``tthc rank train`` writes the train part
of the strict evaluation set (``eval/strict/*.jsonl``; never its test part) and the
training-only questions (``indexer/data/train_questions/``) beside the model, with each
question's query embedding: ``example_questions.jsonl`` (one
``{"question", "expected"}`` per line) and ``example_questions.npy`` (``(n, d)``
float32, L2-normalised, in the same order). For a new question and each candidate the
reranker then reads four numbers (:data:`EXAMPLE_FEATURES`):

* ``example_sim``: cosine between the question and the closest example labelled with
  the candidate (0 when no example names it);
* ``example_gap``: that cosine minus the closest example's of all (``-1`` when no
  example names the candidate);
* ``example_first``: 1 when the closest example of all names the candidate;
* ``example_votes``: the summed cosines of the :data:`TOP` closest examples that name it.

A question worded like one already answered then finds the same procedure, even when
its words are not in the record's name ("đánh rơi CC" → cấp lại thẻ căn cước). The
vectors belong to one embedding model (``model_id``); a process that embeds with another
model does not use them (the four numbers stay at their "no example" values).
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

_BLAS: Any = None


def _one_blas_thread() -> Any:
    """A context in which BLAS runs on one thread.

    Over about 1,000 examples OpenBLAS splits this one matrix-vector product over its
    threads, which then spin waiting for more work while the query embedder's own threads
    run: measured here (2 cores, 1,722 examples), search + rerank p50/p95 went from
    29 / 42 ms to 64 / 131 ms. The product itself takes 0.03 ms on one thread.
    """
    global _BLAS
    if _BLAS is None:
        from threadpoolctl import ThreadpoolController

        _BLAS = ThreadpoolController()
    return _BLAS.limit(limits=1, user_api="blas")


EXAMPLE_FEATURES: tuple[str, ...] = (
    "example_sim",
    "example_gap",
    "example_first",
    "example_votes",
)

#: How many closest examples vote (``example_votes``).
TOP = 5

QUESTIONS_FILE = "example_questions.jsonl"
VECTORS_FILE = "example_questions.npy"

Vector = npt.NDArray[np.float32]


class ExampleError(Exception):
    """The example files are missing, damaged or do not match each other."""


@dataclass(frozen=True)
class ExampleMemory:
    """Labelled example questions and their query vectors (rows in the same order)."""

    questions: tuple[str, ...]
    expected: tuple[tuple[str, ...], ...]
    vectors: npt.NDArray[np.float32]
    model_id: str
    _by_key: dict[str, tuple[int, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if len(self.questions) != len(self.expected) or len(self.questions) != len(self.vectors):
            raise ExampleError(
                f"{len(self.questions)} questions, {len(self.expected)} labels and "
                f"{len(self.vectors)} vectors: they must match"
            )
        by_key: dict[str, list[int]] = {}
        for row, keys in enumerate(self.expected):
            for key in keys:
                by_key.setdefault(key, []).append(row)
        object.__setattr__(self, "_by_key", {k: tuple(v) for k, v in by_key.items()})

    @classmethod
    def of(
        cls, items: Iterable[tuple[str, Sequence[str]]], vectors: dict[str, Vector], model_id: str
    ) -> ExampleMemory:
        """A memory of ``(question, expected keys)`` items; ``vectors`` maps each
        question to its query embedding."""
        listed = list(items)
        dimension = next(iter(vectors.values())).shape[0] if vectors else 0
        matrix = (
            np.stack([vectors[q] for q, _ in listed]).astype(np.float32)
            if listed
            else np.zeros((0, dimension), dtype=np.float32)
        )
        return cls(
            questions=tuple(q for q, _ in listed),
            expected=tuple(tuple(e) for _, e in listed),
            vectors=matrix,
            model_id=model_id,
        )

    @classmethod
    def none(cls) -> ExampleMemory:
        """No examples: every candidate gets the "no example" values."""
        return cls((), (), np.zeros((0, 0), dtype=np.float32), model_id="")

    def __len__(self) -> int:
        return len(self.questions)

    def features(self, vector: Vector | None, keys: Sequence[str]) -> npt.NDArray[np.float32]:
        """``(len(keys), 4)`` rows of :data:`EXAMPLE_FEATURES` for the candidates ``keys``
        of a question embedded as ``vector`` (``None``, or an empty memory: the
        "no example" values)."""
        out = np.zeros((len(keys), len(EXAMPLE_FEATURES)), dtype=np.float32)
        out[:, 1] = -1.0
        if vector is None or not len(self.questions) or not len(keys):
            return out
        with _one_blas_thread():
            sims = self.vectors @ np.asarray(vector, dtype=np.float32)
        order = np.argsort(-sims, kind="stable")
        best = float(sims[order[0]])
        top = set(order[:TOP].tolist())
        first = set(self.expected[int(order[0])])
        for row, key in enumerate(keys):
            labelled = self._by_key.get(key, ())
            if not labelled:
                continue
            closest = max(float(sims[i]) for i in labelled)
            out[row, 0] = closest
            out[row, 1] = closest - best
            out[row, 2] = float(key in first)
            out[row, 3] = sum(float(sims[i]) for i in labelled if i in top)
        return out

    def write(self, folder: Path) -> dict[str, Any]:
        """Write both files into ``folder``; returns what the model's sidecar records."""
        folder.mkdir(parents=True, exist_ok=True)
        lines = "".join(
            json.dumps({"question": q, "expected": list(e)}, ensure_ascii=False) + "\n"
            for q, e in zip(self.questions, self.expected, strict=True)
        )
        tmp = folder / (QUESTIONS_FILE + ".tmp")
        tmp.write_text(lines, "utf-8")
        tmp.replace(folder / QUESTIONS_FILE)
        tmp = folder / (VECTORS_FILE + ".tmp")
        with tmp.open("wb") as handle:  # np.save adds ".npy" to a path, not to a handle
            np.save(handle, self.vectors, allow_pickle=False)
        tmp.replace(folder / VECTORS_FILE)
        return {
            "questions": QUESTIONS_FILE,
            "vectors": VECTORS_FILE,
            "count": len(self.questions),
            "model_id": self.model_id,
            "sha256": _digest(
                (folder / QUESTIONS_FILE).read_bytes(), (folder / VECTORS_FILE).read_bytes()
            ),
        }

    @classmethod
    def load(cls, folder: Path, meta: dict[str, Any]) -> ExampleMemory:
        """The memory a model's sidecar entry ``meta`` describes, from ``folder``.

        Raises :class:`ExampleError` when a file is missing or damaged, or its
        SHA-256 is not the recorded one.
        """
        try:
            questions_path = folder / str(meta["questions"])
            questions_bytes = questions_path.read_bytes()
            vectors_bytes = (folder / str(meta["vectors"])).read_bytes()
            if _digest(questions_bytes, vectors_bytes) != meta.get("sha256"):
                raise ExampleError(f"{questions_path}: SHA-256 is not the one the model records")
            items = [
                json.loads(line)
                for line in questions_bytes.decode("utf-8").splitlines()
                if line.strip()
            ]
            vectors = np.load(io.BytesIO(vectors_bytes), allow_pickle=False).astype(np.float32)
            return cls(
                questions=tuple(str(i["question"]) for i in items),
                expected=tuple(tuple(str(k) for k in i["expected"]) for i in items),
                vectors=vectors,
                model_id=str(meta["model_id"]),
            )
        except ExampleError:
            raise
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ExampleError(f"cannot load the example questions in {folder}: {exc}") from exc


def _digest(questions: bytes, vectors: bytes) -> str:
    """SHA-256 over both files' bytes (questions first)."""
    return hashlib.sha256(questions + vectors).hexdigest()
