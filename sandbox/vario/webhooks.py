"""VARIO webhooks: registration, the event catalogue, and delivery with the app token.

Delivery contract (reference §4.4, assumptions of the working model): one POST per registration
whose destinationQueue equals the event name, JSON body {"id": <int>} for document events
({"entityId": …} when the payloadKey switch says so) or {"shipmentId", "parcelId"} for
shipment.parcel.completed; headers `Authorization: Bearer <app token>` (HS256 with the client
secret, aud = appIdentifier, exp = iat + 60 s) and `User-Agent: VARIO-Cloud-Webhook`; retried
after settings.SANDBOX_WEBHOOK_RETRY_DELAYS, then ERRONEOUS.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import jwt
from django.conf import settings

from sandbox import clock
from sandbox.deliveries import delivery_enqueue
from sandbox.models import Delivery
from sandbox.settings_store import setting_get
from sandbox.vario.models import AppClient, WebhookRegistration

DELIVERY_KIND = "vario_webhook"
PAYLOAD_KEY_SETTING = "vario.payload_key"
APP_TOKEN_LIFETIME = 60
WEBHOOK_USER_AGENT = "VARIO-Cloud-Webhook"

# reference §1.5 / §1.6: document categories and transitions, lower-case as in the event names.
DOCUMENT_CATEGORIES = {
    "customer_offer",
    "customer_order",
    "customer_delivery_document",
    "customer_invoice",
    "customer_delivery_invoice",
    "customer_partial_invoice",
    "customer_final_invoice",
    "customer_deposit_invoice",
    "customer_proforma_invoice",
    "customer_invoice_cancellation",
    "customer_credit_note_with_stock",
    "customer_credit_note_without_stock",
    "customer_return_announcement",
    "customer_goods_return",
}
DOCUMENT_TRANSITIONS = {
    "create",
    "create_draft",
    "begin_editing",
    "end_editing",
    "cancel_editing",
    "copy",
    "delete",
    "dissolve",
    "freeze",
    "publish",
    "offer_to_order",
    "order_delivery_approved",
    "order_delivery_unapproved",
    "order_in_picking",
    "order_picking_finished",
    "order_after_picking_delivered",
    "order_reset_from_picking",
    "order_close_remaining",
    "order_reopen",
    "order_to_delivery",
    "order_to_deliveryinvoice",
    "order_to_final_invoice",
    "delivery_to_invoice",
    "delivery_to_partial_invoice",
    "delivery_to_collective_invoice",
    "delivery_to_goods_return",
    "delivery_to_return_announcement",
    "invoice_to_invoice_cancellation",
    "invoice_to_creditnote_with_stock",
    "return_announcement_to_goods_return",
    "goods_return_to_creditnote_without_stock",
    "ui_hint_create_shipment",
    "ui_hint_create_and_print_shipment_label",
}
_CHANNEL = r"\(sales-channel-id=\d+\)"
# reference §1.9: the rest of the spec's webhook catalogue.
OTHER_EVENTS = [
    re.compile(pattern)
    for pattern in (
        rf"account(?:{_CHANNEL})?\.(?:create|update)",
        rf"article(?:{_CHANNEL})?\.(?:create|update)",
        rf"article{_CHANNEL}-shelf\.update",
        r"article-price\.(?:create|update)",
        r"asset\.(?:create|update)",
        r"category\.(?:create|update|delete)",
        r"category-tree\.(?:create|update|delete)",
        r"(?:crmActivity|crmDeal|crmProject|crmTask)\.(?:create|update|delete)",
        r"listing\.category-(?:added|removed)",
        rf"open_item{_CHANNEL}\.update",
        r"output\.consumer\.[a-z_]+",
        r"pos\.payment\.[a-z_]+",
        r"sales_channel\.(?:create|update|delete|stockChange)",
        r"shelf-document\.(?:update|delete)",
        r"shipment\.parcel\.completed",
        r"tenant\.(?:online|offline)",
    )
]


class RegistrationError(ValueError):
    pass


def event_known(name: str) -> bool:
    parts = name.split(".")
    if parts[0] == "document":
        return len(parts) == 3 and parts[1] in DOCUMENT_CATEGORIES and parts[2] in DOCUMENT_TRANSITIONS
    return any(pattern.fullmatch(name) for pattern in OTHER_EVENTS)


def _validated(data: object, client: AppClient) -> tuple[str, str, str]:
    if not isinstance(data, dict):
        raise RegistrationError("The body must be a JSON object {url, destinationQueue, appIdentifier}.")
    unknown = set(data) - {"url", "destinationQueue", "appIdentifier"}
    if unknown:
        raise RegistrationError(f"Unrecognized field(s): {', '.join(sorted(unknown))}")
    url, queue, app = data.get("url"), data.get("destinationQueue"), data.get("appIdentifier")
    for name, value in (("url", url), ("destinationQueue", queue), ("appIdentifier", app)):
        if not isinstance(value, str) or not value.strip():
            raise RegistrationError(f"{name} is required and must be a non-empty string")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise RegistrationError(f"url must be an absolute http(s) URL, got {url!r}")
    if not event_known(queue):
        raise RegistrationError(f"destinationQueue {queue!r} is not a known webhook event")
    if app != client.app_identifier:
        raise RegistrationError(f"appIdentifier {app!r} is not the identifier of the calling app")
    return url, queue, app


def webhook_register(*, data: object, client: AppClient) -> WebhookRegistration:
    """Register (idempotent: the same url, queue and app once)."""
    url, queue, app = _validated(data, client)
    registration, _ = WebhookRegistration.objects.get_or_create(
        url=url, destination_queue=queue, app_identifier=app, defaults={"created_at": clock.now()}
    )
    return registration


def webhook_deregister(*, data: object, client: AppClient) -> int:
    """Deregister (idempotent: removing an absent registration is not an error)."""
    url, queue, app = _validated(data, client)
    deleted, _ = WebhookRegistration.objects.filter(url=url, destination_queue=queue, app_identifier=app).delete()
    return deleted


def payload_key() -> str:
    return setting_get(key=PAYLOAD_KEY_SETTING, default="id")


def event_fire(*, event: str, body: dict, skip_app: str | None = None) -> list[Delivery]:
    """Queue one delivery per registration of ``event``; ``skip_app`` honours x-vario-suppress-own-webhooks."""
    registrations = WebhookRegistration.objects.filter(destination_queue=event)
    if skip_app:
        registrations = registrations.exclude(app_identifier=skip_app)
    return [
        delivery_enqueue(
            kind=DELIVERY_KIND,
            event=event,
            url=registration.url,
            body=body,
            retry_delays=settings.SANDBOX_WEBHOOK_RETRY_DELAYS,
        )
        for registration in registrations
    ]


def document_event_fire(*, category: str, transition: str, document_id: int, skip_app: str | None = None) -> None:
    event_fire(event=f"document.{category.lower()}.{transition}", body={payload_key(): document_id}, skip_app=skip_app)


def parcel_event_fire(*, shipment_id: int, parcel_id: int) -> None:
    event_fire(event="shipment.parcel.completed", body={"shipmentId": shipment_id, "parcelId": parcel_id})


def app_token(*, client: AppClient) -> str:
    now = int(clock.now().timestamp())
    return jwt.encode(
        {"aud": client.app_identifier, "iat": now, "exp": now + APP_TOKEN_LIFETIME},
        client.client_secret,
        algorithm="HS256",
    )


def webhook_headers(delivery: Delivery) -> dict[str, str]:
    """Computed at each attempt, so a retry carries a fresh token."""
    registration = WebhookRegistration.objects.filter(url=delivery.url, destination_queue=delivery.event).first()
    client = None
    if registration is not None:
        client = AppClient.objects.filter(app_identifier=registration.app_identifier).first()
    client = client or AppClient.objects.first()
    headers = {"User-Agent": WEBHOOK_USER_AGENT}
    if client is not None:
        headers["Authorization"] = f"Bearer {app_token(client=client)}"
    return headers
