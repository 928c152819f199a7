"""Nhập tệp có xem trước, xuất Excel: upload an import file, preview, apply as change
requests; export the readable procedure workbook with filters.

Routes (relative to ``/admin``):

- ``GET /import``: the upload form (editor, reviewer, admin).
- ``POST /import``: multipart ``file`` (at most :data:`UPLOAD_MAX_BYTES`); the bytes are
  kept server-side in :func:`upload_dir` under a random token stored in the session
  (with the preview's digest), and the preview page is shown. Nothing is written.
- ``POST /import/apply``: creates one submitted change request per changed record
  (author = the uploader) when the database still gives the previewed digest; else
  the page explains and nothing is written. The kept file is removed after an apply.
- ``POST /import/cancel``: forgets the kept file.
- ``GET /export``: the filter form; ``GET /export.xlsx?codes=&field=&agency=&since=``:
  the readable workbook (:func:`knowledge.exporting.export_procedures_xlsx`).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import re
import secrets
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bot.admin.web import (
    audit,
    check_multipart_csrf,
    client,
    flash,
    redirect,
    render,
    require,
    run_db,
)
from knowledge.exporting import ProcedureFilter, export_procedures_xlsx, select_procedures
from knowledge.preview import ACTIONS
from knowledge.record_diff import readable_diff
from knowledge.upload import APPLIED_ACTIONS, UploadPlan, UploadRefused, apply_upload, plan_upload
from knowledge.workflow import Actor, WorkflowError

#: Largest uploaded import file (the admin's body limit is larger).
UPLOAD_MAX_BYTES = 10 * 1024 * 1024
#: Kept files older than this are deleted at the next upload.
UPLOAD_KEEP_SECONDS = 24 * 3600
ACCEPTED = (".xlsx", ".csv", ".jsonl", ".gz", ".txt", ".md", ".docx", ".pdf")
ACTION_NAMES = {
    "new": "Thêm mới",
    "changed": "Thay đổi",
    "removed": "Gỡ khỏi trợ lý",
    "unchanged": "Không đổi",
    "skipped": "Bỏ qua (nguồn kém chi tiết hơn)",
}
KIND_NAMES = {
    "procedure": "Thủ tục",
    "hotline": "Đường dây nóng",
    "faq": "Hỏi đáp",
    "plan": "Kế hoạch",
}
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")
_SAFE_NAME = re.compile(r"[^\w.\-]+")


def upload_dir() -> Path:
    """Where uploaded files wait between preview and apply (private to this user)."""
    folder = Path(tempfile.gettempdir()) / "tthc-admin-uploads"
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder


def _sweep(folder: Path) -> None:
    limit = time.time() - UPLOAD_KEEP_SECONDS
    for path in folder.glob("*.bin"):
        with contextlib.suppress(OSError):
            if path.stat().st_mtime < limit:
                path.unlink()


def _kept(request: Request) -> tuple[dict[str, str], bytes] | None:
    """The session's kept upload and its bytes, or ``None``."""
    info = request.session.get("upload")
    if not isinstance(info, dict) or not _TOKEN.match(str(info.get("token", ""))):
        return None
    path = upload_dir() / f"{info['token']}.bin"
    try:
        return info, path.read_bytes()
    except OSError:
        return None


def _forget(request: Request) -> None:
    info = request.session.pop("upload", None)
    if isinstance(info, dict) and _TOKEN.match(str(info.get("token", ""))):
        with contextlib.suppress(OSError):
            (upload_dir() / f"{info['token']}.bin").unlink()


def _view(plan: UploadPlan) -> dict[str, Any]:
    preview = plan.preview
    rows = []
    for change in preview.changes:
        if change.action == "unchanged":
            continue
        old = {f: pair[0] for f, pair in change.diff.items()}
        new = {f: pair[1] for f, pair in change.diff.items()}
        rows.append(
            {
                "kind": KIND_NAMES.get(change.kind, change.kind),
                "key": change.key,
                "title": change.title,
                "action": change.action,
                "action_name": ACTION_NAMES[change.action],
                "diff": readable_diff(change.kind, None if change.action == "new" else old, new),
            }
        )
    return {
        "counts": preview.counts(),
        "files": preview.files,
        "rows": rows,
        "errors": preview.errors,
        "warnings": preview.warnings,
        "applicable": plan.applicable,
        "ok": preview.ok,
    }


def _page(request: Request, status_code: int = 200, **ctx: Any) -> Response:
    info = request.session.get("upload")
    return render(
        request,
        "import.html",
        status_code=status_code,
        nav="import",
        action_names=ACTION_NAMES,
        actions=ACTIONS,
        applied=APPLIED_ACTIONS,
        max_mb=UPLOAD_MAX_BYTES // (1024 * 1024),
        session_digest=info.get("digest", "") if isinstance(info, dict) else "",
        **ctx,
    )


async def import_form(request: Request) -> Response:
    await require(request, "editor", "reviewer")
    kept = _kept(request)
    if kept is None:
        return _page(request)
    info, data = kept
    plan = await run_db(request, plan_upload, data, info["name"])
    return _page(request, name=info["name"], view=_view(plan), stale=plan.digest != info["digest"])


async def import_upload(request: Request) -> Response:
    staff = await require(request, "editor", "reviewer")
    form = await request.form(max_files=1, max_fields=5)
    check_multipart_csrf(request, form.get("csrftoken"))
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return _page(request, status_code=400, problem="Hãy chọn một tệp để tải lên.")
    name = _SAFE_NAME.sub("_", Path(upload.filename).name).strip("._") or "tep-tai-len"
    if not name.lower().endswith(ACCEPTED):
        return _page(
            request,
            status_code=400,
            problem="Định dạng tệp không được hỗ trợ: dùng .xlsx, .csv, .jsonl, .jsonl.gz, "
            ".txt, .md, .docx hoặc .pdf.",
        )
    data = await upload.read(UPLOAD_MAX_BYTES + 1)
    if len(data) > UPLOAD_MAX_BYTES:
        return _page(
            request,
            status_code=413,
            problem=f"Tệp quá lớn: tối đa {UPLOAD_MAX_BYTES // (1024 * 1024)} MB.",
        )
    _forget(request)
    plan = await run_db(request, plan_upload, data, name)
    folder = upload_dir()
    token = secrets.token_urlsafe(24)
    await asyncio.to_thread(_sweep, folder)
    await asyncio.to_thread((folder / f"{token}.bin").write_bytes, data)
    request.session["upload"] = {"token": token, "name": name, "digest": plan.digest}
    await audit(
        request,
        staff,
        "import.preview",
        target_kind="file",
        target_key=name,
        detail={
            "bytes": len(data),
            "counts": plan.preview.counts(),
            "errors": len(plan.preview.errors),
        },
    )
    return _page(request, name=name, view=_view(plan), stale=False)


async def import_apply(request: Request) -> Response:
    staff = await require(request, "editor", "reviewer")
    form = await request.form(max_files=0, max_fields=5)
    kept = _kept(request)
    if kept is None:
        flash(request, "Không còn tệp đã xem trước: hãy tải tệp lên lại.", "error")
        return redirect(request, "/import")
    info, data = kept
    if str(form.get("digest", "")) != info["digest"]:
        flash(request, "Trang xem trước đã cũ: hãy xem lại bản xem trước mới nhất.", "error")
        return redirect(request, "/import")
    actor = Actor(staff.username, staff.role, client(request))
    try:
        ids = await run_db(
            request,
            apply_upload,
            data,
            info["name"],
            digest=info["digest"],
            actor=actor,
            note=str(form.get("note", ""))[:1000],
        )
    except (UploadRefused, WorkflowError) as exc:
        plan = await run_db(request, plan_upload, data, info["name"])
        return _page(
            request,
            status_code=409,
            name=info["name"],
            view=_view(plan),
            stale=plan.digest != info["digest"],
            problem=str(exc),
        )
    _forget(request)
    flash(request, f"Đã tạo {len(ids)} đề xuất thay đổi và gửi duyệt từ tệp {info['name']}.")
    return redirect(request, "/changes?status=submitted")


async def import_cancel(request: Request) -> Response:
    await require(request, "editor", "reviewer")
    _forget(request)
    flash(request, "Đã bỏ tệp tải lên; chưa có gì được ghi.")
    return redirect(request, "/import")


def _filter(params: Any) -> tuple[ProcedureFilter, dict[str, str], str]:
    raw = {k: str(params.get(k, ""))[:500].strip() for k in ("codes", "field", "agency", "since")}
    codes = tuple(c for c in re.split(r"[\s,;]+", raw["codes"]) if c)[:500]
    since: dt.date | None = None
    problem = ""
    if raw["since"]:
        try:
            since = dt.date.fromisoformat(raw["since"])
        except ValueError:
            problem = "Ngày “thay đổi từ” không hợp lệ (dạng năm-tháng-ngày)."
    where = ProcedureFilter(
        codes=codes, field=raw["field"], agency=raw["agency"], changed_since=since
    )
    return where, raw, problem


def _count(session: Session, where: ProcedureFilter) -> int:
    return len(select_procedures(session, where))


async def export_form(request: Request) -> Response:
    await require(request, "editor", "reviewer")
    where, raw, problem = _filter(request.query_params)
    count = None
    if not problem and any(raw.values()):
        count = await run_db(request, _count, where)
    return render(
        request,
        "export.html",
        status_code=400 if problem else 200,
        nav="export",
        values=raw,
        problem=problem,
        count=count,
    )


async def export_xlsx(request: Request) -> Response:
    staff = await require(request, "editor", "reviewer")
    where, raw, problem = _filter(request.query_params)
    if problem:
        return render(
            request, "export.html", status_code=400, nav="export", values=raw, problem=problem
        )
    data = await run_db(request, export_procedures_xlsx, where)
    await audit(
        request,
        staff,
        "export.xlsx",
        target_kind="file",
        detail={k: v for k, v in raw.items() if v},
    )
    stamp = dt.date.today().isoformat()
    return Response(
        data,
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={
            "Content-Disposition": f'attachment; filename="thu-tuc-{stamp}.xlsx"',
            "Cache-Control": "no-store",
        },
    )


def routes() -> list[BaseRoute]:
    """Import with preview and export."""
    return [
        Route("/import", import_form, name="admin_import"),
        Route("/import", import_upload, methods=["POST"], name="admin_import_upload"),
        Route("/import/apply", import_apply, methods=["POST"], name="admin_import_apply"),
        Route("/import/cancel", import_cancel, methods=["POST"], name="admin_import_cancel"),
        Route("/export", export_form, name="admin_export"),
        Route("/export.xlsx", export_xlsx, name="admin_export_xlsx"),
    ]
