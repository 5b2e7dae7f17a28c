"""Channel Order API, update order status (reference §7): sync SOI003, then the async processing result."""

from __future__ import annotations

import uuid
from urllib.parse import urlsplit

from sandbox.deliveries import delivery_enqueue
from sandbox.vtex import statuses as st
from sandbox.vtex.errors import ChannelError
from sandbox.vtex.models import Account, Order
from sandbox.vtex.services import order_walk

DELIVERY_KIND = "vtex_channel_order"
FLOW = "ApproveOrder"


def _validate(data) -> str:
    if not isinstance(data, dict):
        raise ChannelError(None, "The request body must be a JSON object")
    marketplace_order_id = data.get("marketplaceOrderId")
    if not isinstance(marketplace_order_id, str) or not marketplace_order_id.strip():
        raise ChannelError(marketplace_order_id, "marketplaceOrderId is required")
    status = data.get("marketplaceOrderStatus")
    if status != "approved":
        raise ChannelError(
            marketplace_order_id,
            f'marketplaceOrderStatus {status!r} is not valid here: the status update accepts "approved"',
        )
    if not isinstance(data.get("connectorName"), str) or not data["connectorName"].strip():
        raise ChannelError(marketplace_order_id, "connectorName is required")
    endpoint = data.get("connectorEndpoint")
    parts = urlsplit(endpoint) if isinstance(endpoint, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
        raise ChannelError(marketplace_order_id, "connectorEndpoint must be the connector's absolute base URL")
    if parts.query or parts.fragment:
        raise ChannelError(marketplace_order_id, "connectorEndpoint must not carry a query string")
    return marketplace_order_id


def _result(*, account: Account, marketplace_order_id: str, code: str, message: str, order: Order | None) -> dict:
    success = code.startswith("SOI")
    return {
        "marketplaceOrderId": marketplace_order_id,
        "accountName": account.account_name,
        "code": code,
        "flow": FLOW,
        "success": success,
        "operationId": str(uuid.uuid4()),
        "errors": None if success else [{"source": "Order Integration", "code": code, "description": message}],
        "fields": {"mainOrderId": order.order_id.removesuffix("-01"), "franchiseOrderId": None} if success else None,
        "message": message,
    }


def channel_order_approve(*, account: Account, data) -> dict:
    """Validate and enqueue an approval; the outcome goes to the connector as a notification."""
    marketplace_order_id = _validate(data)
    order = (
        Order.objects.select_for_update()
        .filter(account=account, marketplace_order_id=marketplace_order_id)
        .order_by("id")
        .first()
    )
    if order is None:
        code, message = "EOI008", f"Order {marketplace_order_id} cannot be approved: it has not been integrated yet"
    elif order.status in st.PRICE_DIVERGENCE:
        code, message = (
            "EOI011",
            f"Order {marketplace_order_id} was integrated with a price divergence and is waiting for the seller's "
            "manual authorization",
        )
    elif order.status in st.AWAITING_MARKETPLACE_APPROVAL:
        order_walk(order=order, to=st.READY_FOR_HANDLING)
        code, message = "SOI002", "Order approved successfully"
    else:
        code, message = (
            "EOI009",
            f"Order {marketplace_order_id} cannot be approved: status {order.status} does not allow approval",
        )
    endpoint = data["connectorEndpoint"].rstrip("/")
    delivery_enqueue(
        kind=DELIVERY_KIND,
        event=code,
        url=f"{endpoint}/order-integration/notification/processing-result?an={account.account_name}",
        body=_result(
            account=account, marketplace_order_id=marketplace_order_id, code=code, message=message, order=order
        ),
    )
    return {
        "marketplaceOrderId": marketplace_order_id,
        "accountName": None,
        "code": "SOI003",
        "flow": FLOW,
        "success": True,
        "operationId": None,
        "errors": None,
        "fields": None,
        "message": "Order successfully enqueued",
    }
