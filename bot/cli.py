"""The ``tthc`` console script: one entry point, one subcommand group per package."""

from __future__ import annotations

import json
import sys

import click

from bot.app import Assistant, build_assistant, build_web_app
from bot.engine import texts
from bot.engine.model import Question
from bot.settings import ServerSettings
from indexer.cli import eval_, index, search
from indexer.store import GenerationError
from knowledge.cli import kb


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
    assistant = _assistant()
    app = build_web_app(assistant, settings)
    listen_host, listen_port = host or settings.host, port or settings.port
    click.echo(f"Trợ lý TTHC: http://{listen_host}:{listen_port}/ (Ctrl-C để dừng)", err=True)
    try:
        uvicorn.run(app, host=listen_host, port=listen_port, log_level="warning")
    finally:
        assistant.close()


def _assistant() -> Assistant:
    try:
        return build_assistant()
    except GenerationError as exc:
        click.echo(str(exc), err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
