"""Installing the portal in a VARIO tenant: its custom-field group (reference/vario-erp.md §1.10, §4.2)
and its webhooks (§4.4: one URL per event)."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.urls import reverse

from mappings import selectors
from mappings.models import SyncType, validate_service_url
from sync.catalog.events import catalog_webhook_events
from sync.clients.errors import RemoteError
from sync.inbox import VARIO_EVENTS
from sync.remotes import vario_client

# The generic seed endpoint is called by whoever configures it, not registered as an event.
NOT_REGISTERED = frozenset({"order-status-change"})


class RegistrationError(Exception):
    """Registration stopped; the message says what is registered so far and whether re-running is safe."""


def vario_webhook_url(*, event: str, base_url: str | None = None) -> str:
    base = (base_url or settings.PORTAL_WEBHOOK_BASE_URL).rstrip("/")
    return base + reverse("webhook-vario", kwargs={"event": event})


def _checked_base(url: str) -> str:
    try:
        validate_service_url(url)
    except ValidationError as exc:
        raise RegistrationError(f"Base URL {url!r} refused: {' '.join(exc.messages)}") from None
    return url


def catalog_events_wanted() -> list[str]:
    """The catalog events (stock, price, listing changes) the active channels' toggles ask for
    (reference/catalog-sync.md §3.3: registered per channel; sync.catalog.events): none while every channel's
    stock and price upload is off, so a portal that syncs orders only is not sent every stock booking."""
    stock, price = [], []
    for channel in selectors.sales_channels_active():
        enabled = selectors.transfers_enabled(channel=channel)
        if SyncType.UPLOAD_ARTICLE_STOCK in enabled:
            stock.append(channel.vario_sales_channel_id)
        if SyncType.UPLOAD_ARTICLE_PRICE in enabled:
            price.append(channel.vario_sales_channel_id)
    return catalog_webhook_events(stock_channels=stock, price_channels=price)


def vario_webhooks_register(
    *, base_url: str | None = None, replace_base_url: str | None = None
) -> list[tuple[str, str]]:
    """Register every event the portal handles at ``base_url``; registering twice is harmless. With
    ``replace_base_url`` (the portal moved), the registrations at that old address are removed once
    the new ones are in, since VARIO would otherwise go on calling it. Returns (event, url) registered.

    The order events always; the catalog events for the channels whose stock or price upload is on
    (``catalog_events_wanted``): switching a toggle on asks for this to run again.
    """
    base = _checked_base(base_url or settings.PORTAL_WEBHOOK_BASE_URL)
    old = _checked_base(replace_base_url) if replace_base_url else None
    client = vario_client()
    registered: list[tuple[str, str]] = []
    events = sorted(set(VARIO_EVENTS) - NOT_REGISTERED) + catalog_events_wanted()
    try:
        for event in events:
            url = vario_webhook_url(event=event, base_url=base)
            client.register_webhook(event=event, url=url)
            registered.append((event, url))
        if old and old.rstrip("/") != base.rstrip("/"):
            for event in events:
                client.deregister_webhook(event=event, url=vario_webhook_url(event=event, base_url=old))
    except RemoteError as exc:
        done = ", ".join(event for event, _ in registered) or "none"
        raise RegistrationError(
            f"{exc}. Registered before it stopped: {done}. Running the command again is safe."
        ) from None
    return registered


# The custom fields the import writes and every lookup reads (reference §4.2): the VTEX order id,
# searchable by VQL, on the order; the marketplace order id; the VTEX item id on each line.
CUSTOM_FIELD_GROUP = {
    "key": "vtexportal",
    "label": "VTEX portal",
    "description": "Ids of the VTEX orders the portal imported (written by the portal, read by its lookups).",
    "entities": ["document", "documentLine"],
    "attributes": [
        {
            "key": "externalOrderId",
            "label": "VTEX order id",
            "type": "TEXT",
            "viewMode": "READ_ONLY",
            "searchIndex": True,
            "active": True,
            "position": 1,
        },
        {
            "key": "marketplaceOrderId",
            "label": "Marketplace order id",
            "type": "TEXT",
            "viewMode": "READ_ONLY",
            "searchIndex": False,
            "active": True,
            "position": 2,
        },
        {
            "key": "externalItemId",
            "label": "VTEX item id",
            "type": "TEXT",
            "viewMode": "READ_ONLY",
            "searchIndex": False,
            "active": True,
            "position": 3,
        },
    ],
}


def vario_custom_fields_install() -> str:
    """Create the group when the tenant lacks it; check an existing one has what the portal needs.
    Returns ``"created"`` or ``"present"``."""
    client = vario_client()
    key = CUSTOM_FIELD_GROUP["key"]
    try:
        existing = client.get_eav_group(key)
        if existing is None:
            client.create_eav_group({**CUSTOM_FIELD_GROUP, "appIdentifier": settings.VARIO_APP_IDENTIFIER})
            return "created"
    except RemoteError as exc:
        raise RegistrationError(f"Custom-field group '{key}': {exc}") from None
    present = {a.get("key") for a in existing.get("attributes") or [] if isinstance(a, dict)}
    missing = [a["key"] for a in CUSTOM_FIELD_GROUP["attributes"] if a["key"] not in present]
    if missing:
        raise RegistrationError(
            f"VARIO's custom-field group '{key}' lacks {', '.join(missing)}: add them in VARIO (Zusatzfelder) "
            "or remove the group so the portal creates it whole."
        )
    searchable = next((a for a in existing["attributes"] if a.get("key") == "externalOrderId"), {})
    if searchable.get("searchIndex") is False:
        raise RegistrationError(
            f"VARIO's custom field '{key}.externalOrderId' is not search-indexed: the portal finds imported "
            "orders by it (VQL), so it would import them again. Switch on its search index in VARIO."
        )
    return "present"
