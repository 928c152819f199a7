"""Settings of the assistant process (prefix ``TTHC_``)."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class BotSettings(BaseSettings):
    """Conversation behaviour of the answer engine."""

    model_config = SettingsConfigDict(env_prefix="TTHC_", env_file=".env", extra="ignore")

    #: Seconds of silence after which a conversation (topic, pending choice) is forgotten.
    conversation_ttl_seconds: int = 1800


class ServerSettings(BaseSettings):
    """Where ``tthc serve`` listens (``TTHC_HOST``, ``TTHC_PORT``)."""

    model_config = SettingsConfigDict(env_prefix="TTHC_", env_file=".env", extra="ignore")

    host: str = "127.0.0.1"
    port: int = 8000
    #: Messages one user may send per minute before getting the polite "slow down".
    rate_limit_per_minute: int = 12
