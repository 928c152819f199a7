"""Measured promotion of online public services (dịch vụ công trực tuyến).

An answer that promotes a procedure's online service links to ``<base>/r/<token>``
instead of the portal: the redirect counts one click for that procedure and channel
and answers 302 to the portal. The token is random and shared by every citizen of a
channel (one per procedure, channel and target URL), so the URL carries no personal
data and a click cannot be tied to a person.

Decision: without a public base URL (``TTHC_PUBLIC_BASE_URL`` unset) answers keep the
portal's own link: a relative ``/r/...`` would not open from a Telegram, Zalo or
Messenger chat, and a dead link is worse than an uncounted one. Clicks are then simply
not measured; promotions still are (``answer_exchanges.promoted``).

Link-preview robots (Telegram, Facebook, Zalo and others fetch a URL to draw its card)
and ``HEAD`` requests are redirected but not counted.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import secrets
import threading

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from bot.engine.model import Answer
from knowledge.db import transaction
from knowledge.models import PromoClick, PromoLink

logger = logging.getLogger(__name__)

#: Substrings (lower case) of the User-Agent of robots that fetch links to preview them.
PREVIEW_ROBOTS = (
    "telegrambot",
    "facebookexternalhit",
    "facebookcatalog",
    "meta-externalagent",
    "zalo",
    "twitterbot",
    "slackbot",
    "whatsapp",
    "discordbot",
    "skypeuripreview",
    "bot/",
    "crawler",
    "spider",
)

NOT_FOUND_PAGE = """<!doctype html>
<html lang="vi"><head><meta charset="utf-8"><title>Không tìm thấy liên kết</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family: sans-serif; max-width: 36rem; margin: 3rem auto; padding: 0 1rem">
<h1>Không tìm thấy liên kết</h1>
<p>Liên kết này không tồn tại hoặc đã hết hiệu lực. Bạn có thể tra cứu thủ tục và nộp hồ sơ
trực tuyến tại Cổng Dịch vụ công quốc gia: <a href="https://dichvucong.gov.vn">dichvucong.gov.vn</a>,
hoặc hỏi lại trợ lý để nhận liên kết mới.</p>
</body></html>"""


class PromoLinks:
    """Tokens of ``/r/<token>`` and their clicks, in the knowledge database.

    ``base_url``: the public address of this service (``https://tthc.example.gov.vn``);
    "" disables the rewriting (see the module docstring).
    """

    def __init__(self, *, factory: sessionmaker[Session], base_url: str = "") -> None:
        self._factory = factory
        self._base = base_url.rstrip("/")
        self._cache: dict[tuple[str, str, str], str] = {}
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        """Whether answers are rewritten (a public base URL is configured)."""
        return bool(self._base)

    def token_for(self, procedure_code: str, channel: str, url: str) -> str:
        """The token of (procedure, channel, target URL), created on first use."""
        key = (procedure_code[:32], channel[:32], url[:1000])
        with self._lock:
            if key in self._cache:
                return self._cache[key]
        token = self._load_or_create(*key)
        with self._lock:
            if len(self._cache) > 20_000:
                self._cache.clear()
            self._cache[key] = token
        return token

    def _load_or_create(self, code: str, channel: str, url: str) -> str:
        for _ in range(3):  # another process may create the same link at the same time
            with transaction(self._factory) as session:
                found = session.execute(
                    select(PromoLink.token).where(
                        PromoLink.procedure_code == code,
                        PromoLink.channel == channel,
                        PromoLink.target_url == url,
                    )
                ).scalar()
                if found is not None:
                    return str(found)
            try:
                with transaction(self._factory) as session:
                    token = secrets.token_urlsafe(9)  # 12 characters, 72 random bits
                    session.add(
                        PromoLink(token=token, procedure_code=code, channel=channel, target_url=url)
                    )
                return token
            except IntegrityError:
                continue
        raise RuntimeError("could not create a promotion link")

    def promote(self, answer: Answer, channel: str) -> Answer:
        """``answer`` with its online-service URL (in ``online_service`` and the text)
        replaced by the counted redirect; unchanged when disabled or nothing is promoted.
        A storage failure keeps the original link (the citizen still gets it)."""
        service = answer.online_service
        if not self._base or not service or not service.get("url"):
            return answer
        code = next((c.id for c in answer.citations if c.kind == "procedure"), "")
        if not code:
            return answer
        url = service["url"]
        try:
            short = f"{self._base}/r/{self.token_for(code, channel, url)}"
        except Exception:
            logger.exception("could not make the counted link; the portal link is kept")
            return answer
        return dataclasses.replace(
            answer,
            text=answer.text.replace(url, short),
            online_service={**service, "url": short},
        )

    def follow(self, token: str, *, count: bool = True) -> str | None:
        """The target URL of ``token`` (None when unknown), counting a click if ``count``."""
        if not token or len(token) > 32:
            return None
        with transaction(self._factory) as session:
            link = session.execute(select(PromoLink).where(PromoLink.token == token)).scalar()
            if link is None:
                return None
            if count:
                session.add(PromoClick(link_id=link.id))
            return link.target_url


def is_preview_robot(user_agent: str) -> bool:
    """Whether a User-Agent belongs to a link-preview robot (not a citizen's click)."""
    agent = user_agent.lower()
    return any(word in agent for word in PREVIEW_ROBOTS)


def redirect_routes(links: PromoLinks) -> list[Route]:
    """``GET|HEAD /r/{token}``: count and 302 to the portal; unknown → 404 (Vietnamese)."""

    async def follow(request: Request) -> Response:
        token = str(request.path_params.get("token", ""))
        count = request.method == "GET" and not is_preview_robot(
            request.headers.get("user-agent", "")
        )
        try:
            target = await asyncio.to_thread(links.follow, token, count=count)
        except Exception:
            logger.exception("reading a promotion link failed")
            return HTMLResponse(NOT_FOUND_PAGE, status_code=503)
        if target is None:
            return HTMLResponse(NOT_FOUND_PAGE, status_code=404)
        response = RedirectResponse(target, status_code=302)
        response.headers["Cache-Control"] = "no-store"  # every click reaches us
        response.headers["Referrer-Policy"] = "no-referrer"
        return response

    return [Route("/r/{token}", follow, methods=["GET", "HEAD"])]
