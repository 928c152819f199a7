"""Settings of the knowledge base, read from the environment (prefix ``TTHC_``)."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class KnowledgeSettings(BaseSettings):
    """Where the knowledge base lives.

    ``TTHC_DATABASE_URL`` wins; without it the embedded SQLite file
    ``$TTHC_DATA_DIR/tthc.sqlite3`` is used, so a fresh machine needs no server.
    """

    # An empty value (as copied from .env.example, or passed on by compose) means the
    # default: read as a path it would be the current directory.
    model_config = SettingsConfigDict(
        env_prefix="TTHC_", env_file=".env", extra="ignore", env_ignore_empty=True
    )

    data_dir: Path = Path("var")
    database_url: str = ""
    #: Where ``tthc kb import --bundled`` reads the public data; empty means the copy
    #: shipped inside the package (``knowledge/bundled_data``).
    bundled_data_dir: Path | None = None

    def resolved_database_url(self) -> str:
        """The SQLAlchemy URL to connect to (creates the data folder for SQLite)."""
        if self.database_url:
            return self.database_url
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{(self.data_dir / 'tthc.sqlite3').resolve()}"
