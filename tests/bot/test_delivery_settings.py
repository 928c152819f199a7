"""``TTHC_RECOVER_CRON``: croniter reads the seconds as the sixth, *last* field. The first
default, ``*/15 * * * * *``, meant "every 15 s" but ran the recovery job only during
minutes 0, 15, 30 and 45, so events of a killed worker waited up to 14 minutes (found by
``bench/delivery.py --scenarios kill_worker_scale``)."""

from __future__ import annotations

import itertools

import croniter
import pytest
from pydantic import ValidationError

from bot.settings import DeliverySettings


def gaps(line: str, count: int = 20) -> set[float]:
    ticks = croniter.croniter(line, 1_796_043_458.0)
    times = [ticks.get_next(float) for _ in range(count)]
    return {later - earlier for earlier, later in itertools.pairwise(times)}


def test_the_default_recovers_every_15_seconds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TTHC_RECOVER_CRON", raising=False)
    settings = DeliverySettings(_env_file=None)  # type: ignore[call-arg]
    assert gaps(settings.recover_cron) == {15.0}


def test_a_line_with_the_seconds_first_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TTHC_RECOVER_CRON", "*/15 * * * * *")
    with pytest.raises(ValidationError, match="less often than every 5 minutes"):
        DeliverySettings(_env_file=None)  # type: ignore[call-arg]


@pytest.mark.parametrize("line", ["not a cron", "61 * * * *", ""])
def test_a_broken_line_is_refused(monkeypatch: pytest.MonkeyPatch, line: str) -> None:
    with pytest.raises(ValidationError):
        DeliverySettings(recover_cron=line, _env_file=None)  # type: ignore[call-arg]


@pytest.mark.parametrize(("line", "seconds"), [("* * * * * */2", 2.0), ("* * * * *", 60.0)])
def test_frequent_lines_are_accepted(
    monkeypatch: pytest.MonkeyPatch, line: str, seconds: float
) -> None:
    monkeypatch.setenv("TTHC_RECOVER_CRON", line)
    settings = DeliverySettings(_env_file=None)  # type: ignore[call-arg]
    assert gaps(settings.recover_cron) == {seconds}


def test_log_level_is_checked_and_the_noisy_loggers_stay_quiet(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import logging

    from bot.cli import _configure_logging
    from bot.settings import ServerSettings

    monkeypatch.setenv("TTHC_LOG_LEVEL", "loud")
    with pytest.raises(ValidationError, match="TTHC_LOG_LEVEL"):
        ServerSettings(_env_file=None)  # type: ignore[call-arg]
    monkeypatch.setenv("TTHC_LOG_LEVEL", "info")
    settings = ServerSettings(_env_file=None)  # type: ignore[call-arg]
    assert settings.log_level == "INFO"
    root = logging.getLogger()
    saved = root.level
    try:
        _configure_logging(settings)
        assert root.level == logging.INFO
        # Request URLs (bot tokens) and per-job lines stay out of INFO.
        assert logging.getLogger("httpx").getEffectiveLevel() == logging.WARNING
        assert logging.getLogger("procrastinate").getEffectiveLevel() == logging.WARNING
        _configure_logging(ServerSettings(log_level="DEBUG", _env_file=None))  # type: ignore[call-arg]
        assert logging.getLogger("procrastinate").getEffectiveLevel() == logging.DEBUG
        assert logging.getLogger("httpx").getEffectiveLevel() == logging.WARNING
    finally:
        root.setLevel(saved)
        for name in ("httpx", "httpcore", "procrastinate"):
            logging.getLogger(name).setLevel(logging.NOTSET)
