"""VTEX endpoints on their real paths. Thin: authenticate, parse, call one service, answer."""

from __future__ import annotations

from functools import wraps

from django.db import transaction
from django.db.models import prefetch_related_objects
from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from sandbox.http import READ_ONLY_METHODS, InvalidJson, json_body, json_response
from sandbox.routers import SANDBOX_DB
from sandbox.vtex import changes, channel, listing, notes, services
from sandbox.vtex.auth import vtex_auth, vtex_error
from sandbox.vtex.errors import ChannelError, OmsError, bad_request
from sandbox.vtex.models import Order, OrderChange
from sandbox.vtex.serializers import order_json

JSON_UTF8 = "application/json; charset=utf-8"


def read_json(request, *, required: bool = True):
    """The JSON body; VTEX answers 400 to a body that is not JSON or not sent as application/json."""
    if request.body and request.content_type != "application/json":
        raise bad_request("SBX-CONTENT-TYPE", "Content-Type must be application/json")
    try:
        return json_body(request, required=required)
    except InvalidJson as exc:
        raise bad_request("SBX-INVALID-JSON", str(exc)) from None


def oms_view(*methods: str):
    """csrf-exempt, method-checked, authenticated, one sandbox transaction per write, OmsError → VTEX
    error body."""

    def decorate(view):
        @csrf_exempt
        @require_http_methods(list(methods))
        @vtex_auth
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            try:
                if request.method in READ_ONLY_METHODS:
                    return view(request, *args, **kwargs)
                with transaction.atomic(using=SANDBOX_DB):
                    return view(request, *args, **kwargs)
            except OmsError as exc:
                return exc.response()

        return wrapper

    return decorate


def _order(request, order_id: str) -> Order:
    return services.order_get(account=request.vtex_account, ref=order_id, lock=request.method != "GET")


# --- orders -----------------------------------------------------------------------------------------


@oms_view("GET")
def order_detail(request, order_id: str):
    order = _order(request, order_id)
    prefetch_related_objects([order], "packages", "changes")
    return json_response(order_json(order))


@oms_view("GET")
def order_list(request):
    body = listing.order_list(account=request.vtex_account, query=request.GET)
    return json_response(body, content_type=JSON_UTF8)


@oms_view("POST")
def start_handling(request, order_id: str):
    services.order_start_handling(order=_order(request, order_id))
    return HttpResponse(status=204)


@oms_view("POST")
def cancel(request, order_id: str):
    data = read_json(request, required=False) or {}
    if not isinstance(data, dict):
        raise bad_request("SBX-INVALID-BODY", "The body must be a JSON object")
    reason = data.get("reason")
    if reason is not None and not isinstance(reason, str):
        raise bad_request("SBX-INVALID-BODY", "reason must be a string")
    answer = services.order_cancel(
        order=_order(request, order_id), reason=reason, requested_by_user=bool(data.get("requestedByUser"))
    )
    return json_response(answer)


@oms_view("POST")
def invoice(request, order_id: str):
    order = _order(request, order_id)
    return json_response(services.invoice_notify(order=order, data=read_json(request)))


@oms_view("PATCH", "PUT")
def invoice_item(request, order_id: str, rest: str):
    """``PATCH …/invoice/{invoiceNumber}`` and ``PUT …/invoice/{invoiceNumber}/tracking`` share a route so
    that a number containing ``/`` reaches the simulator and fails the way VTEX fails (404)."""
    order = _order(request, order_id)
    if request.method == "PUT":
        if not rest.endswith("/tracking"):
            return HttpResponse(status=405)
        answer = services.invoice_tracking_events(
            order=order, number=rest.removesuffix("/tracking"), data=read_json(request)
        )
        return json_response(answer, content_type=JSON_UTF8)
    return json_response(services.invoice_tracking_update(order=order, number=rest, data=read_json(request)))


@oms_view("POST")
def changes_deprecated(request, order_id: str):
    _order(request, order_id)
    raise OmsError(
        410,
        "SBX-DEPRECATED",
        "Register modifications on order (POST /api/oms/pvt/orders/{orderId}/changes) is deprecated and no longer "
        "supported; use PATCH /api/order-system/orders/{changeOrderId}/changes",
    )


@oms_view("POST")
def deny_cancellation(request, order_id: str):
    services.order_cancellation_deny(order=_order(request, order_id), data=read_json(request))
    return HttpResponse(status=200)


# --- order modifications ----------------------------------------------------------------------------


def _account_param(request, name: str) -> None:
    """The spec requires the account in the query (``accountName`` on PATCH, ``an`` elsewhere)."""
    value = request.GET.get(name)
    if not value:
        raise bad_request("SBX-ACCOUNT-PARAM", f"Query parameter {name} (the account name) is required")
    if value != request.vtex_account.account_name:
        raise OmsError(403, "2", f"The appKey is not valid for account {value}")


@oms_view("PATCH", "GET")
def order_changes(request, order_id: str):
    if request.method == "PATCH":
        _account_param(request, "accountName")
        order = _order(request, order_id)
        return json_response(changes.change_apply(order=order, data=read_json(request)), status=202)
    _account_param(request, "an")
    order = _order(request, order_id)
    history = [changes.change_history_entry(c) for c in order.changes.select_related("order__account")]
    return json_response({"requests": history, "actions": []})


@oms_view("GET")
def order_change_detail(request, order_id: str, request_id: str):
    _account_param(request, "an")
    order = _order(request, order_id)
    change = OrderChange.objects.filter(order=order, request_id=request_id).first()
    if change is None:
        raise OmsError(404, "SBX-CHANGE-NOT-FOUND", f"Change request {request_id} not found on order {order_id}")
    return json_response({**changes.change_history_entry(change), "status": "Completed", "inProgress": False})


@oms_view("POST")
def order_changes_preview(request, order_id: str):
    _account_param(request, "an")
    order = _order(request, order_id)
    return json_response(changes.change_preview(order=order, data=read_json(request)))


# --- Channel Order API ------------------------------------------------------------------------------


@csrf_exempt
@require_http_methods(["PUT"])
@vtex_auth
def channel_order_status(request):
    account = request.vtex_account
    if request.GET.get("an") and request.GET["an"] != account.account_name:
        return vtex_error(403, "2", f"The appKey is not valid for account {request.GET['an']}")
    try:
        data = read_json(request)
    except OmsError as exc:
        return json_response(ChannelError(None, exc.message).body(), status=400)
    try:
        with transaction.atomic(using=SANDBOX_DB):
            return json_response(channel.channel_order_approve(account=account, data=data))
    except ChannelError as exc:
        return json_response(exc.body(), status=400)


# --- DO notes ---------------------------------------------------------------------------------------


@oms_view("POST", "GET")
def do_notes(request):
    if request.method == "GET":
        return json_response(notes.notes_page(account=request.vtex_account, query=request.GET))
    note = notes.note_create(
        account=request.vtex_account, app_key=request.vtex_account.app_key, data=read_json(request)
    )
    return json_response(notes.note_json(note))
