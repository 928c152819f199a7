"""Memory of a server sent four 100 MB bodies at once (webhook and web chat).

Usage: ``python bench/big_bodies.py`` (starts the app under uvicorn in a child process).

Prints the server's resident memory (VmRSS) and peak (VmHWM) before and after, in MB,
as JSON. Without a body cap, the bodies are buffered whole before any signature check.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time

import httpx

MB = 1024 * 1024
CHUNK = b"x" * 65536

SERVER = """
import uvicorn
from starlette.applications import Starlette
from bot.channels.routes import webhook_routes
from bot.channels.telegram import TelegramAdapter
from bot.engine.model import Answer
from bot.web import create_app

class Echo:
    def answer(self, question):
        return Answer(question=question.text, status="answered", text="ok")

class NoFeedback:
    def record(self, **_):
        pass

telegram = TelegramAdapter(token="123:abc", webhook_secret="secret")
app = create_app(engine=Echo(), feedback=NoFeedback(), ready=lambda: {},
                 extra_routes=webhook_routes(telegram, None))
uvicorn.run(app, host="127.0.0.1", port=PORT, log_level="warning")
"""


def memory(pid: int) -> dict[str, float]:
    with open(f"/proc/{pid}/status") as status:
        fields = dict(line.split(":", 1) for line in status)
    return {k: round(int(fields[k].split()[0]) / 1024, 1) for k in ("VmRSS", "VmHWM")}


async def stream(size: int):  # type: ignore[no-untyped-def]
    sent = 0
    while sent < size:
        sent += len(CHUNK)
        yield CHUNK


async def send(base: str, path: str, headers: dict[str, str]) -> str:
    async with httpx.AsyncClient(base_url=base, timeout=120) as client:
        try:
            response = await client.post(path, content=stream(100 * MB), headers=headers)
            return str(response.status_code)
        except httpx.HTTPError as exc:
            return type(exc).__name__


async def flood(base: str) -> list[str]:
    return list(
        await asyncio.gather(
            send(base, "/webhooks/telegram", {"X-Telegram-Bot-Api-Secret-Token": "wrong"}),
            send(base, "/webhooks/telegram", {}),
            send(base, "/api/chat", {"Content-Type": "application/json"}),
            send(base, "/api/feedback", {"Content-Type": "application/json"}),
        )
    )


def main() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER.replace("PORT", str(port))], env=dict(os.environ)
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                httpx.get(f"{base}/healthz", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        before = memory(server.pid)
        started = time.perf_counter()
        statuses = asyncio.run(flood(base))
        seconds = time.perf_counter() - started
        time.sleep(0.5)
        after = memory(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=10)
    print(
        json.dumps(
            {
                "before_mb": before,
                "after_mb": after,
                "statuses": statuses,
                "seconds": round(seconds, 2),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
