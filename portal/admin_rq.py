"""The RQ dashboard (django-rq) for superusers and holders of django-rq's own permission only.

django-rq 4.2 guards its views with ``staff_member_required`` alone: any staff user could empty a queue,
requeue or delete jobs and read a job's arguments. It ships a dedicated permission, ``django_rq.admin``
("Access admin page", on its table-less Dashboard model), but only its admin index link reads it. Both
places the dashboard is served, ``/admin/rq/`` (portal/urls.py) and the admin's own "Django-RQ" entry
(``RqDashboardAdmin``, registered by sync/admin.py), wrap every view in a check of that permission
(a superuser has every permission). django-rq's hook for this is the ``view_wrapper`` of
``get_admin_urlpatterns``; its JSON statistics and metrics views keep their API-token check
(``RQ_API_TOKEN``), but a session counts there only with the permission too.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from functools import wraps

from django.contrib import admin
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.urls import URLPattern, path
from django_rq import stats_views, views
from django_rq.admin import QueueAdmin
from django_rq.urls import get_admin_urlpatterns, get_api_urlpatterns

RQ_DASHBOARD_PERMISSION = "django_rq.admin"


def rq_dashboard_allowed(request) -> bool:
    # admin.site.has_permission: an active staff user (and, with ADMIN_REQUIRE_OTP, a verified session).
    return admin.site.has_permission(request) and request.user.has_perm(RQ_DASHBOARD_PERMISSION)


def _rq_scheduler_installed() -> bool:
    return importlib.util.find_spec("rq_scheduler") is not None


def _require_permission(view: Callable) -> Callable:
    @wraps(view)
    def guarded(request, *args, **kwargs):
        if not rq_dashboard_allowed(request):
            raise PermissionDenied
        if view is views.scheduler_jobs and not _rq_scheduler_installed():
            # The page lists rq-scheduler's jobs; without that package it raised ImproperlyConfigured (a
            # 500). The portal's workers run RQ's own scheduler, so there is nothing here to list.
            raise Http404("The portal does not use rq-scheduler: scheduled jobs run in RQ's own scheduler.")
        return view(request, *args, **kwargs)

    return guarded


def _session_needs_permission(view: Callable) -> Callable:
    @wraps(view)
    def guarded(request, *args, **kwargs):
        if not rq_dashboard_allowed(request):
            # django-rq lets any staff session through; without the permission only its API token counts.
            request.user = AnonymousUser()
        return view(request, *args, **kwargs)

    return guarded


def _with_api_guard(patterns: list[URLPattern]) -> list[URLPattern]:
    return [URLPattern(p.pattern, _session_needs_permission(p.callback), p.default_args, p.name) for p in patterns]


def rq_dashboard_urlpatterns() -> list[URLPattern]:
    """django-rq's URLs for ``include((..., "django_rq"))``: the admin's login, staff and CSRF checks and
    the dashboard permission in front of every view."""
    return [
        *_with_api_guard(get_api_urlpatterns()),
        *get_admin_urlpatterns(view_wrapper=lambda view: admin.site.admin_view(_require_permission(view))),
    ]


class RqDashboardAdmin(QueueAdmin):
    """django-rq's admin entry (its index link and its views under the admin), behind the permission."""

    actions = None

    def has_module_permission(self, request) -> bool:
        return rq_dashboard_allowed(request)

    def has_view_permission(self, request, obj=None) -> bool:
        return rq_dashboard_allowed(request)

    def has_change_permission(self, request, obj=None) -> bool:
        return rq_dashboard_allowed(request)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_urls(self) -> list[URLPattern]:
        def wrap(view: Callable) -> Callable:
            guarded = self.admin_site.admin_view(_require_permission(view))

            @wraps(view)
            def wrapper(request, *args, **kwargs):
                request.current_app = self.admin_site.name  # django-rq reverses its links in this namespace
                return guarded(request, *args, **kwargs)

            return wrapper

        opts = self.opts
        return [
            *_with_api_guard(get_api_urlpatterns(name_prefix="django_rq_")),
            *get_admin_urlpatterns(name_prefix="django_rq_", view_wrapper=wrap),
            # The index links to the changelist. The Dashboard model has no table, so it has no add, change,
            # delete or history pages (Django's would fail on the missing table).
            path("", wrap(stats_views.stats), name=f"{opts.app_label}_{opts.model_name}_changelist"),
        ]
