"""Container healthcheck of the Trợ lý TTHC image: exit 0 when healthy, 1 otherwise.

A web container is healthy when ``/readyz`` answers 200 (an intact index generation is
loaded; see its JSON for which one). A worker has no HTTP server: it is healthy when the
database answers and an index generation exists. The role comes from the argument, else
from the file the entrypoint writes (``$TTHC_ROLE_FILE``, default ``/tmp/tthc-role``).

Kept apart from the ``tthc`` command so a probe every few seconds imports almost nothing.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request


def check_web(port: str) -> str | None:
    """``None`` when ``/readyz`` on this container answers 200, else what went wrong."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=4) as response:
            return None if response.status == 200 else f"/readyz answered {response.status}"
    except urllib.error.HTTPError as exc:
        return f"/readyz answered {exc.code}"
    except OSError as exc:
        return f"/readyz unreachable: {exc}"


def check_worker() -> str | None:
    """``None`` when the database answers and an index generation exists."""
    from sqlalchemy import text

    from indexer.settings import IndexSettings
    from indexer.store import GenerationStore
    from knowledge.db import make_engine
    from knowledge.settings import KnowledgeSettings

    engine = make_engine(KnowledgeSettings().resolved_database_url())
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        return f"database unreachable: {exc.__class__.__name__}"
    finally:
        engine.dispose()
    if GenerationStore(IndexSettings().resolved_index_dir()).current() is None:
        return "no index generation"
    return None


def main(argv: list[str]) -> int:
    """Check the role given in ``argv`` (or remembered by the entrypoint)."""
    role = argv[1] if len(argv) > 1 else ""
    if not role:
        try:
            with open(os.environ.get("TTHC_ROLE_FILE", "/tmp/tthc-role"), encoding="utf-8") as f:
                role = f.read().strip()
        except OSError:
            role = "serve"
    problem = check_worker() if role == "worker" else check_web(os.environ.get("TTHC_PORT", "8000"))
    if problem is not None:
        print(f"unhealthy ({role}): {problem}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
