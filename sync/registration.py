"""Registering the portal's webhooks with VARIO (reference/vario-erp.md §4.4): one URL per event."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.urls import reverse

from mappings.models import validate_service_url
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


def vario_webhooks_register(
    *, base_url: str | None = None, replace_base_url: str | None = None
) -> list[tuple[str, str]]:
    """Register every event the portal handles at ``base_url``; registering twice is harmless. With
    ``replace_base_url`` (the portal moved), the registrations at that old address are removed once
    the new ones are in, since VARIO would otherwise go on calling it. Returns (event, url) registered.
    """
    base = _checked_base(base_url or settings.PORTAL_WEBHOOK_BASE_URL)
    old = _checked_base(replace_base_url) if replace_base_url else None
    client = vario_client()
    registered: list[tuple[str, str]] = []
    events = sorted(set(VARIO_EVENTS) - NOT_REGISTERED)
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
