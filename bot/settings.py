"""Settings of the assistant process (prefix ``TTHC_``)."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class BotSettings(BaseSettings):
    """Conversation behaviour of the answer engine."""

    model_config = SettingsConfigDict(env_prefix="TTHC_", env_file=".env", extra="ignore")

    #: Seconds of silence after which a conversation (topic, pending choice) is forgotten.
    conversation_ttl_seconds: int = 1800
