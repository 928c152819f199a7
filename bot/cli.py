"""The ``tthc`` console script: one entry point, one subcommand group per package."""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import sys
import time

import click

from bot.app import Assistant, Channels, build_assistant, build_channels, build_web_app
from bot.channels.announce_cli import announce
from bot.channels.telegram import TelegramAdapter
from bot.engine import texts
from bot.engine.model import Question
from bot.handoff.cli import handoff
from bot.privacy_cli import privacy
from bot.reports.cli import report
from bot.settings import ChannelSettings, ServerSettings
from indexer.cli import eval_, index, rank, search
from indexer.store import GenerationError
from knowledge.cli import kb
from knowledge.staff_cli import admin


@click.group()
@click.version_option(package_name="tro-ly-tthc")
def main() -> None:
    """Trợ lý TTHC: an assistant for Vietnamese administrative procedures.

    \b
    Quick start:
      tthc kb import --bundled     # load the bundled public data into SQLite
      tthc kb stats                # what is in the knowledge base
    """


main.add_command(kb)
main.add_command(index)
main.add_command(search)
main.add_command(eval_)
main.add_command(rank)
main.add_command(admin)
main.add_command(handoff)
main.add_command(report)
main.add_command(privacy)
main.add_command(announce)


def _configure_logging(settings: ServerSettings) -> None:
    """Timestamped log lines on stderr for the long-running commands.

    httpx/httpcore stay at WARNING (their INFO lines carry request URLs, and Telegram's
    and Zalo Bot's URLs carry the bot token); procrastinate's per-job INFO lines only
    at DEBUG.
    """
    logging.basicConfig(
        level=settings.log_level,
        format="%(asctime)s %(levelname)s %(name)s [%(process)d] %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger().setLevel(settings.log_level)
    quiet = "DEBUG" if settings.log_level == "DEBUG" else "WARNING"
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel("WARNING")
    logging.getLogger("procrastinate").setLevel(quiet)


def _ask_line(assistant: Assistant, line: str) -> str:
    text, session = line, "cli"
    if line.startswith("{"):
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            obj = None
        if isinstance(obj, dict) and "question" in obj:
            text, session = str(obj["question"]), str(obj.get("session") or "cli")
    answer = assistant.engine.answer(Question(text=text, channel="cli", user_id=session))
    return json.dumps(answer.as_dict(), ensure_ascii=False)


@main.command()
@click.argument("question")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="One JSON object; with QUESTION '-', one question per stdin line.",
)
def ask(question: str, as_json: bool) -> None:
    """Ask the assistant one question (or many, with '-').

    \b
    Examples:
      tthc ask "Đăng ký thường trú nộp online thì lệ phí bao nhiêu?"
      tthc ask "lam lai cccd o dau" --json
      printf '{"question": "khai sinh", "session": "a"}\\n{"question": "1", "session": "a"}\\n' \\
        | tthc ask --json -
    """
    assistant = _assistant()
    try:
        if question == "-":
            for line in sys.stdin:
                if line.strip():
                    click.echo(_ask_line(assistant, line.strip()))
            return
        if as_json:
            click.echo(_ask_line(assistant, question))
            return
        answer = assistant.engine.answer(Question(text=question, channel="cli"))
        click.echo(answer.text)
    finally:
        assistant.close()


@main.command()
def chat() -> None:
    """Talk to the assistant in the terminal (Ctrl-D or "thoát" to leave)."""
    assistant = _assistant()
    click.echo(texts.WELCOME)
    try:
        while True:
            try:
                line = input("> ").strip()
            except EOFError:
                break
            if line.lower() in {"thoát", "thoat", "exit", "quit"}:
                break
            if line:
                click.echo(assistant.engine.answer(Question(text=line, channel="console")).text)
                click.echo()
    finally:
        assistant.close()


@main.command()
@click.option("--host", default=None, help="Listen address (default $TTHC_HOST or 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default $TTHC_PORT or 8000).")
def serve(host: str | None, port: int | None) -> None:
    """Run the assistant's web server: web chat at /, its API, /healthz and /readyz.

    \b
    Examples:
      tthc serve
      TTHC_HOST=0.0.0.0 TTHC_PORT=8080 tthc serve
    """
    import uvicorn

    settings = ServerSettings()
    _configure_logging(settings)
    assistant = _assistant(shared_state=True)
    app = build_web_app(assistant, settings, default_engine_processes=1)
    listen_host, listen_port = host or settings.host, port or settings.port
    click.echo(f"Trợ lý TTHC: http://{listen_host}:{listen_port}/ (Ctrl-C để dừng)", err=True)
    try:
        uvicorn.run(app, host=listen_host, port=listen_port, log_level="warning")
    finally:
        assistant.close()


@main.command()
def worker() -> None:
    """Run reply jobs for the web processes (PostgreSQL only), until SIGTERM or Ctrl-C.

    Web processes store each verified event and answer the platform at once; workers
    ask the engine and send the replies. Run as many as the load needs; set
    TTHC_WORKER_IN_PROCESS=false on the web processes when workers do the job.

    \b
    Example:
      TTHC_DATABASE_URL=postgresql+psycopg://tthc@db/tthc tthc worker
    """
    settings = ServerSettings()
    _configure_logging(settings)
    assistant = _assistant(shared_state=True)
    channels = build_channels(
        assistant, settings, ChannelSettings(), run_worker=True, default_engine_processes=1
    )
    if not channels.queue.durable:
        assistant.close()
        click.echo(
            "Tiến trình worker cần PostgreSQL (TTHC_DATABASE_URL); với SQLite, "
            "tthc serve tự chạy các việc trả lời.",
            err=True,
        )
        sys.exit(2)

    async def run() -> None:
        loop = asyncio.get_running_loop()
        stopping = asyncio.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stopping.set)
        try:
            for hook in channels.startup:
                result = hook()
                if asyncio.iscoroutine(result):
                    await result
            click.echo("Worker đang chạy (Ctrl-C để dừng).", err=True)
            await stopping.wait()
        finally:
            await _shutdown(channels)

    try:
        asyncio.run(run())
    finally:
        assistant.close()


@main.group()
def telegram() -> None:
    """Telegram: register the webhook, or poll for updates on a machine without HTTPS."""


def _telegram_channels() -> tuple[Assistant, Channels, TelegramAdapter]:
    assistant = _assistant()
    channels = build_channels(assistant, ServerSettings(), ChannelSettings())
    adapter = next((a for a in channels.adapters if isinstance(a, TelegramAdapter)), None)
    if adapter is None:
        assistant.close()
        click.echo("Chưa cấu hình TELEGRAM_BOT_TOKEN và TELEGRAM_WEBHOOK_SECRET.", err=True)
        sys.exit(2)
    return assistant, channels, adapter


async def _shutdown(channels: Channels) -> None:
    for hook in channels.shutdown:
        result = hook()
        if asyncio.iscoroutine(result):
            await result


@telegram.command(name="set-webhook")
@click.argument("url")
def set_webhook(url: str) -> None:
    """Tell Telegram to deliver updates to URL (with the secret token).

    Example: tthc telegram set-webhook https://tro-ly.example.gov.vn/webhooks/telegram
    """
    assistant, channels, adapter = _telegram_channels()

    async def run() -> bool:
        try:
            return await adapter.set_webhook(url)
        finally:
            await _shutdown(channels)

    try:
        ok = asyncio.run(run())
    finally:
        assistant.close()
    click.echo("Đã đăng ký webhook." if ok else "Telegram từ chối webhook.")
    sys.exit(0 if ok else 1)


@telegram.command()
@click.option("--once", is_flag=True, help="Fetch one batch of updates and stop (tests).")
@click.option("--timeout", default=30, show_default=True, help="Long-poll seconds.")
def poll(once: bool, timeout: int) -> None:
    """Answer Telegram by long polling (local use; removes any webhook first)."""
    assistant, channels, adapter = _telegram_channels()

    async def run() -> None:
        try:
            await channels.queue.open()
            await adapter.start()
            bot = adapter.application.bot
            await bot.delete_webhook()
            offset: int | None = None
            while True:
                updates = await bot.get_updates(offset=offset, timeout=timeout)
                for update in updates:
                    raw = json.dumps(update.to_dict(), ensure_ascii=False).encode()
                    await channels.dispatcher.accept(adapter, adapter.parse(raw))
                    offset = update.update_id + 1  # stored: Telegram may forget it
                await channels.queue.drain(timeout=60)
                if once:
                    return
        finally:
            await _shutdown(channels)

    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        pass
    finally:
        assistant.close()


def _assistant(*, shared_state: bool = False) -> Assistant:
    """The assistant; a server or worker (``shared_state``) waits up to two minutes for
    a database that is starting or briefly down, instead of exiting at once."""
    from sqlalchemy.exc import OperationalError

    deadline = time.monotonic() + (120 if shared_state else 0)
    while True:
        try:
            return _built(shared_state)
        except OperationalError:
            if time.monotonic() >= deadline:
                raise
            click.echo("Chưa kết nối được cơ sở dữ liệu; thử lại sau 2 giây…", err=True)
            time.sleep(2)


def _built(shared_state: bool) -> Assistant:
    try:
        return build_assistant(shared_state=shared_state)
    except GenerationError as exc:
        click.echo(str(exc), err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
