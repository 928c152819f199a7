"""The staff web admin at ``/admin``: accounts, knowledge editing with review, audit.

Server-rendered Jinja2 pages (no JavaScript build), Vietnamese UI. The app is built by
:func:`bot.admin.app.build_admin` and mounted by :func:`bot.app.build_web_app` only when
``TTHC_ADMIN_SECRET_KEY`` is set. Page handlers use the helpers of :mod:`bot.admin.web`
(``require``, ``render``, ``flash``, ``audit``, ``run_db``); templates extend
``base.html``. Importing this package touches no disk, network or database.
"""
