"""Personal numbers sent through real channel paths (a signed Telegram webhook into
`tthc serve`'s app with the real engine, and the web chat with its 👎) are stored masked
in every table they reach: the database is searched for the raw digits afterwards."""

from __future__ import annotations

import json
import random
import re
import string

import httpx
import pytest
from sqlalchemy import select

from knowledge.models import Base, InboxEvent
from tests.bot.channels import fake_telegram as tg
from tests.bot.channels.test_end_to_end import World, _wait
from tests.bot.channels.test_end_to_end import world as world  # the served app (fixture)

_RNG = random.Random()
_FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def _digits(size: int, first: str = "123456789") -> str:
    return _RNG.choice(first) + "".join(_RNG.choice("0123456789") for _ in range(size - 1))


#: This run's numbers (the database is shared with the other tests of the session, so
#: they must be ones no other test wrote) and a word that marks this test's rows.
CCCD, MOBILE, BHXH, ACCOUNT = "0" + _digits(11), _digits(9, "3789"), _digits(10), _digits(12)
MARKER = "".join(_RNG.choice(string.ascii_lowercase) for _ in range(10))
NUMBERS = (
    f"{MARKER}: CCCD của tôi {' '.join(CCCD[i : i + 3] for i in range(0, 12, 3))}, "
    f"sđt (+84) {MOBILE[:3]}-{MOBILE[3:6]}-{MOBILE[6:]}, mã số BHXH {BHXH.translate(_FULLWIDTH)}, "
    f"email {MARKER}1990 (at) gmail (dot) com, "
    f"STK {ACCOUNT[:4]} {ACCOUNT[4:8]} {ACCOUNT[8:]} Techcombank"
)
#: The digits of each number above: none may be stored, in any form.
SECRETS = (CCCD, MOBILE, BHXH, ACCOUNT)


@pytest.fixture
def open_world(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> World:
    """The served app with officers on duty around the clock (so a handoff opens)."""
    monkeypatch.setenv("TTHC_HANDOFF_HOURS", "Mon-Sun 00:00-23:59")
    served: World = request.getfixturevalue("world")
    return served


#: This test's own Telegram user and chat: the handoff it opens stays open in the
#: session's shared database and must not silence the bot for other tests' user.
OWN_USER = 4_242_424_242


def _own_chat(body: bytes) -> bytes:
    update = json.loads(body)
    update["message"]["chat"]["id"] = update["message"]["from"]["id"] = OWN_USER
    return json.dumps(update, ensure_ascii=False).encode()


def _finished(world: World, event_id: str) -> bool:
    """Whether this test's Telegram event is handled (answered: replied, or passed to
    the officer). The database is shared with the other tests of the session."""
    key = f"telegram:%:{tg.update_id(event_id)}"
    with world.assistant.database.connect() as conn:
        rows = conn.execute(select(InboxEvent.status).where(InboxEvent.key.like(key))).all()
    return [tuple(r) for r in rows] in ([("answered",)], [("failed",)])


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
            body = _own_chat(tg.text_update(key, text))
            response = client.post("/webhooks/telegram", content=body, headers=tg.signed(body))
            assert response.status_code == 200
            _wait(lambda: _finished(world, key), f"the event {key} handled")  # noqa: B023
        chat = client.post(
            "/api/chat", json={"message": f"Lệ phí cấp lại căn cước? {NUMBERS}", "session_id": "s1"}
        )
        assert chat.status_code == 200, chat.text
        answer_id = chat.json()["answer_id"]
        rating = {"answer_id": answer_id, "value": "down"}
        assert client.post("/api/feedback", json=rating).is_success
    world.stop()  # drains every background write
    stored = _stored(world)
    reached = {
        name
        for name, values in stored.items()
        if any(MARKER in v and "[số đã ẩn]" in v and "[email đã ẩn]" in v for v in values)
    }
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
            assert f"{MARKER}1990" not in value, (name, value)
    masked = [
        v for v in stored["answer_exchanges"] if v.startswith("Cấp lại căn cước") and MARKER in v
    ]
    assert masked == [
        f"Cấp lại căn cước thế nào? {MARKER}: CCCD của tôi [số đã ẩn], sđt [số đã ẩn], "
        "mã số BHXH [số đã ẩn], email [email đã ẩn], STK [số đã ẩn] Techcombank"
    ]
