"""What one question costs, and what a flood of heavy messages does to everyone else.

Usage: ``TTHC_DATA_DIR=<folder with an index> python bench/question_cost.py``

Prints, as JSON, the engine's latency for an ordinary question, for a question followed
by 1,970 combining accents (2,000 characters, the web chat's limit), for a 2,000-character
Vietnamese message, and for the ordinary question while four threads keep sending the
accents with fresh user ids (what four web chat clients with a new ``session_id`` each
did): the embedder's model lock makes every question wait behind the heavy ones unless
their cost is bounded.
"""

from __future__ import annotations

import json
import statistics
import threading
import time
import uuid

from bot.app import build_assistant
from bot.engine.model import Question

ORDINARY = "Đăng ký thường trú cần giấy tờ gì?"
# Within the web chat's 2,000 characters: a question with the rest of the room filled
# with combining accents (alone, the accents are a vague message that is never searched).
ACCENTS = "Lệ phí đăng ký khai sinh" + "\u0301" * 1970
LONG_TEXT = ("Cho tôi hỏi lệ phí đăng ký thường trú cho con ở Hà Nội là bao nhiêu tiền ạ? " * 30)[
    :2000
]
FLOOD_THREADS = 4


def timed(assistant: object, text: str, user: str) -> float:
    started = time.perf_counter()
    engine = assistant.engine  # type: ignore[attr-defined]
    engine.answer(Question(text=text, channel="web", user_id=user))
    return (time.perf_counter() - started) * 1000


def main() -> None:
    assistant = build_assistant()
    timed(assistant, ORDINARY, "warm-up")  # loads the model and the index
    ordinary = [timed(assistant, ORDINARY, f"o{i}") for i in range(5)]
    accents = timed(assistant, ACCENTS, "accents")
    long_text = timed(assistant, LONG_TEXT, "long")
    stop = threading.Event()

    def flood() -> None:
        while not stop.is_set():
            timed(assistant, ACCENTS, uuid.uuid4().hex)

    threads = [threading.Thread(target=flood, daemon=True) for _ in range(FLOOD_THREADS)]
    for thread in threads:
        thread.start()
    time.sleep(0.5)
    under_flood = [timed(assistant, ORDINARY, f"f{i}") for i in range(3)]
    stop.set()
    for thread in threads:
        thread.join()
    print(
        json.dumps(
            {
                "ordinary_ms_median": round(statistics.median(ordinary), 1),
                "question_plus_1970_accents_ms": round(accents, 1),
                "vietnamese_2000_chars_ms": round(long_text, 1),
                "ordinary_while_4_threads_send_accents_ms": [round(v, 1) for v in under_flood],
            },
            indent=2,
        )
    )
    assistant.close()


if __name__ == "__main__":
    main()
