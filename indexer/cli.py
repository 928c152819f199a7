"""``tthc index ...``, ``tthc search`` and ``tthc eval``: the retrieval commands."""

from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import click

from indexer import integrity
from indexer.build import INDEXED_KINDS
from indexer.components import make_retriever
from indexer.evaluation import EvalFileError, evaluate, format_report, load_eval_file
from indexer.examples import ExampleMemory
from indexer.rank_training import (
    CURATED,
    Example,
    cross_validate,
    curated_examples,
    example_memories,
    featurise,
    first_stages,
    generated_examples,
    memory_fold,
    query_vectors,
    split_items,
    strict_train_examples,
    train_model,
)
from indexer.refresh import build_from_settings, read_status
from indexer.rerank import DEFAULT_MODEL
from indexer.retriever import HybridRetriever
from indexer.settings import IndexSettings
from indexer.store import GenerationError, GenerationStore, Manifest
from knowledge.db import make_engine, make_session_factory
from knowledge.settings import KnowledgeSettings


def _progress(total: int, desc: str) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="đoạn", file=sys.stderr, dynamic_ncols=True)


@click.group(name="index")
def index() -> None:
    """Search index: immutable generations in $TTHC_INDEX_DIR (default var/index)."""


@index.command()
@click.option(
    "--full",
    is_flag=True,
    help="Re-read every record instead of reusing the "
    "previous generation (vectors still come from the content-hash cache).",
)
@click.option(
    "--if-outdated",
    is_flag=True,
    help="Do nothing when the current generation already holds the newest knowledge revision.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the build report as JSON.")
def build(full: bool, if_outdated: bool, as_json: bool) -> None:
    """Build a new generation from the published knowledge and switch `current` to it.

    A failed or interrupted build leaves the serving generation untouched. Only one
    build runs at a time per index folder (a second one waits for the first); every
    serving process switches to the new generation at its next question.

    \b
    Examples:
      tthc index build
      tthc index build --full
      tthc index build --if-outdated --json
    """
    try:
        report = build_from_settings(
            full=full, only_if_outdated=if_outdated, progress=None if as_json else _progress
        )
    except Exception as exc:
        click.echo(f"Dựng chỉ mục thất bại, thế hệ đang phục vụ không đổi: {exc}", err=True)
        sys.exit(1)
    if report is None:
        if as_json:
            click.echo(json.dumps({"built": False}, ensure_ascii=False))
        else:
            click.echo("Chỉ mục đã cập nhật theo phiên bản tri thức mới nhất: không dựng lại.")
        return
    data = {"built": True, **asdict(report), "generation": str(report.generation)}
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    click.echo(
        f"{report.generation.name}: {report.records} bản ghi, {report.chunks} đoạn, "
        f"{report.dense_vectors} vector ({report.embedded} mới nhúng), "
        f"{report.seconds:.1f} giây"
    )


@index.command()
def status() -> None:
    """Print, as JSON, the serving generation, the newest knowledge revision and the
    state of index builds (idle, queued, building with stage and progress, failed).

    \b
    Example:
      tthc index status
    """
    settings = IndexSettings()
    engine = make_engine(KnowledgeSettings().resolved_database_url())
    try:
        data = read_status(settings.resolved_index_dir(), make_session_factory(engine))
    finally:
        engine.dispose()
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


@index.command()
@click.option("--json", "as_json", is_flag=True, help="Print the manifest as JSON.")
def info(as_json: bool) -> None:
    """Show the current generation's manifest."""
    settings = IndexSettings()
    store = GenerationStore(settings.resolved_index_dir())
    current = store.current()
    if current is None:
        click.echo("Chưa có chỉ mục: chạy `tthc index build`.", err=True)
        sys.exit(1)
    manifest = Manifest.read(current)
    data = {
        "generation": current.name,
        **asdict(manifest),
        "generations": [p.name for p in store.generations()],
    }
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    files = data.pop("files")
    for key, value in data.items():
        click.echo(f"{key}: {value}")
    size = integrity.total_size(files) / 1e6
    click.echo(
        f"files: {len(files)} tệp, {size:.1f} MB, mỗi tệp có sha256 trong manifest"
        if files
        else "files: không có checksum (thế hệ cũ; `tthc index build` tạo thế hệ có checksum)"
    )


@index.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON object per generation.")
def verify(as_json: bool) -> None:
    """Check every generation's files against the sizes and sha256 in its manifest.

    Exit status 0 when the current generation is intact (or has no checksums), 1 when it
    is missing or damaged; a serving process would then answer from the newest intact
    generation before it (see /readyz).

    \b
    Example:
      tthc index verify
    """
    store = GenerationStore(IndexSettings().resolved_index_dir())
    current = store.current()
    current_ok = False
    for folder in reversed(store.generations()):
        started = time.perf_counter()
        try:
            manifest = Manifest.read(folder)
            integrity.verify(folder, manifest.files)
            status = "ok" if manifest.files else "unverified"
            problem = ""
        except GenerationError as exc:
            status, problem = "damaged", str(exc)
        if folder == current:
            current_ok = status != "damaged"
        row = {
            "generation": folder.name,
            "current": folder == current,
            "status": status,
            "problem": problem,
            "seconds": round(time.perf_counter() - started, 3),
        }
        if as_json:
            click.echo(json.dumps(row, ensure_ascii=False))
        else:
            mark = "*" if row["current"] else " "
            label = {"ok": "nguyên vẹn", "unverified": "không có checksum", "damaged": "HỎNG"}
            click.echo(f"{mark} {folder.name}: {label[status]} {problem}".rstrip())
    if current is None:
        click.echo("Chưa có chỉ mục: chạy `tthc index build`.", err=True)
    sys.exit(0 if current_ok else 1)


def _open_retriever(*, rerank: bool = True) -> HybridRetriever:
    retriever = make_retriever(IndexSettings(), rerank=rerank)
    try:
        retriever.generation()
    except GenerationError as exc:
        click.echo(str(exc), err=True)
        sys.exit(1)
    return retriever


def _search_json(retriever: HybridRetriever, query: str, k: int, kinds: list[str]) -> str:
    started = time.perf_counter()
    hits = retriever.search(query, k=k, kinds=kinds or None)
    latency = (time.perf_counter() - started) * 1000
    return json.dumps(
        {
            "query": query,
            "results": [
                {"kind": h.kind, "id": h.id, "title": h.title, "score": h.score} for h in hits
            ],
            "latency_ms": round(latency, 2),
        },
        ensure_ascii=False,
    )


@click.command()
@click.argument("query")
@click.option("-k", default=10, show_default=True, help="How many records.")
@click.option(
    "--kind",
    "kinds",
    multiple=True,
    type=click.Choice(INDEXED_KINDS),
    help="Only these record kinds.",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="JSON output; with QUERY '-', one query per stdin line → one JSON per line.",
)
@click.option(
    "--explain",
    is_flag=True,
    help="Show each candidate's first-stage rank, reranker score and features.",
)
def search(query: str, k: int, kinds: tuple[str, ...], as_json: bool, explain: bool) -> None:
    """Search the knowledge base the way the assistant does.

    \b
    Examples:
      tthc search "lam lai cccd bi mat"
      tthc search "lệ phí đăng ký thường trú" -k 5 --json
      tthc search "thủ tục khai sinh cho em bé" -k 5 --explain
      printf 'cap lai gplx\\nxin so do\\n' | tthc search --json -
    """
    retriever = _open_retriever()
    if explain:
        for rank, item in enumerate(
            retriever.explain(query, k=k, kinds=list(kinds) or None), start=1
        ):
            hit = item.hit
            origin = (
                f"giai đoạn 1: #{item.first_stage_rank}"
                if item.first_stage_rank
                else ("thêm vào: thủ tục gốc của một biến thể")
            )
            same = f"  cùng tên: {', '.join(hit.same_name)}" if hit.same_name else ""
            click.echo(
                f"{rank:2d}. [{hit.kind}] {hit.id}  {hit.title[:90]}\n"
                f"    điểm xếp hạng {hit.rerank:.3f}  ({origin}){same}"
            )
            shown = {n: round(v, 3) for n, v in item.features.items() if v}
            click.echo(f"    {json.dumps(shown, ensure_ascii=False)}")
        return
    if query == "-":
        for line in sys.stdin:
            if line.strip():
                click.echo(_search_json(retriever, line.strip(), k, list(kinds)))
        return
    if as_json:
        click.echo(_search_json(retriever, query, k, list(kinds)))
        return
    for rank, hit in enumerate(retriever.search(query, k=k, kinds=list(kinds) or None), 1):
        click.echo(
            f"{rank:2d}. [{hit.kind}] {hit.id}  {hit.title[:90]}  ({hit.score:.4f}, {hit.field})"
        )


@click.command(name="eval")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("-k", default=10, show_default=True, help="Depth searched per question.")
@click.option(
    "--mode",
    type=click.Choice(["hybrid", "dense", "keyword"]),
    default="hybrid",
    show_default=True,
    help="Which retrieval to evaluate.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the whole report as JSON.")
@click.option("--misses", is_flag=True, help="Also list the questions missed at rank 1.")
@click.option(
    "--split",
    type=click.Choice(["all", "train", "test"]),
    default="all",
    show_default=True,
    help="Only one part of the fixed train/test split (see eval/strict/README.md).",
)
@click.option("--no-rerank", is_flag=True, help="First stage only (dense + BM25 fused).")
def eval_(
    paths: tuple[Path, ...],
    k: int,
    mode: str,
    as_json: bool,
    misses: bool,
    split: str,
    no_rerank: bool,
) -> None:
    """Score retrieval on labelled questions: Recall@1/5, MRR, per tag, unaccented, latency.

    Each line: {"question": "...", "expected": ["1.004222"], "tags": ["residence"]}.

    Example: tthc eval eval/retrieval_dev.jsonl eval/golden_qa.jsonl
    """
    try:
        items = [item for path in paths for item in load_eval_file(path)]
    except EvalFileError as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)
    if split != "all":
        items = split_items(items, split)
    retriever = _open_retriever()
    retriever.modes = ("dense", "keyword") if mode == "hybrid" else (mode,)
    if no_rerank:
        report = evaluate(items, lambda q: [h.id for h in retriever.first_stage(q, k=k)])
    else:
        report = evaluate(items, lambda q: [h.id for h in retriever.search(q, k=k)])
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, indent=2))
        return
    click.echo(format_report(report))
    if misses:
        for miss in report["misses"]:
            click.echo(
                f"- {miss['question']!r} expected {miss['expected']} "
                f"rank {miss['rank']} top {miss['top']}"
            )


@click.group(name="rank")
def rank() -> None:
    """The second-stage ranker: a LightGBM model over the first stage's candidates."""


@rank.command()
@click.option(
    "--eval",
    "eval_paths",
    multiple=True,
    type=click.Path(exists=True, path_type=Path),
    help="Strict evaluation files; only their train part is used "
    "(default: eval/strict/*.jsonl of the source tree).",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=DEFAULT_MODEL,
    show_default=True,
    help="Model file to write (a .json sidecar is written beside it).",
)
@click.option(
    "--curated",
    "curated_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=CURATED,
    show_default=True,
    help="Folder of training-only question files (*.jsonl; none when it holds none).",
)
@click.option("--generated", default=1800, show_default=True, help="Records to make names from.")
@click.option(
    "--cv",
    "folds",
    type=click.IntRange(min=2),
    default=None,
    help="Only report N-fold cross-validation on the train split (no model is written).",
)
def train(
    eval_paths: tuple[Path, ...],
    out: Path,
    curated_dir: Path,
    generated: int,
    folds: int | None,
) -> None:
    """Retrain the ranker on the train split, the training-only questions
    (indexer/data/train_questions/) and questions made from record names.

    Needs a built index (the first stage gives the candidates). The test split is
    never read. The train questions are written beside the model, with their query
    embeddings, as the example questions the ranker consults (example_questions.*).

    \b
    Example:
      tthc rank train
      tthc rank train --cv 5
      tthc eval eval/strict/*.jsonl --split test
    """
    if not eval_paths:
        folder = Path(__file__).resolve().parents[1] / "eval" / "strict"
        eval_paths = tuple(sorted(folder.glob("*.jsonl")))
    retriever = _open_retriever(rerank=False)
    gen = retriever.generation()
    strict = list(eval_paths)
    examples = strict_train_examples(strict)
    curated = curated_examples(sorted(curated_dir.glob("*.jsonl")), strict)
    made = generated_examples(gen.profiles, retriever.titles(), per_kind=generated)
    sources = {"eval-train": len(examples), "curated": len(curated), "generated": len(made)}
    examples = [*examples, *curated]
    everyone = [e.question for e in [*examples, *made]]
    bar = _progress(len(everyone), "Nhúng câu hỏi")
    vectors = query_vectors(retriever, everyone, on_progress=bar.update)
    bar.close()
    if folds is not None:
        bar = _progress(len(everyone), "Giai đoạn 1")
        hits = first_stages(retriever, everyone, on_progress=bar.update)
        bar.close()
        report = cross_validate(retriever, examples, made, folds=folds, hits=hits, vectors=vectors)
        click.echo(
            f"{folds}-fold CV, train split ({report['n']} câu hỏi): "
            f"R@1 {report['recall@1']:.3f}  R@5 {report['recall@5']:.3f}  "
            f"MRR {report['mrr']:.3f}"
        )
        return
    # Each train question is compared with the example questions of the other parts;
    # the name-made questions, like a new question, with all of them.
    full, parts = example_memories(examples, vectors, retriever.embedder.model_id)

    def memory(example: Example) -> ExampleMemory:
        own = example.source in ("eval-train", "curated")
        return parts[memory_fold(example.question)] if own else full

    bar = _progress(len(everyone), "Tạo đặc trưng")
    matrix, labels, groups, lines = featurise(
        retriever, examples + made, memory=memory, vectors=vectors, on_progress=bar.update
    )
    bar.close()
    meta = train_model(matrix, labels, groups, lines, out, sources=sources, examples=full)
    click.echo(
        f"{out}: {meta['examples']} câu hỏi, {meta['rows']} ứng viên, "
        f"sha256 {meta['training_sha256'][:12]}"
    )
