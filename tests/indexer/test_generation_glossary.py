"""A generation keeps the glossary it was built with, and it reads back the same."""

from __future__ import annotations

from pathlib import Path

from indexer.glossary import DEFAULT_GLOSSARY, Glossary
from indexer.store import GLOSSARY, GenerationStore
from tests.indexer.conftest import Builder


def test_glossary_text_reads_back_as_the_same_entries(tmp_path: Path) -> None:
    original = Glossary.load(DEFAULT_GLOSSARY)
    path = tmp_path / "glossary.tsv"
    path.write_text(original.to_tsv(), "utf-8")
    again = Glossary.load(path)
    assert again.entries == original.entries and len(again.entries) > 600
    assert again.expand("mất bao lâu làm cccd") == original.expand("mất bao lâu làm cccd")


def test_generation_holds_its_glossary(build: Builder, gen_store: GenerationStore) -> None:
    report = build()
    written = report.generation / GLOSSARY
    assert GLOSSARY in report.generation.joinpath("manifest.json").read_text("utf-8")  # checksummed
    assert Glossary.load(written).entries == Glossary.load(DEFAULT_GLOSSARY).entries
