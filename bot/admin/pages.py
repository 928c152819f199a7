"""The feature pages the admin mounts besides login and home (route factories).

A feature adds its ``routes()`` function here; each returns routes relative to
``/admin`` written with :mod:`bot.admin.web`.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.routing import BaseRoute

from bot.admin import (
    announcements,
    audit_pages,
    changes,
    dashboard,
    gaps,
    inbox,
    plans,
    records,
    transfer,
    users,
)

ADMIN_PAGES: tuple[Callable[[], list[BaseRoute]], ...] = (
    records.routes,
    plans.routes,
    changes.routes,
    audit_pages.routes,
    inbox.routes,
    gaps.routes,
    transfer.routes,
    users.routes,
    dashboard.routes,
    announcements.routes,
)
