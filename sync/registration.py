"""Registering the portal's webhooks with VARIO (reference/vario-erp.md §4.4): one URL per event."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse

from sync.inbox import VARIO_EVENTS
from sync.remotes import vario_client

# The generic seed endpoint is called by whoever configures it, not registered as an event.
NOT_REGISTERED = frozenset({"order-status-change"})


def vario_webhook_url(*, event: str, base_url: str | None = None) -> str:
    base = (base_url or settings.PORTAL_WEBHOOK_BASE_URL).rstrip("/")
    return base + reverse("webhook-vario", kwargs={"event": event})


def vario_webhooks_register(*, base_url: str | None = None) -> list[tuple[str, str]]:
    """Register every event the portal handles; registering twice is harmless. Returns (event, url)."""
    client = vario_client()
    registered = []
    for event in sorted(set(VARIO_EVENTS) - NOT_REGISTERED):
        url = vario_webhook_url(event=event, base_url=base_url)
        client.register_webhook(event=event, url=url)
        registered.append((event, url))
    return registered
