"""Control API of the VTEX simulator (/_sim/vtex/...): accounts, customer orders, raw state."""

from __future__ import annotations

from functools import wraps

from django.db import transaction
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from sandbox.http import READ_ONLY_METHODS, InvalidJson, json_body, json_response
from sandbox.models import Delivery
from sandbox.routers import SANDBOX_DB
from sandbox.vtex import services
from sandbox.vtex.changes import change_history_entry
from sandbox.vtex.channel import DELIVERY_KIND
from sandbox.vtex.errors import ControlError
from sandbox.vtex.models import Account, Order
from sandbox.vtex.notes import note_json
from sandbox.vtex.seed import DEMO_ACCOUNT
from sandbox.vtex.serializers import order_json


def control_view(*methods: str):
    def decorate(view):
        @csrf_exempt
        @require_http_methods(list(methods))
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            try:
                if request.method in READ_ONLY_METHODS:
                    return view(request, *args, **kwargs)
                with transaction.atomic(using=SANDBOX_DB):
                    return view(request, *args, **kwargs)
            except ControlError as exc:
                return json_response({"error": str(exc)}, status=400)
            except InvalidJson as exc:
                return json_response({"error": str(exc)}, status=400)
            except Order.DoesNotExist:
                return json_response({"error": "order not found"}, status=404)

        return wrapper

    return decorate


def _object(request) -> dict:
    data = json_body(request, required=False) or {}
    if not isinstance(data, dict):
        raise ControlError("the body must be a JSON object")
    return data


def _account_json(account: Account) -> dict:
    return {"accountName": account.account_name, "appKey": account.app_key}


@control_view("GET", "POST")
def accounts(request):
    """POST {accountName, appKey, appToken}: create the key pair, or update the one with that appKey."""
    if request.method == "GET":
        return json_response([_account_json(a) for a in Account.objects.all()])
    data = _object(request)
    for field in ("accountName", "appKey", "appToken"):
        if not isinstance(data.get(field), str) or not data[field]:
            raise ControlError(f"{field} is required")
    account, created = Account.objects.update_or_create(
        app_key=data["appKey"], defaults={"account_name": data["accountName"], "app_token": data["appToken"]}
    )
    return json_response(_account_json(account), status=201 if created else 200)


@control_view("GET", "POST")
def orders(request):
    """POST a customer order (see docs/sandbox-vtex.md); GET lists ids and statuses (?accountName=)."""
    if request.method == "GET":
        rows = Order.objects.select_related("account")
        if request.GET.get("accountName"):
            rows = rows.filter(account__account_name=request.GET["accountName"])
        return json_response(
            [
                {"orderId": o.order_id, "accountName": o.account.account_name, "status": o.status, "value": o.value}
                for o in rows
            ]
        )
    data = _object(request)
    name = data.get("accountName", DEMO_ACCOUNT)
    account = Account.objects.filter(account_name=name).first()
    if account is None:
        raise ControlError(f"unknown account {name!r}; create it with POST /_sim/vtex/accounts")
    order = services.order_create(account=account, data=data)
    return json_response(order_json(order), status=201)


@control_view("POST")
def orders_bulk(request):
    """POST {count, template} or {orders}: many orders at once, without feed events (docs/sandbox-vtex.md)."""
    data = _object(request)
    name = data.get("accountName", DEMO_ACCOUNT)
    account = Account.objects.filter(account_name=name).first()
    if account is None:
        raise ControlError(f"unknown account {name!r}; create it with POST /_sim/vtex/accounts")
    order_ids = services.orders_bulk_create(account=account, data=data)
    return json_response(
        {"accountName": account.account_name, "created": len(order_ids), "orderIds": order_ids}, status=201
    )


def _order(order_id: str) -> Order:
    return Order.objects.select_related("account").get(order_id=order_id)


@control_view("GET")
def order_state(request, order_id: str):
    """Everything the simulator knows about an order, without auth."""
    order = _order(order_id)
    channel_notifications = [
        {"event": d.event, "url": d.url, "state": d.state, "body": d.body}
        for d in Delivery.objects.filter(kind=DELIVERY_KIND)
        if order.marketplace_order_id and d.body.get("marketplaceOrderId") == order.marketplace_order_id
    ]
    return json_response(
        {
            "accountName": order.account.account_name,
            "order": order_json(order),
            "statusHistory": order.status_history,
            "invoices": [
                {
                    "type": p.type,
                    "invoiceNumber": p.invoice_number,
                    "invoiceValue": p.invoice_value,
                    "items": p.items,
                    "trackingNumber": p.tracking_number,
                    "trackingUrl": p.tracking_url,
                    "courier": p.courier,
                    "courierStatus": p.courier_status,
                    "receipt": p.receipt,
                }
                for p in order.packages.all()
            ],
            "notes": [note_json(n) for n in order.account.notes.filter(target_id=order.order_id)],
            "changes": [change_history_entry(c) for c in order.changes.all()],
            "channelNotifications": channel_notifications,
        }
    )


@control_view("POST")
def order_status(request, order_id: str):
    """POST {status}: put the order in that status (one change, one feed/hook event)."""
    order = _order(order_id)
    status = _object(request).get("status")
    if not isinstance(status, str):
        raise ControlError("status is required")
    services.order_status_move(order=order, status=status)
    return json_response(order_json(order))


@control_view("POST")
def order_request_cancellation(request, order_id: str):
    """POST {reason?}: the customer asks to cancel."""
    order = _order(order_id)
    reason = _object(request).get("reason") or "Customer asked to cancel"
    services.order_cancellation_request(order=order, reason=str(reason))
    return json_response(order_json(order))
