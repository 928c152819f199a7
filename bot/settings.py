"""Settings of the assistant process (prefix ``TTHC_``)."""

from __future__ import annotations

import itertools

import croniter
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.handoff.hours import DEFAULT_HOURS, DEFAULT_TIMEZONE, OfficeHours
from bot.request_body import DEFAULT_MAX_BODY_BYTES


class BotSettings(BaseSettings):
    """Conversation behaviour of the answer engine."""

    model_config = SettingsConfigDict(
        env_prefix="TTHC_", env_file=".env", extra="ignore", env_ignore_empty=True
    )

    #: Seconds of silence after which a conversation (topic, pending choice) is forgotten.
    conversation_ttl_seconds: int = 1800


class ServerSettings(BaseSettings):
    """Where ``tthc serve`` listens (``TTHC_HOST``, ``TTHC_PORT``)."""

    model_config = SettingsConfigDict(
        env_prefix="TTHC_", env_file=".env", extra="ignore", env_ignore_empty=True
    )

    host: str = "127.0.0.1"
    port: int = 8000
    #: Messages one user may send per minute before getting the polite "slow down".
    rate_limit_per_minute: int = 12
    #: Redis shared by every process (rate limits, conversations); empty: in memory
    #: for rate limits and the database for conversations.
    redis_url: str = ""
    #: Reverse proxies (comma-separated addresses) whose X-Forwarded-For is believed.
    trusted_proxies: str = ""
    #: Level of the log lines ``tthc serve`` and ``tthc worker`` write to stderr
    #: (DEBUG, INFO, WARNING, ERROR). No level carries a citizen's message or a token.
    log_level: str = "INFO"
    #: Fernet key that encrypts channel tokens in the database
    #: (``python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key())"``).
    token_key: SecretStr | None = None

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.strip().upper()
        if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
            raise ValueError(f"TTHC_LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR, not {value!r}")
        return level

    def token_key_value(self) -> str:
        """The token key, or "" when unset (tokens are then stored unencrypted)."""
        return _real(self.token_key, "TTHC_TOKEN_KEY")

    def trusted_proxy_set(self) -> frozenset[str]:
        """``trusted_proxies`` as a set of addresses."""
        return frozenset(p.strip() for p in self.trusted_proxies.split(",") if p.strip())

    def rate_limit_storage(self) -> str:
        """The ``limits`` storage URI: Redis when configured, else this process's memory."""
        return self.redis_url or "memory://"

    #: Largest request body read (webhooks, /api/chat, /api/feedback); larger gets 413.
    max_body_bytes: int = Field(default=DEFAULT_MAX_BODY_BYTES, ge=1024)
    #: Public address of this service (``https://tthc.example.gov.vn``). When set,
    #: online-service links in answers go through the counted redirect ``/r/<token>``;
    #: unset, answers keep the portal's link and clicks are not counted.
    public_base_url: str = ""

    @field_validator("public_base_url")
    @classmethod
    def _absolute_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if value and not value.startswith(("https://", "http://")):
            raise ValueError(
                f"TTHC_PUBLIC_BASE_URL must start with https:// (or http://), not {value!r}"
            )
        return value


class ReportSettings(BaseSettings):
    """What the periodic reports (``tthc report``, the admin dashboard) print."""

    model_config = SettingsConfigDict(
        env_prefix="TTHC_", env_file=".env", extra="ignore", env_ignore_empty=True
    )

    #: The reporting unit (đơn vị báo cáo), printed in the report's heading.
    report_unit: str = "Bộ phận Một cửa"
    #: The superior the report is addressed to (kính gửi); "" leaves the line out.
    report_recipient: str = ""


class PrivacySettings(BaseSettings):
    """How long citizens' personal data is kept (``TTHC_RETENTION_DAYS``, see
    :mod:`bot.privacy`)."""

    model_config = SettingsConfigDict(
        env_prefix="TTHC_", env_file=".env", extra="ignore", env_ignore_empty=True
    )

    #: Days after which message texts, user ids, conversations, handoff messages and
    #: inbox rows are purged (report figures stay); 0 keeps them forever. At most 100 years.
    retention_days: int = Field(default=365, ge=0, le=36500)


class DeliverySettings(BaseSettings):
    """How replies are queued, retried and resumed (``TTHC_`` prefix).

    The defaults suit production; the reliability tests shorten them.
    """

    model_config = SettingsConfigDict(
        env_prefix="TTHC_", env_file=".env", extra="ignore", env_ignore_empty=True
    )

    #: Run reply jobs inside ``tthc serve`` (always so on SQLite); false when separate
    #: ``tthc worker`` processes do it.
    worker_in_process: bool = True
    #: Reply jobs one process runs at once (they mostly wait on the platforms).
    worker_concurrency: int = 8
    #: Threads that run the answer engine (0 = one per core).
    engine_threads: int = 0
    #: Processes that run the answer engine for channel replies, so it never holds the
    #: interpreter lock that acknowledges webhooks (0 = threads of the serving process).
    #: Unset: 1 in ``tthc serve`` and ``tthc worker`` when a channel is configured.
    #: Each holds its own copy of the index and model.
    engine_processes: int | None = None
    #: Seconds a webhook waits for the database before answering 503 (the platform
    #: redelivers); kept under Zalo's ~2 s.
    ack_timeout_seconds: float = 0.9
    #: Seconds to wait for a platform's answer to one send; past it the part counts as
    #: sent (its fate is unknown, and resending could show it twice).
    platform_timeout_seconds: float = 10.0
    #: Tries of one reply job before its event is marked failed.
    reply_max_attempts: int = 25
    #: Backoff after a 5xx or a network error: first wait and cap, in seconds.
    reply_backoff_base_seconds: float = 1.0
    reply_backoff_cap_seconds: float = 300.0
    #: An event not final and untouched this long is queued again (its worker died).
    inbox_lease_seconds: float = 60.0
    #: A worker silent this long is considered dead and its jobs are retried.
    stalled_worker_seconds: float = 30.0
    #: How often the recovery job runs: a cron line whose sixth, last field is the
    #: seconds (croniter's order), so ``* * * * * */15`` is every 15 s, while
    #: ``*/15 * * * * *`` would be every second of minutes 0, 15, 30 and 45 only.
    recover_cron: str = "* * * * * */15"
    #: Announcement sends to Telegram per second (Telegram's flood limit is 30 across
    #: chats; the margin leaves room for replies).
    announce_telegram_per_second: int = 25

    @field_validator("recover_cron")
    @classmethod
    def _cron_runs_every_few_minutes(cls, value: str) -> str:
        """A cron line that does not parse, or leaves the recovery job idle for more
        than 5 minutes, is refused at start-up (acknowledged events would wait)."""
        if not croniter.croniter.is_valid(value):
            raise ValueError(f"not a cron line: {value!r}")
        ticks = croniter.croniter(value, 0.0)
        times = [ticks.get_next(float) for _ in range(200)]
        gaps = [later - earlier for earlier, later in itertools.pairwise([0.0, *times])]
        if max(gaps) > 300:
            raise ValueError(
                f"{value!r} runs the recovery job less often than every 5 minutes "
                "(the seconds are the sixth, last field: '* * * * * */15' = every 15 s)"
            )
        return value


class AdminSettings(BaseSettings):
    """The staff web admin at ``/admin`` (prefix ``TTHC_ADMIN_``).

    Without ``TTHC_ADMIN_SECRET_KEY`` the admin is not mounted at all (``/admin`` is a
    404); a placeholder value fails at start-up.
    """

    model_config = SettingsConfigDict(
        env_prefix="TTHC_ADMIN_", env_file=".env", extra="ignore", env_ignore_empty=True
    )

    #: Signs the session and CSRF cookies (32+ random characters:
    #: ``python -c "import secrets; print(secrets.token_urlsafe(32))"``).
    secret_key: SecretStr | None = None
    #: Cookies only over HTTPS (turn off only for a plain-HTTP test on loopback).
    secure_cookies: bool = True
    #: Minutes without a request after which a staff member must log in again.
    idle_minutes: int = Field(default=30, ge=1, le=24 * 60)
    #: Wrong passwords per user name and address in ``login_window_minutes`` before
    #: further attempts are refused (429).
    login_attempts: int = Field(default=5, ge=1)
    login_window_minutes: int = Field(default=15, ge=1)

    def secret_value(self) -> str:
        """The signing key, or "" when the admin is off; too short or placeholder fails."""
        value = _real(self.secret_key, "TTHC_ADMIN_SECRET_KEY")
        if value and len(value) < 32:
            raise ValueError("TTHC_ADMIN_SECRET_KEY must be at least 32 characters")
        return value


_PLACEHOLDERS = {"changeme", "change-me", "xxx", "your-token", "todo", "secret", "placeholder"}


def _real(value: SecretStr | None, name: str) -> str:
    """The secret's value; a placeholder copied from an example fails at start-up."""
    if value is None:
        return ""
    text = value.get_secret_value().strip()
    if text.lower() in _PLACEHOLDERS or text.startswith("<"):
        raise ValueError(f"{name} still holds a placeholder value")
    return text


class ChannelSettings(BaseSettings):
    """Credentials and API base URLs of every platform (no prefix: the platforms' names).

    A channel whose credentials are absent is not mounted (its webhook answers 404).
    Every API base URL is a setting, so the whole flow runs against fake servers.
    """

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    telegram_bot_token: SecretStr | None = None
    telegram_webhook_secret: SecretStr | None = None
    telegram_api_base_url: str = "https://api.telegram.org/bot"
    #: The bot's @username (without "@"), to see it mentioned in groups; empty: ask getMe.
    telegram_bot_username: str = ""

    zalo_oa_app_id: str = ""
    zalo_oa_secret_key: SecretStr | None = None
    zalo_oa_access_token: SecretStr | None = None
    zalo_oa_refresh_token: SecretStr | None = None
    zalo_app_secret: SecretStr | None = None
    zalo_oa_api_base_url: str = "https://openapi.zalo.me"
    zalo_oauth_base_url: str = "https://oauth.zaloapp.com"

    zalo_bot_token: SecretStr | None = None
    zalo_bot_webhook_secret: SecretStr | None = None
    zalo_bot_api_base_url: str = "https://bot-api.zaloplatforms.com"

    facebook_page_id: str = ""
    facebook_page_access_token: SecretStr | None = None
    facebook_app_secret: SecretStr | None = None
    facebook_verify_token: SecretStr | None = None
    facebook_graph_api_base_url: str = "https://graph.facebook.com"
    #: Our Meta app's id: echoes of our own sends are told from a page admin's replies.
    facebook_app_id: str = ""

    def telegram(self) -> tuple[str, str] | None:
        """(token, webhook secret) when Telegram is configured."""
        token = _real(self.telegram_bot_token, "TELEGRAM_BOT_TOKEN")
        secret = _real(self.telegram_webhook_secret, "TELEGRAM_WEBHOOK_SECRET")
        return (token, secret) if token and secret else None

    def zalo_oa(self) -> dict[str, str] | None:
        """Zalo OA credentials when all are present."""
        values = {
            "app_id": self.zalo_oa_app_id,
            "oa_secret_key": _real(self.zalo_oa_secret_key, "ZALO_OA_SECRET_KEY"),
            "access_token": _real(self.zalo_oa_access_token, "ZALO_OA_ACCESS_TOKEN"),
            "refresh_token": _real(self.zalo_oa_refresh_token, "ZALO_OA_REFRESH_TOKEN"),
            "app_secret": _real(self.zalo_app_secret, "ZALO_APP_SECRET"),
        }
        return values if all(values.values()) else None

    def zalo_bot(self) -> tuple[str, str] | None:
        """(token, webhook secret) when the Zalo Bot is configured."""
        token = _real(self.zalo_bot_token, "ZALO_BOT_TOKEN")
        secret = _real(self.zalo_bot_webhook_secret, "ZALO_BOT_WEBHOOK_SECRET")
        return (token, secret) if token and secret else None

    def messenger(self) -> dict[str, str] | None:
        """Facebook page credentials when all are present."""
        values = {
            "page_id": self.facebook_page_id,
            "page_access_token": _real(
                self.facebook_page_access_token, "FACEBOOK_PAGE_ACCESS_TOKEN"
            ),
            "app_secret": _real(self.facebook_app_secret, "FACEBOOK_APP_SECRET"),
            "verify_token": _real(self.facebook_verify_token, "FACEBOOK_VERIFY_TOKEN"),
        }
        if not all(values.values()):
            return None
        return values | ({"app_id": self.facebook_app_id} if self.facebook_app_id else {})


class HandoffSettings(BaseSettings):
    """Live handoff to officers and the hotlines the bot gives (``TTHC_`` prefix).

    The office hours are parsed when the settings are read: a malformed value stops
    start-up with a message naming it.
    """

    model_config = SettingsConfigDict(
        env_prefix="TTHC_", env_file=".env", extra="ignore", env_ignore_empty=True
    )

    #: When officers answer: "Mon-Fri 07:30-11:30,13:30-17:00" (groups joined by ";").
    handoff_hours: str = DEFAULT_HOURS
    #: The office's time zone (IANA name).
    handoff_timezone: str = DEFAULT_TIMEZONE
    #: Minutes without a message after which a handoff returns to the bot.
    handoff_timeout_minutes: int = Field(default=30, ge=1, le=7 * 24 * 60)
    #: Seconds a read of the staff-entered hotlines is reused by one process.
    hotline_cache_seconds: float = Field(default=30.0, ge=0.0, le=3600.0)

    @model_validator(mode="after")
    def _hours_parse(self) -> HandoffSettings:
        OfficeHours.parse(self.handoff_hours, self.handoff_timezone)
        return self

    def office_hours(self) -> OfficeHours:
        """The parsed office hours."""
        return OfficeHours.parse(self.handoff_hours, self.handoff_timezone)
