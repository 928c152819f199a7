"""A plain :class:`~knowledge.refresh.IndexRefresh`: reports what serves, remembers what waits.

Used until a background builder is configured: ``status()`` reads the serving generation
from the retriever; ``request()`` only records the reason, and the home page tells staff
that an operator must run ``tthc index build`` for the change to reach the bot.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from indexer.retriever import HybridRetriever

logger = logging.getLogger(__name__)


class ServingIndexStatus:
    """Status from the serving generation; rebuild requests are only remembered."""

    def __init__(self, *, retriever: HybridRetriever) -> None:
        self._retriever = retriever
        self._pending: list[str] = []
        self._lock = threading.Lock()

    def request(self, reason: str) -> None:
        """Remember that the index is behind (logged at INFO; no citizen data in it)."""
        logger.info("index rebuild needed: %s", reason)
        with self._lock:
            self._pending = [*self._pending, reason][-20:]

    def status(self) -> dict[str, Any]:
        """Serving generation and revision; ``pending`` until the index catches up."""
        serving = self._retriever.serving()
        revision = serving.manifest.knowledge_revision
        with self._lock:
            pending = list(self._pending)
        if pending:
            return {
                "generation": serving.generation,
                "knowledge_revision": revision,
                "build_state": "pending",
                "pending_reasons": pending,
                "message": (
                    "Đã xuất bản thay đổi nhưng chỉ mục chưa được xây dựng lại: "
                    "người vận hành cần chạy lệnh `tthc index build` để trợ lý trả lời theo "
                    "nội dung mới."
                ),
            }
        return {
            "generation": serving.generation,
            "knowledge_revision": revision,
            "build_state": "idle",
        }
