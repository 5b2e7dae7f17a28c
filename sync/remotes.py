"""Builds the remote clients from settings and channel configuration (clients never read models)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.conf import settings

from mappings.models import SalesChannel
from sync.clients.http import Recorder
from sync.clients.limiter import Rate, RemoteLimiter
from sync.clients.vario import VarioClient, VarioCredentials
from sync.clients.vtex import VtexClient, VtexCredentials


class NotConfigured(Exception):
    """A remote the work needs has no credentials configured: a person must add them."""


# The lane the clients built in this context pace their calls in ("" = the shared one): a bulk run's
# calls take at most BULK_BUDGET_SHARE of each remote's budget (sync.clients.limiter).
_lane: ContextVar[str] = ContextVar("remote_lane", default="")


@contextmanager
def remote_lane(name: str) -> Iterator[None]:
    """``with remote_lane("bulk"):`` every client built inside paces its calls in that lane."""
    token = _lane.set(name)
    try:
        yield
    finally:
        _lane.reset(token)


def _lane_options() -> dict:
    lane = _lane.get()
    return {"lane": lane, "lane_share": settings.BULK_BUDGET_SHARE} if lane else {}


def _timeout() -> tuple[float, float]:
    return (settings.REMOTE_CONNECT_TIMEOUT, settings.REMOTE_READ_TIMEOUT)


def vtex_client_for(channel: SalesChannel, *, recorder: Recorder | None = None) -> VtexClient:
    if not channel.has_vtex_credentials:
        raise NotConfigured(f"Sales channel {channel.code} has no VTEX app key and token.")
    limiter = RemoteLimiter(
        remote="vtex",
        scope=channel.vtex_account_name,
        redis_url=settings.REDIS_URL,
        rates={route: Rate.parse(rate) for route, rate in (channel.vtex_rate_limits or {}).items()},
        default_rate=Rate.parse(settings.VTEX_DEFAULT_RATE),
        max_wait=settings.LIMITER_MAX_WAIT_SECONDS,
        margin_seconds=settings.LIMITER_MARGIN_SECONDS,
        **_lane_options(),
    )
    credentials = VtexCredentials(
        account_name=channel.vtex_account_name,
        base_url=channel.vtex_base_url,
        app_key=channel.vtex_app_key,
        app_token=channel.vtex_app_token,
    )
    return VtexClient(
        credentials=credentials,
        timeout=_timeout(),
        limiter=limiter,
        recorder=recorder,
        retry_after_default=settings.RETRY_AFTER_DEFAULT_SECONDS,
    )


def vario_configured() -> bool:
    return all(
        [
            settings.VARIO_BASE_URL,
            settings.VARIO_TOKEN_URL,
            settings.VARIO_CLIENT_ID,
            settings.VARIO_CLIENT_SECRET,
            settings.VARIO_REFRESH_TOKEN,
            settings.VARIO_APP_IDENTIFIER,
        ]
    )


def vario_client(*, recorder: Recorder | None = None) -> VarioClient:
    if not vario_configured():
        raise NotConfigured(
            "VARIO ERP is not configured: set VARIO_BASE_URL, VARIO_TOKEN_URL, VARIO_CLIENT_ID, "
            "VARIO_CLIENT_SECRET, VARIO_APP_IDENTIFIER and VARIO_REFRESH_TOKEN."
        )
    credentials = VarioCredentials(
        base_url=settings.VARIO_BASE_URL,
        token_url=settings.VARIO_TOKEN_URL,
        client_id=settings.VARIO_CLIENT_ID,
        client_secret=settings.VARIO_CLIENT_SECRET,
        client_secret_previous=settings.VARIO_CLIENT_SECRET_PREVIOUS,
        app_identifier=settings.VARIO_APP_IDENTIFIER,
        refresh_token=settings.VARIO_REFRESH_TOKEN,
    )
    limiter = RemoteLimiter(
        remote="vario",
        scope=settings.VARIO_CLIENT_ID,
        redis_url=settings.REDIS_URL,
        # The token endpoint is the SSO server, not the 40-per-6-seconds API: its own rate, its own window.
        rates={"token": Rate(30, 1)},
        default_rate=Rate.parse(settings.VARIO_RATE),
        max_wait=settings.LIMITER_MAX_WAIT_SECONDS,
        margin_seconds=settings.LIMITER_MARGIN_SECONDS,
        # VARIO counts 40 per 6 s for the whole API client (reference §1.3), not per route: documents,
        # shipments, query and webhooks share one window, and a 429 on one blocks them all.
        per_route=False,
        **_lane_options(),
    )
    return VarioClient(
        credentials=credentials,
        timeout=_timeout(),
        redis_url=settings.REDIS_URL,
        limiter=limiter,
        recorder=recorder,
        # Not RETRY_AFTER_DEFAULT_SECONDS: that is VTEX's minute, and VARIO documents no Retry-After;
        # its reference asks for an exponential back-off instead (vario-erp.md §4.1).
        backoff_429_base=settings.VARIO_429_BACKOFF_SECONDS,
        max_429_tries=settings.VARIO_429_MAX_TRIES,
    )
