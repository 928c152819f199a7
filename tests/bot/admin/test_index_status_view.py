"""The admin home shows the background builder's status in staff words."""

from __future__ import annotations

from bot.admin.home import _index_view


def test_a_build_in_progress_names_its_stage_and_progress() -> None:
    view = _index_view(
        {
            "serving": {
                "generation": "gen-1",
                "created_at": "2026-11-30T10:00:00Z",
                "knowledge_revision": 41,
            },
            "knowledge_revision": 42,
            "outdated": True,
            "state": "building",
            "stage": "embedding",
            "progress": {"done": 3, "total": 7},
        }
    )
    assert view["generation"] == "gen-1"
    assert (view["knowledge_revision"], view["latest_revision"]) == (41, 42)
    assert view["build_state"] == "running"
    assert view["message"] == "Bước: nhúng vector (3/7)"


def test_an_outdated_idle_index_is_pending_and_a_failure_gives_its_reason() -> None:
    idle = _index_view({"serving": {"generation": "g"}, "outdated": True, "state": "idle"})
    assert idle["build_state"] == "pending"
    failed = _index_view({"serving": None, "state": "failed", "error": "hết bộ nhớ"})
    assert failed["build_state"] == "failed"
    assert failed["message"] == "Lần xây dựng gần nhất lỗi: hết bộ nhớ"
