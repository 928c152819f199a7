"""Checksums of a generation's files: written at build, verified before a generation serves.

The manifest (the last file of a generation) lists every other file of the folder with
its size and sha256. A reader checks the sizes first, so a missing or truncated file is
found without reading anything, then hashes every file. A flipped byte anywhere gives
a different sha256, so a damaged generation is refused instead of answering from a
FAISS or SQLite file that no longer says what was built.

After loading, a cheap stat fingerprint (size, mtime, inode) of each file is kept: a
file changed in place while the generation serves (the keyword index is memory-mapped,
the record store is read on every answer) is noticed by comparing fingerprints, and
only the changed files are hashed again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from indexer.store import MANIFEST, GenerationError

#: Read size for hashing: large enough that Python's loop costs nothing next to sha256.
_BLOCK = 1 << 20


class GenerationDamaged(GenerationError):
    """A file of a generation is missing or differs from the manifest's checksums."""

    def __init__(self, generation: str, file: str, problem: str) -> None:
        self.generation = generation
        self.file = file
        self.problem = problem
        super().__init__(f"{generation}: {file} {problem}")


@dataclass(frozen=True)
class Fingerprint:
    """What ``stat`` says about a file: changes when the file is written or replaced."""

    size: int
    mtime_ns: int
    inode: int

    @classmethod
    def of(cls, path: Path) -> Fingerprint:
        """The file's current fingerprint (``FileNotFoundError`` when it is gone)."""
        st = path.stat()
        return cls(st.st_size, st.st_mtime_ns, st.st_ino)


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def generation_files(folder: Path) -> list[str]:
    """Every file of a generation but its manifest, as sorted POSIX relative paths."""
    return sorted(
        path.relative_to(folder).as_posix()
        for path in folder.rglob("*")
        if path.is_file() and not path.name.startswith(MANIFEST)
    )


def checksums(folder: Path) -> dict[str, dict[str, Any]]:
    """``{relative path: {"size", "sha256"}}`` of every file of a generation but its manifest."""
    out: dict[str, dict[str, Any]] = {}
    for rel in generation_files(folder):
        path = folder / rel
        out[rel] = {"size": path.stat().st_size, "sha256": file_sha256(path)}
    return out


def verify(folder: Path, files: Mapping[str, Mapping[str, Any]]) -> dict[str, Fingerprint]:
    """Check every listed file against its size and sha256; raise :class:`GenerationDamaged`.

    Returns each file's fingerprint taken *before* it was hashed, so a change made while
    hashing shows up at the next :func:`recheck`.
    """
    fingerprints = {rel: _check_size(folder, rel, expected) for rel, expected in files.items()}
    for rel, expected in files.items():
        _check_digest(folder, rel, str(expected["sha256"]))
    return fingerprints


def recheck(
    folder: Path,
    files: Mapping[str, Mapping[str, Any]],
    known: Mapping[str, Fingerprint],
) -> dict[str, Fingerprint]:
    """Verify again only the files whose fingerprint moved since ``known``.

    Returns the updated fingerprints (a file touched but unchanged is accepted again);
    raises :class:`GenerationDamaged` when a changed file no longer matches.
    """
    updated = dict(known)
    for rel, expected in files.items():
        now = _check_size(folder, rel, expected)
        if now == known.get(rel):
            continue
        _check_digest(folder, rel, str(expected["sha256"]))
        updated[rel] = now
    return updated


def _check_size(folder: Path, rel: str, expected: Mapping[str, Any]) -> Fingerprint:
    try:
        seen = Fingerprint.of(folder / rel)
    except FileNotFoundError:
        raise GenerationDamaged(folder.name, rel, "is missing") from None
    if seen.size != int(expected["size"]):
        raise GenerationDamaged(
            folder.name,
            rel,
            f"has {seen.size} bytes, the manifest says {expected['size']} "
            "(truncated or overwritten)",
        )
    return seen


def _check_digest(folder: Path, rel: str, expected: str) -> None:
    try:
        found = file_sha256(folder / rel)
    except FileNotFoundError:
        raise GenerationDamaged(folder.name, rel, "is missing") from None
    except OSError as exc:
        raise GenerationDamaged(folder.name, rel, f"cannot be read ({exc.strerror})") from exc
    if found != expected:
        raise GenerationDamaged(
            folder.name,
            rel,
            f"has sha256 {found[:12]}…, the manifest says {expected[:12]}… (damaged)",
        )


def total_size(files: Mapping[str, Mapping[str, Any]]) -> int:
    """Bytes a verification reads."""
    return sum(int(entry["size"]) for entry in files.values())
