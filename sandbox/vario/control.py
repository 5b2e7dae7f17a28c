"""The VARIO simulator's control API under /_sim/vario/ (part of neither contract; docs/sandbox-vario.md)."""

from __future__ import annotations

from django.db import transaction
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from sandbox.http import InvalidJson, json_body, json_response
from sandbox.models import Delivery
from sandbox.settings_store import setting_get, setting_set
from sandbox.vario import services
from sandbox.vario.eav import eav_group_get, eav_group_remove
from sandbox.vario.models import AccessToken, AppClient, Document, DocumentCategory, Shipment, WebhookRegistration
from sandbox.vario.serializers import document_json, number, shipment_json, timestamp
from sandbox.vario.services import COPY_EXTERNAL_IDS_SETTING, Rejected
from sandbox.vario.webhooks import DELIVERY_KIND, PAYLOAD_KEY_SETTING


def _error(message: str, status: int = 400):
    return json_response({"error": message}, status=status)


def _data(request, *, required: bool = True) -> dict:
    data = json_body(request, required=required)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InvalidJson("The body must be a JSON object.")
    return data


def _control(view):
    """JSON in, JSON out; InvalidJson → 400, Rejected → its status, both as {"error": ...}."""

    def wrapper(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except InvalidJson as exc:
            return _error(str(exc))
        except Rejected as exc:
            return _error(exc.message, exc.status)

    wrapper.__name__ = view.__name__
    wrapper.__doc__ = view.__doc__
    return csrf_exempt(wrapper)


# --- credentials and switches --------------------------------------------------------------------

CREDENTIAL_FIELDS = {
    "clientId": "client_id",
    "clientSecret": "client_secret",
    "appIdentifier": "app_identifier",
    "refreshToken": "refresh_token",
    "tenant": "tenant",
    "accessTokenLifetime": "access_token_lifetime",
}


def _credentials_json(client: AppClient) -> dict:
    return {
        "clientId": client.client_id,
        "clientSecret": client.client_secret,
        "appIdentifier": client.app_identifier,
        "refreshToken": client.refresh_token,
        "tenant": client.tenant,
        "accessTokenLifetime": client.access_token_lifetime,
        "issuedAccessTokens": client.access_tokens.count(),
    }


@_control
@require_http_methods(["GET", "POST"])
def credentials(request):
    """POST {clientId, clientSecret, appIdentifier, refreshToken, tenant, accessTokenLifetime, revokeAccessTokens}."""
    client = AppClient.objects.first()
    if request.method == "POST":
        data = _data(request)
        unknown = set(data) - set(CREDENTIAL_FIELDS) - {"revokeAccessTokens"}
        if unknown:
            return _error(f"Unknown fields: {', '.join(sorted(unknown))}")
        for name, value in data.items():
            if name == "accessTokenLifetime":
                if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                    return _error("accessTokenLifetime must be a positive integer (seconds)")
            elif name == "revokeAccessTokens":
                if not isinstance(value, bool):
                    return _error("revokeAccessTokens must be true or false")
            elif not isinstance(value, str) or not value:
                return _error(f"{name} must be a non-empty string")
        with transaction.atomic(using="sandbox"):
            if client is None:
                client = AppClient()
            for name, field in CREDENTIAL_FIELDS.items():
                if name in data:
                    setattr(client, field, data[name])
            missing = [n for n, f in CREDENTIAL_FIELDS.items() if not getattr(client, f)]
            if missing:
                return _error(f"Missing fields: {', '.join(missing)}")
            client.save()
            if data.get("revokeAccessTokens"):
                AccessToken.objects.filter(client=client).delete()
    if client is None:
        return _error("No app installation is configured", 404)
    return json_response(_credentials_json(client))


def _switches() -> dict:
    return {
        "payloadKey": setting_get(key=PAYLOAD_KEY_SETTING, default="id"),
        "copyExternalIds": setting_get(key=COPY_EXTERNAL_IDS_SETTING, default=True),
    }


@_control
@require_http_methods(["GET", "POST"])
def faults(request):
    """POST {"payloadKey": "id" | "entityId", "copyExternalIds": true | false} (other faults: /_sim/faults)."""
    if request.method == "POST":
        data = _data(request)
        unknown = set(data) - {"payloadKey", "copyExternalIds"}
        if unknown:
            others = "status, latency and 429 faults live at /_sim/faults"
            return _error(f"Unknown fields: {', '.join(sorted(unknown))} ({others})")
        if "payloadKey" in data:
            if data["payloadKey"] not in ("id", "entityId"):
                return _error("payloadKey must be 'id' or 'entityId'")
            setting_set(key=PAYLOAD_KEY_SETTING, value=data["payloadKey"])
        if "copyExternalIds" in data:
            if not isinstance(data["copyExternalIds"], bool):
                return _error("copyExternalIds must be true or false")
            setting_set(key=COPY_EXTERNAL_IDS_SETTING, value=data["copyExternalIds"])
    return json_response(_switches())


# --- orders ---------------------------------------------------------------------------------------


def _raw_order(order: Document) -> dict:
    follow_ups = list(order.follow_ups.select_related("document_type").all())
    deliveries = [d for d in follow_ups if d.category == DocumentCategory.CUSTOMER_DELIVERY_DOCUMENT]
    returns = [d for d in follow_ups if d.category == DocumentCategory.CUSTOMER_GOODS_RETURN]
    shipments = Shipment.objects.filter(document__in=deliveries)
    return {
        "order": document_json(order),
        "cancelledQuantities": {str(line.id): number(line.quantity_cancelled) for line in order.lines.all()},
        "deliveries": [document_json(d) for d in deliveries],
        "goodsReturns": [document_json(d) for d in returns],
        "shipments": [shipment_json(s) for s in shipments],
    }


@_control
@require_http_methods(["GET", "POST"])
def orders(request):
    """POST creates an ERP order (fires document.customer_order.create); GET ?externalIdentifier= lists."""
    if request.method == "POST":
        order = services.order_create_simulated(data=_data(request))
        return json_response(document_json(order), status=201)
    rows = Document.objects.filter(document_type__category=DocumentCategory.CUSTOMER_ORDER)
    if request.GET.get("externalIdentifier"):
        rows = rows.filter(external_identifier=request.GET["externalIdentifier"])
    return json_response([document_json(d) for d in rows])


@_control
@require_http_methods(["POST"])
def orders_bulk(request):
    """POST {"orders": [bodies of POST /_sim/vario/orders]}: many orders in a few inserts, no webhooks."""
    documents = services.orders_bulk_create(data=_data(request))
    return json_response(
        {
            "created": len(documents),
            "orders": [
                {"id": str(d.id), "number": d.number, "externalIdentifier": d.external_identifier} for d in documents
            ],
        },
        status=201,
    )


@_control
@require_http_methods(["GET"])
def order_detail(request, order_id: str):
    return json_response(_raw_order(services.order_get(order_id=order_id)))


@_control
@require_http_methods(["POST"])
def order_picking(request, order_id: str):
    return json_response(document_json(services.order_picking_start(order_id=order_id)))


@_control
@require_http_methods(["POST"])
def order_deliver(request, order_id: str):
    """POST {"lines": [{"orderLineId", "quantity"}] (omit: all open), "carrier": "DHL", "trackingNumber": …}."""
    data = _data(request, required=False)
    unknown = set(data) - {"lines", "carrier", "trackingNumber", "trackingUrl"}
    if unknown:
        return _error(f"Unknown fields: {', '.join(sorted(unknown))}")
    delivery, parcel = services.order_deliver(
        order_id=order_id,
        lines=data.get("lines"),
        carrier_key=data.get("carrier"),
        tracking_number=data.get("trackingNumber"),
        tracking_url=data.get("trackingUrl"),
    )
    return json_response(
        {
            "delivery": document_json(delivery),
            "shipment": shipment_json(parcel.shipment) if parcel else None,
            "parcelId": str(parcel.id) if parcel else None,
        },
        status=201,
    )


@_control
@require_http_methods(["POST"])
def delivery_parcels(request, delivery_id: str):
    """POST {"carrier": "UPS", "trackingNumber": "1Z…", "trackingUrl": null} — late tracking."""
    data = _data(request)
    unknown = set(data) - {"carrier", "trackingNumber", "trackingUrl"}
    if unknown:
        return _error(f"Unknown fields: {', '.join(sorted(unknown))}")
    parcel = services.parcel_add(
        delivery_id=delivery_id,
        carrier_key=data.get("carrier"),
        tracking_number=data.get("trackingNumber"),
        tracking_url=data.get("trackingUrl"),
    )
    return json_response({"shipment": shipment_json(parcel.shipment), "parcelId": str(parcel.id)}, status=201)


@_control
@require_http_methods(["POST"])
def order_cancel(request, order_id: str):
    return json_response(document_json(services.order_cancel(order_id=order_id)))


@_control
@require_http_methods(["POST"])
def order_close_remaining(request, order_id: str):
    return json_response(document_json(services.order_close_remaining(order_id=order_id)))


@_control
@require_http_methods(["POST"])
def order_cancel_lines(request, order_id: str):
    """POST {"lines": [{"orderLineId", "quantity"}]} — lowers the lines' quantities."""
    data = _data(request)
    unknown = set(data) - {"lines"}
    if unknown:
        return _error(f"Unknown fields: {', '.join(sorted(unknown))}")
    services.order_lines_cancel(order_id=order_id, lines=data.get("lines"))
    return json_response(_raw_order(services.order_get(order_id=order_id)))


@_control
@require_http_methods(["POST"])
def order_return(request, order_id: str):
    """POST {"lines": [{"orderLineId", "quantity"}]} (omit: everything delivered and not yet returned)."""
    data = _data(request, required=False)
    unknown = set(data) - {"lines"}
    if unknown:
        return _error(f"Unknown fields: {', '.join(sorted(unknown))}")
    goods_return = services.order_return(order_id=order_id, lines=data.get("lines"))
    return json_response(document_json(goods_return), status=201)


# --- webhooks -------------------------------------------------------------------------------------


def _attempt(delivery: Delivery) -> dict:
    return {
        "id": delivery.id,
        "event": delivery.event,
        "destinationQueue": delivery.event,
        "url": delivery.url,
        "body": delivery.body,
        "state": delivery.state,
        "sentAttempts": delivery.attempts,
        "sentTimestamp": timestamp(delivery.sent_at),
        "nextAttemptAt": timestamp(delivery.next_attempt_at),
        "response": {"status": delivery.last_status, "body": delivery.last_response, "error": delivery.last_error},
        "createdAt": timestamp(delivery.created_at),
    }


@_control
@require_http_methods(["GET"])
def webhook_log(request):
    """GET ?event=&state= — every webhook delivery and its outcome (from the core's Delivery rows)."""
    rows = Delivery.objects.filter(kind=DELIVERY_KIND)
    if request.GET.get("event"):
        rows = rows.filter(event=request.GET["event"])
    if request.GET.get("state"):
        rows = rows.filter(state=request.GET["state"])
    return json_response([_attempt(d) for d in rows])


@_control
@require_http_methods(["GET"])
def webhooks(request):
    """The current registrations."""
    return json_response(
        [
            {"url": r.url, "destinationQueue": r.destination_queue, "appIdentifier": r.app_identifier}
            for r in WebhookRegistration.objects.all()
        ]
    )


@_control
@require_http_methods(["GET", "DELETE"])
def eav_group(request, key: str):
    """GET one custom-field group; DELETE it, as on a tenant the portal was never installed on."""
    if request.method == "DELETE":
        return json_response({"removed": eav_group_remove(key=key)})
    group = eav_group_get(key=key)
    return json_response(group) if group is not None else _error(f"No EAV group with key '{key}'", 404)


# --- parcel tracking events and free state keys ----------------------------------------------------


@_control
@require_http_methods(["POST"])
def parcel_events(request, parcel_id: str):
    """POST {"date": "YYYY-MM-DD", "city", "state", "description", "delivered": bool} — a carrier scan."""
    parcel = services.parcel_event_add(parcel_id=parcel_id, data=_data(request))
    return json_response({"shipment": shipment_json(parcel.shipment), "parcelId": str(parcel.id)}, status=201)


@_control
@require_http_methods(["POST"])
def order_state(request, order_id: str):
    """POST {"key": "CANCELLED"} — any state key; CANCELLED fires dissolve, any other end_editing."""
    data = _data(request)
    unknown = set(data) - {"key"}
    if unknown:
        return _error(f"Unknown fields: {', '.join(sorted(unknown))}")
    return json_response(document_json(services.order_state_set(order_id=order_id, key=data.get("key"))))


@_control
@require_http_methods(["POST"])
def articles(request):
    """POST {"articleNumber", "name"?, "price"?, "ean"?, "active"?} → 201 article: a new article in the ERP."""
    from sandbox.vario.serializers import article_json

    return json_response(article_json(services.article_create(data=_data(request))), status=201)
