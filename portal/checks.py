"""Deploy checks (`manage.py check --deploy`): settings that are fine in development and wrong in production.

Warnings, so the production checklist's `check --deploy --fail-level WARNING` fails on them while a
development run only shows them.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from django.conf import settings
from django.core import checks
from django.core.checks import Tags, register


@register(Tags.security, deploy=True)
def bench_views_check(app_configs, **kwargs) -> list[checks.Warning]:
    if not settings.BENCH_VIEWS:
        return []
    return [
        checks.Warning(
            "BENCH_VIEWS is on: /_bench/ answers anyone, without authentication or CSRF protection.",
            hint="Set BENCH_VIEWS=0; only `make bench` needs it, for its own server.",
            id="portal.W001",
        )
    ]


def redis_url_has_password(url: str) -> bool | None:
    """Whether REDIS_URL carries a password (in its user part or redis-py's ``?password=``); None for a
    unix socket, which file permissions protect rather than a password."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return None
    return bool(parts.password or parse_qs(parts.query).get("password", [""])[0])


@register(Tags.security, deploy=True)
def redis_password_check(app_configs, **kwargs) -> list[checks.Warning]:
    if settings.DEBUG or redis_url_has_password(settings.REDIS_URL) is not False:
        return []
    return [
        checks.Warning(
            "REDIS_URL has no password: anyone who reaches Redis can read the queues and empty or change them.",
            hint="Set `requirepass` (or an ACL user) in Redis and put it in REDIS_URL: "
            "redis://:<password>@host:6379/0 (rediss:// for TLS).",
            id="portal.W002",
        )
    ]
