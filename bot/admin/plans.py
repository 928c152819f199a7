"""Plan pages (kế hoạch): the list with search and filters. Editing goes through the
common edit form (``/edit/plan``, see :mod:`bot.admin.records`) and the review workflow."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bot.admin.plan_forms import PLAN_STATUSES
from bot.admin.records import paged
from bot.admin.web import render, require, run_db
from indexer.textnorm import fold
from knowledge.codec import plan_key
from knowledge.records import PlanData, PlanSection
from knowledge.repository import KnowledgeRepository

EDITORS = ("editor", "reviewer")


def _body_text(sections: list[PlanSection]) -> str:
    parts: list[str] = []
    for section in sections:
        parts += [section.marker, section.heading, section.text]
        parts += [" ".join(cells) for cells in section.rows]
        parts.append(_body_text(section.children))
    return " ".join(p for p in parts if p)


def _count(sections: list[PlanSection]) -> int:
    return sum(1 + _count(s.children) for s in sections)


def _plan_rows(session: Session) -> list[dict[str, Any]]:
    rows = []
    for plan in KnowledgeRepository(session).iter_records("plan"):
        assert isinstance(plan, PlanData)
        rows.append(
            {
                "key": plan_key(plan),
                "number": plan.number,
                "title": plan.title,
                "issuer": plan.issuer,
                "issued_on": plan.issued_on,
                "province": plan.province,
                "year": plan.year,
                "status": plan.status,
                "sections": _count(plan.sections),
                # Folded once here so the search below compares like with like.
                "haystack": fold(
                    " ".join([plan.number, plan.title, plan.issuer, _body_text(plan.sections)])
                ).lower(),
            }
        )
    return sorted(rows, key=lambda r: (-(r["year"] or 0), r["key"]))


async def plans(request: Request) -> Response:
    """``GET /plans?q=&province=&year=&status=&page=``: plans matching all the filters;
    ``q`` searches number, title, issuer and the whole text, with or without diacritics."""
    await require(request, *EDITORS)
    params = request.query_params
    q = params.get("q", "").strip()[:200]
    province, year = params.get("province", "")[:128], params.get("year", "")[:4]
    status = params.get("status", "") if params.get("status", "") in PLAN_STATUSES else ""
    rows = await run_db(request, _plan_rows)
    needle = fold(q).lower()
    found = [
        r
        for r in rows
        if (not needle or needle in r["haystack"])
        and (not province or r["province"] == province)
        and (not year or str(r["year"] or "") == year)
        and (not status or r["status"] == status)
    ]
    return render(
        request,
        "plans.html",
        nav="plans",
        **paged(request, found),
        query={"q": q, "province": province, "year": year, "status": status},
        provinces=sorted({r["province"] for r in rows if r["province"]}),
        years=sorted({r["year"] for r in rows if r["year"]}, reverse=True),
        statuses=PLAN_STATUSES,
    )


def routes() -> list[BaseRoute]:
    """The plan list."""
    return [Route("/plans", plans, name="admin_plans")]
