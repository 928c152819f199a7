"""The port through which a publish reaches the index: :class:`IndexRefresh`.

Knowledge may not import the indexer, so the workflow calls this role-named protocol
and the composition root passes the real implementation (a debounced, incremental
``tthc index build`` run as a job).
"""

from __future__ import annotations

from typing import Any, Protocol


class IndexRefresh(Protocol):
    """Brings the serving index generation up to date with the published knowledge.

    ``request(reason)`` asks for a (debounced) rebuild and returns at once; ``reason``
    is a short text for the log ("procedure 1.004222 published"). ``status()`` is a
    JSON-ready dict the admin home page shows; known keys (all optional):
    ``generation`` (serving generation name), ``knowledge_revision`` (the newest revision
    it was built from), ``build_state`` (``idle`` | ``pending`` | ``running`` |
    ``failed``), ``pending_reasons`` (list of str), ``message`` (Vietnamese, for staff).
    """

    def request(self, reason: str) -> None:
        """Ask for a rebuild soon; never raises for a busy builder."""
        ...

    def status(self) -> dict[str, Any]:
        """What serves now and what the builder is doing."""
        ...
