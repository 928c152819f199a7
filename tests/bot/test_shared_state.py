"""State several bot processes share: conversations (database or Redis) and rate limits
(``limits`` in memory or Redis), and the client address behind a trusted proxy."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy.orm import Session, sessionmaker
from starlette.requests import Request

from bot.conversations import RedisConversationStore, SqlConversationStore
from bot.engine.conversation import ConversationState
from bot.engine.model import Choice
from bot.ratelimit import RateLimiter
from bot.web import client_address

REDIS_URL = "redis://127.0.0.1:6379/15"


def _state() -> ConversationState:
    state = ConversationState(topic_kind="procedure", topic_id="1.001193", topic_title="Khai sinh")
    choices = [
        Choice(number=1, label="Đăng ký khai sinh", kind="procedure", id="1.001193", list_id="ab"),
        Choice(number=2, label="Khai sinh lưu động", kind="procedure", id="1.000656", list_id="ab"),
    ]
    state.offer(choices, "fee")
    return state


def test_a_conversation_saved_by_one_process_is_read_by_another(
    factory: sessionmaker[Session],
) -> None:
    one = SqlConversationStore(factory=factory, ttl=1800)
    other = SqlConversationStore(factory=factory, ttl=1800)  # a second process
    one.save("zalo-oa", "u-1", _state())
    loaded = other.load("zalo-oa", "u-1")
    assert loaded.topic_id == "1.001193"
    assert [c.id for c in loaded.pending_choices] == ["1.001193", "1.000656"]
    assert loaded.pending_aspect == "fee"
    assert list(loaded.choice_lists) == ["ab"]
    # Saved again (a newer topic): one row, the newer state.
    newer = ConversationState(topic_kind="procedure", topic_id="2.000001")
    other.save("zalo-oa", "u-1", newer)
    assert one.load("zalo-oa", "u-1").topic_id == "2.000001"
    assert one.load("zalo-oa", "someone-else").topic_id == ""


def test_a_silent_conversation_is_forgotten(factory: sessionmaker[Session]) -> None:
    now = [1_000_000.0]
    store = SqlConversationStore(factory=factory, ttl=60, clock=lambda: now[0])
    store.save("web", "u", _state())
    now[0] += 61
    assert store.load("web", "u").topic_id == ""


def _redis() -> object:
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.ConnectionError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    return client


def test_redis_conversations_are_shared_and_expire() -> None:
    client = _redis()
    user = uuid.uuid4().hex
    RedisConversationStore(client=client, ttl=1800).save("telegram", user, _state())
    loaded = RedisConversationStore(client=client, ttl=1800).load("telegram", user)
    assert loaded.choice_lists["ab"][1].id == "1.000656"
    ttl = client.ttl(f"tthc:conversation:telegram:{user}")  # type: ignore[attr-defined]
    assert 0 < ttl <= 1800


def test_over_the_limit_the_user_is_told_once_per_window() -> None:
    limiter = RateLimiter(limit=3, window=60)
    verdicts = [limiter.verdict("zalo-oa:oa:u") for _ in range(7)]
    assert verdicts == ["allow"] * 3 + ["notice"] + ["silent"] * 3
    assert limiter.verdict("zalo-oa:oa:other") == "allow"


def test_two_processes_share_one_limit_through_redis() -> None:
    _redis()
    key = f"web:{uuid.uuid4().hex}"
    first = RateLimiter(limit=4, window=60, storage_uri=REDIS_URL)
    second = RateLimiter(limit=4, window=60, storage_uri=REDIS_URL)
    allowed = [(first if n % 2 else second).allow(key) for n in range(8)]
    assert allowed.count(True) == 4  # not 8: the limit does not double


def _request(peer: str, forwarded: str = "") -> Request:
    headers = [(b"x-forwarded-for", forwarded.encode())] if forwarded else []
    return Request({"type": "http", "client": (peer, 1234), "headers": headers})


def test_a_spoofed_forwarded_for_is_ignored_unless_the_peer_is_our_proxy() -> None:
    proxies = frozenset({"10.0.0.2"})
    assert client_address(_request("203.0.113.9", "1.2.3.4"), proxies) == "203.0.113.9"
    assert client_address(_request("10.0.0.2", "1.2.3.4, 198.51.100.7"), proxies) == (
        "198.51.100.7"
    )
    assert client_address(_request("10.0.0.2"), proxies) == "10.0.0.2"
