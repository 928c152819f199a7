"""Personal numbers sent through real channel paths (a signed Telegram webhook into
`tthc serve`'s app with the real engine, and the web chat with its 👎) are stored masked
in every table they reach: the database is searched for the raw digits afterwards."""

from __future__ import annotations

import json
import re

import httpx
import pytest
from sqlalchemy import select

from knowledge.models import Base, InboxEvent
from tests.bot.channels import fake_telegram as tg
from tests.bot.channels.test_end_to_end import World, _wait
from tests.bot.channels.test_end_to_end import world as world  # the served app (fixture)

NUMBERS = (
    "CCCD của tôi 001 099 012 345, sđt (+84) 912-345-678, mã số BHXH ７９１２３４５６７８, "
    "email nguyenvana1990 (at) gmail (dot) com, STK 1903 5678 9012 Techcombank"
)
#: The digits of each number above: none may be stored, in any form.
SECRETS = ("001099012345", "912345678", "7912345678", "190356789012")


@pytest.fixture
def open_world(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> World:
    """The served app with officers on duty around the clock (so a handoff opens)."""
    monkeypatch.setenv("TTHC_HANDOFF_HOURS", "Mon-Sun 00:00-23:59")
    served: World = request.getfixturevalue("world")
    return served


def _finished(world: World) -> int:
    """Inbox rows whose handling is over (answered: replied, or passed to the officer)."""
    with world.assistant.database.connect() as conn:
        rows = conn.execute(select(InboxEvent.status)).scalars().all()
    return sum(status in ("answered", "failed") for status in rows)


def _stored(world: World) -> dict[str, list[str]]:
    """Every text value of every row, per table (JSON columns as JSON)."""
    out: dict[str, list[str]] = {}
    with world.assistant.database.connect() as conn:
        for table in Base.metadata.sorted_tables:
            values = []
            for row in conn.execute(select(table)):
                for value in row:
                    if isinstance(value, dict | list):
                        values.append(json.dumps(value, ensure_ascii=False))
                    elif isinstance(value, str):
                        values.append(value)
            out[table.name] = values
    return out


def test_personal_numbers_are_stored_masked_in_every_table(open_world: World) -> None:
    world = open_world
    with httpx.Client(base_url=world.base, timeout=60) as client:
        for key, text in (
            ("9101", f"Cấp lại căn cước thế nào? {NUMBERS}"),
            ("9102", f"Cho tôi gặp cán bộ. {NUMBERS}"),
            ("9103", f"Tôi gửi thêm: {NUMBERS}"),
        ):
            body = tg.text_update(key, text)
            response = client.post("/webhooks/telegram", content=body, headers=tg.signed(body))
            assert response.status_code == 200
            handled = int(key) - 9100
            _wait(lambda: _finished(world) >= handled, f"the event {key} handled")  # noqa: B023
        chat = client.post(
            "/api/chat", json={"message": f"Lệ phí cấp lại căn cước? {NUMBERS}", "session_id": "s1"}
        )
        assert chat.status_code == 200, chat.text
        answer_id = chat.json()["answer_id"]
        rating = {"answer_id": answer_id, "value": "down"}
        assert client.post("/api/feedback", json=rating).is_success
    world.stop()  # drains every background write
    stored = _stored(world)
    reached = {name for name, values in stored.items() if any("[số đã ẩn]" in v for v in values)}
    assert {
        "answer_exchanges",
        "answer_feedback",
        "inbox_events",
        "handoff_messages",
    } <= reached, reached
    for name, values in stored.items():
        for value in values:
            digits = re.sub(r"\D", "", value)
            for secret in SECRETS:
                assert secret not in digits, (name, value)
            assert "nguyenvana1990" not in value and "７９１２" not in value, (name, value)
    masked = [v for v in stored["answer_exchanges"] if v.startswith("Cấp lại căn cước")]
    assert masked == [
        "Cấp lại căn cước thế nào? CCCD của tôi [số đã ẩn], sđt [số đã ẩn], mã số BHXH "
        "[số đã ẩn], email [email đã ẩn], STK [số đã ẩn] Techcombank"
    ]
