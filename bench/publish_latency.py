"""How long a published fee change takes to reach the bot's answer; prints its figures.

    python bench/publish_latency.py [--json] [--code 1.004222] [--question "..."]

Needs a full build in var/ (``tthc kb init && tthc kb import --bundled &&
OMP_NUM_THREADS=1 tthc index build``). The knowledge base and the index are copied to a
temporary folder first, so var/ is not changed.

Figures:
- ``incremental_build_seconds`` and ``stages``: one incremental build after one fee
  change, run here, with the time of each stage (records, chunks, embedding, writing,
  switching);
- ``publish_to_answer_seconds``: a second fee change is published through the real
  refresh port (debounce, child process, lock), while the bot (an in-process engine)
  is asked every 0.25 s; the time from the publish until the answer shows the new fee;
- ``refresh_build_seconds``: the duration of that build as its status reports it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bot.app import build_assistant  # noqa: E402
from bot.engine.composer import money  # noqa: E402
from bot.engine.model import Question  # noqa: E402
from indexer.build import build_index  # noqa: E402
from indexer.components import load_glossary, make_embedder, make_index_refresh  # noqa: E402
from indexer.settings import IndexSettings  # noqa: E402
from indexer.store import GenerationStore  # noqa: E402
from knowledge.codec import from_json, to_json  # noqa: E402
from knowledge.db import make_engine, make_session_factory, transaction  # noqa: E402
from knowledge.repository import KnowledgeRepository  # noqa: E402
from knowledge.settings import KnowledgeSettings  # noqa: E402

DEFAULT_QUESTION = "Đăng ký thường trú thì lệ phí bao nhiêu?"


def _set_fee(factory: Any, code: str, amount: int) -> None:
    with transaction(factory) as session:
        repo = KnowledgeRepository(session)
        data = to_json(repo.get("procedure", code))
        fee = next(f for c in data["channels"] for f in c["fees"] if f.get("amount_vnd"))
        fee.update(amount_vnd=amount, meaning="amount")
        repo.upsert([from_json("procedure", data)], author="bench")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--question", default=DEFAULT_QUESTION)
    parser.add_argument("--code", help="Procedure whose fee changes (default: the one cited).")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    source = IndexSettings().data_dir
    work = Path(tempfile.mkdtemp(prefix="tthc-publish-bench-"))
    try:
        data_dir = work / "var"
        data_dir.mkdir()
        shutil.copy2(source / "tthc.sqlite3", data_dir / "tthc.sqlite3")
        index = data_dir / "index"
        index.mkdir()
        current = (source / "index" / "current").resolve()
        shutil.copy2(source / "index" / "vector-cache.sqlite3", index / "vector-cache.sqlite3")
        shutil.copytree(current, index / current.name)
        os.symlink(current.name, index / "current")
        os.environ["TTHC_DATA_DIR"] = str(data_dir)
        os.environ.pop("TTHC_INDEX_DIR", None)
        os.environ.pop("TTHC_DATABASE_URL", None)
        figures = run(args, data_dir)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if args.json:
        print(json.dumps(figures, ensure_ascii=False, indent=2))
        return
    for name, value in figures.items():
        print(f"{name}: {value}")


def run(args: argparse.Namespace, data_dir: Path) -> dict[str, Any]:
    settings = IndexSettings()
    database = make_engine(KnowledgeSettings().resolved_database_url())
    factory = make_session_factory(database)
    assistant = build_assistant(shared_state=False, migrate_schema=False)
    users = iter(range(10**6))

    def answer() -> str:
        return assistant.engine.answer(Question(text=args.question, user_id=f"b{next(users)}")).text

    first = answer()
    code = args.code
    if code is None:
        import re

        cited = re.findall(r"\(mã ([^)\s]+)\)", first)
        if not cited:
            raise SystemExit(f"the question cites no procedure: {first[:200]}")
        code = cited[0]

    # 1. One incremental build in this process, timed by stage.
    _set_fee(factory, code, 1_111_000)
    glossary, digest = load_glossary(settings)
    stamps: list[tuple[str, float]] = []
    started = time.perf_counter()
    cpu = time.process_time()
    report = build_index(
        factory=factory,
        store=GenerationStore(settings.resolved_index_dir()),
        embedder=make_embedder(settings),
        glossary=glossary,
        glossary_sha256=digest,
        on_stage=lambda name: stamps.append((name, time.perf_counter())),
    )
    cpu_seconds = time.process_time() - cpu
    ends = [t for _n, t in stamps[1:]] + [started + report.seconds]
    stages = {name: round(end - t, 2) for (name, t), end in zip(stamps, ends, strict=True)}

    # 2. The real port: publish, then ask until the answer shows the new fee.
    refresh = make_index_refresh(settings, factory)
    new_fee = 2_345_000
    _set_fee(factory, code, new_fee)
    published = time.perf_counter()
    refresh.request(f"bench {code}")
    wanted = money(new_fee)
    latency = None
    while time.perf_counter() - published < 300:
        if wanted in answer():
            latency = time.perf_counter() - published
            break
        time.sleep(0.25)
    status = refresh.status()
    refresh.close()
    assistant.close()
    database.dispose()
    return {
        "procedure": code,
        "load_average_1min": round(os.getloadavg()[0], 2),
        "cpu_cores": os.cpu_count(),
        "records": report.records,
        "incremental_build_seconds": round(report.seconds, 2),
        # CPU time: what the wall time would be on an idle core (the test machine is shared).
        "incremental_build_cpu_seconds": round(cpu_seconds, 2),
        "incremental_records_read": report.records_read,
        "incremental_embedded": report.embedded,
        "stages": stages,
        "publish_to_answer_seconds": None if latency is None else round(latency, 2),
        "refresh_build_seconds": status.get("last_duration_seconds"),
        "debounce_seconds": settings.index_refresh_debounce_seconds,
    }


if __name__ == "__main__":
    main()
