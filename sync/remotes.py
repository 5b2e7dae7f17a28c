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
from sync.clients.vtex_catalog import VtexCatalogClient
from sync.clients.vtex_logistics import VtexLogisticsClient
from sync.clients.vtex_pricing import PUBLISHED_RATE, VtexPricingClient, pricing_base_url
from sync.clients.vtex_pricing import ROUTES as PRICING_ROUTES


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


# --- Stock and prices: VTEX Catalog, Logistics and Pricing (reference/catalog-sync.md §1) ---------------------


def _catalog_sync_limiter(channel: SalesChannel, defaults: dict[str, Rate]) -> RemoteLimiter:
    """The channel's VTEX account limiter with these routes' own rates; the channel's per-route budgets
    win, and every other route runs at VTEX_DEFAULT_RATE. Same remote and scope as ``vtex_client_for``'s,
    so all clients of one account share its windows and its 429 blocks route by route."""
    overrides = {route: Rate.parse(rate) for route, rate in (channel.vtex_rate_limits or {}).items()}
    return RemoteLimiter(
        remote="vtex",
        scope=channel.vtex_account_name,
        redis_url=settings.REDIS_URL,
        rates={**defaults, **overrides},
        default_rate=Rate.parse(settings.VTEX_DEFAULT_RATE),
        max_wait=settings.LIMITER_MAX_WAIT_SECONDS,
        margin_seconds=settings.LIMITER_MARGIN_SECONDS,
        **_lane_options(),
    )


def _catalog_sync_credentials(channel: SalesChannel, *, base_url: str) -> VtexCredentials:
    if not channel.has_vtex_credentials:
        raise NotConfigured(f"Sales channel {channel.code} has no VTEX app key and token.")
    return VtexCredentials(
        account_name=channel.vtex_account_name,
        base_url=base_url,
        app_key=channel.vtex_app_key,
        app_token=channel.vtex_app_token,
    )


def vtex_catalog_client_for(channel: SalesChannel, *, recorder: Recorder | None = None) -> VtexCatalogClient:
    """Catalog lookups (SKU by RefId, by RefIds, by EAN) on the channel's VTEX host."""
    return VtexCatalogClient(
        credentials=_catalog_sync_credentials(channel, base_url=channel.vtex_base_url),
        timeout=_timeout(),
        limiter=_catalog_sync_limiter(channel, {}),
        recorder=recorder,
        retry_after_default=settings.RETRY_AFTER_DEFAULT_SECONDS,
    )


def vtex_logistics_client_for(channel: SalesChannel, *, recorder: Recorder | None = None) -> VtexLogisticsClient:
    """Warehouses and inventory on the channel's VTEX host; inventory writes paced by VTEX_INVENTORY_WRITE_RATE
    (VTEX publishes no Logistics limit, catalog-sync.md §1.6)."""
    return VtexLogisticsClient(
        credentials=_catalog_sync_credentials(channel, base_url=channel.vtex_base_url),
        timeout=_timeout(),
        limiter=_catalog_sync_limiter(channel, {"inventory_write": Rate.parse(settings.VTEX_INVENTORY_WRITE_RATE)}),
        recorder=recorder,
        retry_after_default=settings.RETRY_AFTER_DEFAULT_SECONDS,
    )


def vtex_pricing_client_for(channel: SalesChannel, *, recorder: Recorder | None = None) -> VtexPricingClient:
    """Prices and price tables at ``https://api.vtex.com/{account}`` (catalog-sync.md §1.1), or at the
    channel's base URL override (the sandbox, a proxy), every pricing route at VTEX's published rate (§1.6)."""
    base_url = channel.vtex_base_url if channel.vtex_base_url_override else pricing_base_url(channel.vtex_account_name)
    return VtexPricingClient(
        credentials=_catalog_sync_credentials(channel, base_url=base_url),
        timeout=_timeout(),
        limiter=_catalog_sync_limiter(channel, dict.fromkeys(PRICING_ROUTES, PUBLISHED_RATE)),
        recorder=recorder,
        retry_after_default=settings.RETRY_AFTER_DEFAULT_SECONDS,
    )
