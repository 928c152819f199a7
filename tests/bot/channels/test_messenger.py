"""Messenger + fanpage comments: the shared contract, then Meta-specific behaviour.

The Graph API is a real HTTP server on 127.0.0.1 (``FakePlatform``) answering like Meta
does; webhook bodies follow the shapes in docs/channels.md §3.3 and §3.6.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from bot.channels.base import (
    Button,
    ChannelError,
    OutboundMessage,
    PlatformRateLimited,
    PlatformRejected,
    PlatformUnavailable,
    TokenExpired,
)
from bot.channels.messenger import DEFAULT_COMMENT_REPLY, MessengerAdapter
from bot.engine.model import Answer, Choice, Question
from tests.bot.channels.fake_meta import (
    APP_SECRET,
    PAGE_ID,
    PAGE_TOKEN,
    PATH,
    PSID,
    SERVICE_URL,
    VERIFY_TOKEN,
    accepted_texts,
    comment_entry,
    comment_replies,
    graph_error,
    graph_responder,
    image_item,
    messaging_entry,
    page_body,
    postback_item,
    sends,
    sign,
    text_item,
)
from tests.bot.channels.harness import (
    ChannelSpec,
    FakeAnswerer,
    FakePlatform,
    Harness,
    check_contract,
    mounted,
    with_retries,
)

# ---------------------------------------------------------------- plumbing


@pytest.fixture
def platform() -> Iterator[FakePlatform]:
    with FakePlatform(graph_responder()).running() as running:
        yield running


@asynccontextmanager
async def adapter_for(base_url: str) -> AsyncIterator[MessengerAdapter]:
    async with httpx.AsyncClient(timeout=5) as client:
        yield MessengerAdapter(
            page_id=PAGE_ID,
            page_access_token=PAGE_TOKEN,
            app_secret=APP_SECRET,
            verify_token=VERIFY_TOKEN,
            client=client,
            graph_base_url=base_url,
        )


@asynccontextmanager
async def bot(
    platform: FakePlatform, answerer: FakeAnswerer | None = None
) -> AsyncIterator[Harness]:
    """The adapter mounted on the real routes and dispatcher, talking to the fake Graph."""
    answerer = answerer or FakeAnswerer()
    async with adapter_for(platform.base_url) as adapter:
        with mounted(adapter, answerer) as (app, tasks):
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://bot"
            ) as client:
                yield Harness(client, answerer, tasks)


async def deliver(harness: Harness, body: bytes) -> httpx.Response:
    return await harness.post(PATH, body, sign(body))


async def no_sleep(_: float) -> None:
    return None


class ClarifyingAnswerer(FakeAnswerer):
    """A long clarification with five numbered choices and an online service link."""

    def answer(self, question: Question) -> Answer:
        self.questions.append(question)
        choices = [
            Choice(i, f"Thủ tục số {i} về cư trú", "procedure", str(i), "list1")
            for i in range(1, 6)
        ]
        lines = "\n".join(f"{c.number}. {c.label}" for c in choices)
        text = ("Thông tin chung về thủ tục cư trú. " * 150) + "\n\n" + lines
        return Answer(
            question=question.text,
            status="clarify",
            text=text,
            choices=choices,
            online_service={"url": SERVICE_URL},
        )


# ---------------------------------------------------------------- the shared contract


def test_contract(platform: FakePlatform) -> None:
    async def scenario() -> None:
        async with adapter_for(platform.base_url) as adapter:
            await check_contract(
                ChannelSpec(
                    adapter=adapter,
                    platform=platform,
                    sign=sign,
                    text_event=lambda mid, text: page_body(messaging_entry(text_item(mid, text))),
                    non_text_event=lambda mid: page_body(messaging_entry(image_item(mid))),
                    replies=accepted_texts,
                    # Meta throttles with an error envelope (code 613), not only HTTP 429.
                    rate_limited=(400, graph_error(613, "Calls to this api have exceeded")),
                )
            )

    asyncio.run(scenario())
    # Every call carried the page token and the Send API shape.
    for request in sends(platform):
        assert request.path == f"/v25.0/{PAGE_ID}/messages"
        assert request.query["access_token"] == PAGE_TOKEN
        assert request.body["recipient"] == {"id": PSID}
        assert request.body["messaging_type"] == "RESPONSE"


# ---------------------------------------------------------------- webhook side


def test_handshake_through_routes(platform: FakePlatform) -> None:
    async def scenario() -> None:
        async with bot(platform) as harness:
            good = {
                "hub.mode": "subscribe",
                "hub.verify_token": VERIFY_TOKEN,
                "hub.challenge": "1158201444",
            }
            response = await harness.client.get(PATH, params=good)
            assert response.status_code == 200
            assert response.text == "1158201444"
            wrong = good | {"hub.verify_token": "not-our-token"}
            assert (await harness.client.get(PATH, params=wrong)).status_code == 403
            other_mode = good | {"hub.mode": "unsubscribe"}
            assert (await harness.client.get(PATH, params=other_mode)).status_code == 403
            assert (await harness.client.get(PATH)).status_code == 403

    asyncio.run(scenario())
    assert platform.requests == []


def test_signature_checks() -> None:
    async def scenario() -> None:
        async with adapter_for("http://127.0.0.1:9") as adapter:
            body = page_body(messaging_entry(text_item("m_1", "xin chào")))
            good = sign(body)["X-Hub-Signature-256"]
            assert adapter.verify({"x-hub-signature-256": good}, body)  # any header case
            assert adapter.verify({"X-Hub-Signature-256": good.upper().replace("SHA", "sha")}, body)
            assert not adapter.verify({"X-Hub-Signature-256": good}, body + b" ")
            assert not adapter.verify({"X-Hub-Signature-256": good[7:]}, body)  # no prefix
            sha1 = hmac.new(APP_SECRET.encode(), body, hashlib.sha1).hexdigest()
            assert not adapter.verify({"X-Hub-Signature": f"sha1={sha1}"}, body)  # legacy
            assert not adapter.verify({"X-Hub-Signature-256": "sha256=ồ"}, body)
            assert not adapter.verify({}, body)

    asyncio.run(scenario())


def test_non_page_object_is_rejected(platform: FakePlatform) -> None:
    async def scenario() -> None:
        async with bot(platform) as harness:
            malformed: list[dict[str, Any]] = [
                {"object": "instagram", "entry": []},  # another product's webhook
                {"object": "page", "entry": [{"id": PAGE_ID, "messaging": 5}]},
                {"object": "page", "entry": [{"id": PAGE_ID, "messaging": [{}]}]},  # no sender
                {"object": "page", "entry": "not a list"},
            ]
            for payload in malformed:
                body = json.dumps(payload).encode()
                assert (await deliver(harness, body)).status_code == 400

    asyncio.run(scenario())
    assert platform.requests == []


def test_echoes_page_messages_and_receipts_are_ignored(platform: FakePlatform) -> None:
    answerer = FakeAnswerer()

    async def scenario() -> None:
        async with bot(platform, answerer) as harness:
            echo = text_item("m_echo", "Trả lời cũ", is_echo=True, app_id=1517776481860111)
            echo["sender"], echo["recipient"] = {"id": PAGE_ID}, {"id": PSID}
            from_page = text_item("m_page", "Tin nhắn của quản trị viên", sender=PAGE_ID)
            delivery = {
                "sender": {"id": PSID},
                "recipient": {"id": PAGE_ID},
                "timestamp": 1458668856253,
                "delivery": {"mids": ["m_1"], "watermark": 1458668856253},
            }
            read = {
                "sender": {"id": PSID},
                "recipient": {"id": PAGE_ID},
                "timestamp": 1458668856253,
                "read": {"watermark": 1458668856253},
            }
            body = page_body(messaging_entry(echo, from_page, delivery, read))
            response = await deliver(harness, body)
            assert response.status_code == 200
            # Only the echo is kept (to tell a page admin's reply from ours); never answered.
            assert response.json()["accepted"] == 1

    asyncio.run(scenario())
    assert answerer.questions == []
    assert platform.requests == []


def test_parse_quick_reply_and_postback() -> None:
    async def scenario() -> None:
        async with adapter_for("http://127.0.0.1:9") as adapter:
            quick = text_item("m_q", "👍 Có", quick_reply={"payload": "fb:m_abc:up"})
            postback = postback_item("m_p", "2. Đăng ký tạm trú", "choice:2")
            events = adapter.parse(page_body(messaging_entry(quick, postback)))
            assert [(e.kind, e.event_key, e.payload, e.text) for e in events] == [
                ("button", "m_q", "fb:m_abc:up", "👍 Có"),
                ("button", "m_p", "choice:2", "2. Đăng ký tạm trú"),
            ]
            assert all(e.user_id == e.reply_target == PSID for e in events)
            assert all(e.channel == "messenger" and e.account_id == PAGE_ID for e in events)

    asyncio.run(scenario())


def test_postback_and_quick_reply_payloads_reach_the_dispatcher(platform: FakePlatform) -> None:
    answerer = FakeAnswerer()

    async def scenario() -> None:
        async with bot(platform, answerer) as harness:
            body = page_body(messaging_entry(postback_item("m_p1", "2. Tạm trú", "choice:2")))
            assert (await deliver(harness, body)).status_code == 200
            assert [q.text for q in answerer.questions] == ["2"]
            quick = text_item("m_q1", "3. Thường trú", quick_reply={"payload": "choice:3"})
            assert (await deliver(harness, page_body(messaging_entry(quick)))).status_code == 200
            assert [q.text for q in answerer.questions] == ["2", "3"]
            feedback = text_item("m_q2", "👍 Có", quick_reply={"payload": "fb:m_p1:up"})
            assert (await deliver(harness, page_body(messaging_entry(feedback)))).status_code == 200
            assert len(answerer.questions) == 2  # feedback never reaches the engine

    asyncio.run(scenario())
    assert accepted_texts(platform)[-1] == "Cảm ơn bạn đã phản hồi!"
    assert len(sends(platform)) == 3


def test_batched_delivery_gets_one_reply_per_item(platform: FakePlatform) -> None:
    answerer = FakeAnswerer()

    async def scenario() -> None:
        async with bot(platform, answerer) as harness:
            entry = messaging_entry(
                text_item("m_b1", "lệ phí cấp hộ chiếu"),
                text_item("m_b2", "thời hạn giải quyết", sender="2399000000000002"),
            )
            response = await deliver(harness, page_body(entry))
            assert response.json()["accepted"] == 2

    asyncio.run(scenario())
    assert sorted(q.text for q in answerer.questions) == [
        "lệ phí cấp hộ chiếu",
        "thời hạn giải quyết",
    ]
    assert sorted(r.body["recipient"]["id"] for r in sends(platform)) == [
        "2399000000000002",
        PSID,
    ]
    assert accepted_texts(platform) == [answerer.text, answerer.text]


def test_every_entry_of_a_batch_is_read() -> None:
    async def scenario() -> None:
        async with adapter_for("http://127.0.0.1:9") as adapter:
            body = page_body(
                messaging_entry(text_item("m_1", "một")),
                messaging_entry(text_item("m_2", "hai"), text_item("m_3", "ba")),
                comment_entry(f"{PAGE_ID}_1_2", "6100000000001"),
            )
            events = adapter.parse(body)
            assert [e.event_key for e in events] == ["m_1", "m_2", "m_3", f"{PAGE_ID}_1_2"]

    asyncio.run(scenario())


# ---------------------------------------------------------------- comments


def test_comment_gets_one_private_and_one_public_reply(platform: FakePlatform) -> None:
    answerer = FakeAnswerer()
    comment_id = "555000111_9990001"

    async def scenario() -> None:
        async with bot(platform, answerer) as harness:
            body = page_body(comment_entry(comment_id, "6100000000001"))
            response = await deliver(harness, body)
            assert response.json()["accepted"] == 1
            # A redelivery of the same comment is not answered again.
            assert (await deliver(harness, body)).json()["accepted"] == 0

    asyncio.run(scenario())
    assert [q.text for q in answerer.questions] == ["Cho hỏi thủ tục đăng ký thường trú"]
    assert [q.user_id for q in answerer.questions] == ["6100000000001"]
    private, public = sends(platform), comment_replies(platform)
    assert len(private) == 1 and len(public) == 1
    assert private[0].path == f"/v25.0/{PAGE_ID}/messages"
    assert private[0].body == {
        "recipient": {"comment_id": comment_id},
        "message": {"text": answerer.text, "metadata": "tthc-bot"},
    }
    assert public[0].path == f"/v25.0/{comment_id}/comments"
    assert public[0].body == {"message": DEFAULT_COMMENT_REPLY}
    assert all(r.query["access_token"] == PAGE_TOKEN for r in platform.requests)
    # The private reply goes first, so the public text is only ever posted when true.
    assert platform.requests.index(private[0]) < platform.requests.index(public[0])


def test_page_own_comment_edits_and_removals_cause_no_call(platform: FakePlatform) -> None:
    answerer = FakeAnswerer()

    async def scenario() -> None:
        async with bot(platform, answerer) as harness:
            own = comment_entry("555000111_9990002", PAGE_ID, DEFAULT_COMMENT_REPLY)
            edited = comment_entry("555000111_9990003", "6100000000001", verb="edited")
            removed = comment_entry("555000111_9990004", "6100000000001", verb="remove")
            reaction = {
                "id": PAGE_ID,
                "time": 1700000000,
                "changes": [
                    {
                        "field": "feed",
                        "value": {"item": "reaction", "verb": "add", "reaction_type": "like"},
                    }
                ],
            }
            for entry in (own, edited, removed, reaction):
                response = await deliver(harness, page_body(entry))
                assert response.status_code == 200
                assert response.json()["accepted"] == 0

    asyncio.run(scenario())
    assert answerer.questions == []
    assert platform.requests == []


def test_private_reply_is_the_first_part_with_the_link(platform: FakePlatform) -> None:
    answerer = ClarifyingAnswerer()

    async def scenario() -> None:
        async with bot(platform, answerer) as harness:
            body = page_body(comment_entry("555000111_9990005", "6100000000001"))
            assert (await deliver(harness, body)).status_code == 200

    asyncio.run(scenario())
    private = sends(platform)
    assert len(private) == 1 and len(comment_replies(platform)) == 1
    text = private[0].body["message"]["text"]
    assert len(text) <= 2000
    assert text.startswith("Thông tin chung về thủ tục cư trú.")
    assert SERVICE_URL in text


def test_private_reply_with_unknown_outcome_is_never_resent(platform: FakePlatform) -> None:
    platform.queue(500, graph_error(2, "Service temporarily unavailable", "FacebookApiException"))

    async def scenario() -> None:
        async with adapter_for(platform.base_url) as adapter:
            event = adapter.parse(page_body(comment_entry("555000111_9990006", "6100000000001")))[0]
            parts = adapter.render(OutboundMessage("Trả lời."))
            with pytest.raises(PlatformRejected):
                await with_retries(lambda: adapter.send(event, parts), sleep=no_sleep)
            with pytest.raises(PlatformRejected):
                await adapter.send(event, parts)

    asyncio.run(scenario())
    assert len(platform.requests) == 1
    assert comment_replies(platform) == []


def test_public_reply_retry_does_not_resend_the_private_reply(platform: FakePlatform) -> None:
    platform.queue(200, {"recipient_id": PSID, "message_id": "m_private"})
    platform.queue(503, {})

    async def scenario() -> list[str]:
        async with adapter_for(platform.base_url) as adapter:
            event = adapter.parse(page_body(comment_entry("555000111_9990007", "6100000000001")))[0]
            parts = adapter.render(OutboundMessage("Trả lời."))
            return await with_retries(lambda: adapter.send(event, parts), sleep=no_sleep)

    ids = asyncio.run(scenario())
    assert len(sends(platform)) == 1
    assert [r.status for r in comment_replies(platform)] == [503, 200]
    assert ids[0] == "m_private" and len(ids) == 2


def test_refused_public_reply_does_not_fail_the_answer(platform: FakePlatform) -> None:
    platform.queue(200, {"recipient_id": PSID, "message_id": "m_private"})
    platform.queue(400, graph_error(100, "Unsupported post request", "GraphMethodException"))

    async def scenario() -> list[str]:
        async with adapter_for(platform.base_url) as adapter:
            event = adapter.parse(page_body(comment_entry("555000111_9990008", "6100000000001")))[0]
            return await adapter.send(event, adapter.render(OutboundMessage("Trả lời.")))

    assert asyncio.run(scenario()) == ["m_private"]


# ---------------------------------------------------------------- rendering and sending


def test_buttons_only_on_the_last_chunk_and_at_most_three() -> None:
    async def scenario() -> None:
        async with adapter_for("http://127.0.0.1:9") as adapter:
            buttons = (
                *(
                    Button("postback", f"{i}. Thủ tục cư trú số {i}", f"choice:{i}")
                    for i in range(1, 5)
                ),
                Button("url", "Mở dịch vụ công trực tuyến", SERVICE_URL),
                Button("url", "Trang thủ tục", SERVICE_URL + "&xem=1"),
                Button("postback", "👍 Hữu ích", "fb:m_x:up"),
            )
            long = OutboundMessage(("Đoạn văn dài về thủ tục. " * 300).strip(), buttons)
            parts = adapter.render(long)
            assert len(parts) >= 3
            assert all(set(p) == {"text"} for p in parts[:-1])
            assert all(len(p["text"]) <= 2000 for p in parts[:-1])
            template = parts[-1]["attachment"]["payload"]
            assert template["template_type"] == "button"
            assert template["text"] == "Bạn có thể:"  # the last chunk was over 640 characters
            # Links first, then choices in their order; titles cut to Messenger's 20.
            assert template["buttons"] == [
                {"type": "postback", "title": "1. Thủ tục cư trú s…", "payload": "choice:1"},
                {"type": "web_url", "url": SERVICE_URL, "title": "Mở dịch vụ công trự…"},
                {"type": "web_url", "url": SERVICE_URL + "&xem=1", "title": "Trang thủ tục"},
            ]
            # Spilled choices stay readable as numbered lines; feedback cannot be typed.
            spilled = parts[-2]["text"]
            assert all(f"{n}. Thủ tục cư trú số {n}" in spilled for n in (2, 3, 4))
            assert "👍" not in "".join(p.get("text", "") for p in parts)

            short = adapter.render(
                OutboundMessage("Lệ phí: miễn phí.", (Button("url", "Mở", SERVICE_URL),))
            )
            assert short == [
                {
                    "attachment": {
                        "type": "template",
                        "payload": {
                            "template_type": "button",
                            "text": "Lệ phí: miễn phí.",
                            "buttons": [{"type": "web_url", "url": SERVICE_URL, "title": "Mở"}],
                        },
                    }
                }
            ]
            assert adapter.render(OutboundMessage("Xin chào")) == [{"text": "Xin chào"}]

    asyncio.run(scenario())


def test_long_clarification_through_the_send_api(platform: FakePlatform) -> None:
    answerer = ClarifyingAnswerer()

    async def scenario() -> None:
        async with bot(platform, answerer) as harness:
            body = page_body(messaging_entry(text_item("m_long", "thủ tục cư trú")))
            assert (await deliver(harness, body)).status_code == 200

    asyncio.run(scenario())
    messages = [r.body["message"] for r in sends(platform)]
    assert len(messages) >= 3
    assert all("attachment" not in m for m in messages[:-1])
    buttons = messages[-1]["attachment"]["payload"]["buttons"]
    # The link is kept as a button first; the choices left out are still numbered lines.
    assert [b.get("payload", b.get("url")) for b in buttons] == [
        "choice:list1:1",
        "choice:list1:2",
        SERVICE_URL,
    ]
    text = "\n".join(m["text"] for m in messages[:-1])
    assert all(f"{n}. Thủ tục số {n} về cư trú" in text for n in (3, 4, 5))


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (429, {}, PlatformRateLimited),
        (400, graph_error(4, "Application request limit reached"), PlatformRateLimited),
        (403, graph_error(17, "User request limit reached"), PlatformRateLimited),
        (400, graph_error(32, "Page request limit reached"), PlatformRateLimited),
        (
            400,
            graph_error(613, "Calls to this api have exceeded the rate limit"),
            PlatformRateLimited,
        ),
        (401, graph_error(190, "Error validating access token"), TokenExpired),
        (400, graph_error(190, "Session has expired"), TokenExpired),
        (500, graph_error(1, "An unknown error occurred"), PlatformUnavailable),
        (502, {}, PlatformUnavailable),
        (400, graph_error(100, "(#100) No matching user found"), PlatformRejected),
        (403, graph_error(10, "Outside of allowed window"), PlatformRejected),
        (200, graph_error(100, "Invalid parameter"), PlatformRejected),
    ],
)
def test_graph_errors_map_to_our_exceptions(
    platform: FakePlatform, status: int, body: dict[str, Any], error: type[ChannelError]
) -> None:
    platform.queue(status, body)

    async def scenario() -> None:
        async with adapter_for(platform.base_url) as adapter:
            event = adapter.parse(page_body(messaging_entry(text_item("m_e", "hỏi"))))[0]
            with pytest.raises(error) as raised:
                await adapter.send(event, adapter.render(OutboundMessage("Trả lời.")))
            assert PAGE_TOKEN not in str(raised.value)

    asyncio.run(scenario())


def test_rate_limit_pauses_then_retries(platform: FakePlatform) -> None:
    async def scenario() -> None:
        async with adapter_for(platform.base_url) as adapter:
            event = adapter.parse(page_body(messaging_entry(text_item("m_r", "hỏi"))))[0]
            parts = adapter.render(OutboundMessage("Trả lời."))
            waits: list[float] = []

            async def record(seconds: float) -> None:
                waits.append(seconds)

            platform.queue(429, graph_error(613, "Calls to this api have exceeded"))
            assert await with_retries(lambda: adapter.send(event, parts), sleep=record)
            assert waits == [1.0]

    asyncio.run(scenario())


def test_network_failure_is_unavailable() -> None:
    async def scenario() -> None:
        # Port 9 (discard) on loopback has no listener: the connection is refused.
        async with adapter_for("http://127.0.0.1:9") as adapter:
            event = adapter.parse(page_body(messaging_entry(text_item("m_n", "hỏi"))))[0]
            with pytest.raises(PlatformUnavailable) as raised:
                await adapter.send(event, adapter.render(OutboundMessage("Trả lời.")))
            assert PAGE_TOKEN not in str(raised.value)

    asyncio.run(scenario())


def test_a_retry_resumes_after_the_parts_already_sent(platform: FakePlatform) -> None:
    async def scenario() -> list[str]:
        async with adapter_for(platform.base_url) as adapter:
            event = adapter.parse(page_body(messaging_entry(text_item("m_s", "hỏi"))))[0]
            parts = adapter.render(OutboundMessage(" ".join(f"Câu số {n}." for n in range(400))))
            assert len(parts) == 3
            platform.queue(200, {"recipient_id": PSID, "message_id": "m_part1"})
            platform.queue(503, {})
            return await with_retries(lambda: adapter.send(event, parts), sleep=no_sleep)

    ids = asyncio.run(scenario())
    assert [r.status for r in sends(platform)] == [200, 503, 200, 200]
    texts = [r.body["message"]["text"] for r in sends(platform)]
    assert texts[1] == texts[2]  # only the failed part was sent again
    assert len(set(texts)) == 3
    assert ids[0] == "m_part1" and len(ids) == 3
