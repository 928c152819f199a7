"""The handoff service's exceptions; ``str()`` of each is Vietnamese, for the officer."""

from __future__ import annotations


class HandoffError(Exception):
    """Base of every refusal of the officer service."""


class HandoffNotFound(HandoffError):
    """No such handoff, or it is already closed."""


class HandoffConflict(HandoffError):
    """Another officer holds the conversation."""
