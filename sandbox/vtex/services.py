"""The VTEX OMS simulator's rules: order workflow, invoices, tracking, cancellation, modifications.

Every function that changes an order's status goes through ``order_status_set``, which calls the
feed/hook seam (``sandbox.vtex.events.order_status_changed``) in the same transaction. Callers wrap
their work in ``transaction.atomic(using=SANDBOX_DB)``.
"""

from __future__ import annotations

import re
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta

from sandbox import clock
from sandbox.http import object_id
from sandbox.routers import SANDBOX_DB
from sandbox.vtex import events
from sandbox.vtex import statuses as st
from sandbox.vtex.errors import ControlError, OmsError, bad_request, order_not_found
from sandbox.vtex.models import Account, Order, Package, PackageType

FIRST_SEQUENCE = 500001
ORDER_ID_BASE = 1510580000000
DESCRIPTION_LIMIT = 5000


def new_hex() -> str:
    return uuid.uuid4().hex


def vtex_timestamp(moment: datetime) -> str:
    """VTEX's receipt/notification date style: seven fraction digits and an offset."""
    return moment.isoformat(timespec="microseconds").replace("+00:00", "0+00:00")


def receipt_answer(order: Order, receipt: str) -> dict:
    return {"date": vtex_timestamp(clock.now()), "orderId": order.order_id, "receipt": receipt}


# --- lookup -----------------------------------------------------------------------------------------


def order_get(*, account: Account, ref: str, lock: bool = False) -> Order:
    """The account's order by id or by ``seq{sequence}``; another account's order is simply not found."""
    orders = Order.objects.using(SANDBOX_DB).filter(account=account).select_related("account")
    if lock:
        orders = orders.select_for_update()
    order = orders.filter(sequence=ref[3:]).first() if ref.startswith("seq") else orders.filter(order_id=ref).first()
    if order is None:
        raise order_not_found()
    return order


# --- workflow ---------------------------------------------------------------------------------------


def order_status_set(*, order: Order, status: str) -> None:
    """Move the order to ``status`` and tell the feed/hook side (in the caller's transaction)."""
    now = clock.now()
    if now <= order.last_change:  # two changes in one clock tick still get ordered timestamps
        now = order.last_change + timedelta(microseconds=1)
    last_state, last_change = order.status, order.last_change
    order.status = status
    order.last_change = now
    order.status_history = [*order.status_history, {"from": last_state, "to": status, "at": now.isoformat()}]
    if status == st.PAYMENT_APPROVED and order.authorized_date is None:
        order.authorized_date = now
    if status == st.INVOICED:
        order.invoiced_date = now
    order.save()
    events.order_status_changed(
        order=order, last_state=last_state, state=status, last_change=last_change, current_change=now
    )


def order_walk(*, order: Order, to: str) -> None:
    for status in st.path_from(order.status, to):
        order_status_set(order=order, status=status)


def order_start_handling(*, order: Order) -> None:
    if order.status != st.READY_FOR_HANDLING:
        raise OmsError(409, "OMS003", "Order status should be ready-for-handling to perform this action")
    order_status_set(order=order, status=st.START_HANDLING)
    order_status_set(order=order, status=st.HANDLING)


def _output_packages(order: Order) -> list[Package]:
    return [p for p in order.packages.all() if p.type == PackageType.OUTPUT]


def _input_packages(order: Order) -> list[Package]:
    return [p for p in order.packages.all() if p.type == PackageType.INPUT]


def order_cancel(*, order: Order, reason: str | None, requested_by_user: bool) -> dict:
    if order.status == st.INVOICED:
        raise bad_request(
            "SBX-CANCEL-INVOICED", "Invoiced orders cannot be canceled; notify a return invoice (type Input) instead"
        )
    if _output_packages(order):
        raise bad_request(
            "SBX-CANCEL-PARTIAL",
            "Partially invoiced orders cannot be canceled; use order modifications to remove the remaining items",
        )
    if order.status in st.FINAL:
        raise bad_request("SBX-CANCEL-STATUS", f"Order in status {order.status} cannot be canceled")
    if order.status in st.AUTOMATIC:
        raise bad_request(
            "SBX-CANCEL-STATUS",
            f"Order status {order.status} is set automatically by the platform and cannot be canceled",
        )
    now = clock.now()
    order.cancel_reason = reason
    order.cancellation_data = {
        "RequestedByUser": requested_by_user,
        "RequestedBySystem": False,
        "RequestedBySellerNotification": not requested_by_user,
        "RequestedByPaymentNotification": False,
        "Reason": reason,
        "CancellationDate": now.isoformat(timespec="microseconds"),
    }
    order_status_set(order=order, status=st.CANCEL)
    order_status_set(order=order, status=st.CANCELED)
    return receipt_answer(order, new_hex())


def order_cancellation_deny(*, order: Order, data) -> None:
    """The seller refuses the customer's cancellation request: back to the status it came from."""
    if order.status != st.CANCELLATION_REQUESTED:
        raise bad_request("SBX-DENY-STATUS", f"Order in status {order.status} has no cancellation request to deny")
    if not isinstance(data, dict) or not isinstance(data.get("cancellationRequestId"), str):
        raise bad_request("SBX-INVALID-BODY", "cancellationRequestId is required")
    open_request = next((r for r in order.cancellation_requests if r.get("deniedBySeller") is False), None)
    if open_request is None or open_request["id"] != data["cancellationRequestId"]:
        raise bad_request("SBX-DENY-UNKNOWN", "cancellationRequestId does not match the order's open request")
    open_request.update(
        deniedBySeller=True,
        deniedBySellerReason=data.get("denyReason"),
        cancellationRequestDenyDate=clock.now().isoformat(timespec="microseconds"),
    )
    order.cancellation_requests = list(order.cancellation_requests)
    order_status_set(order=order, status=open_request["previousStatus"])


# --- invoices ---------------------------------------------------------------------------------------

_ISO_WITH_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$")
_DELIVERED_DATE = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}$")
_EVENT_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _parse_iso_with_time(value: str) -> datetime | None:
    if not isinstance(value, str) or not _ISO_WITH_TIME.match(value):
        return None
    normalised = re.sub(r"(\.\d{6})\d+", r"\1", value).replace("Z", "+00:00")
    try:
        return datetime.fromisoformat(normalised)
    except ValueError:
        return None


def _valid_date(value: str, fmt: str) -> bool:
    try:
        datetime.strptime(value, fmt)
    except ValueError:
        return False
    return True


def _optional_string(data: dict, field: str) -> None:
    if field in data and data[field] is not None and not isinstance(data[field], str):
        raise bad_request("SBX-INVALID-FIELD", f"{field} must be a string or null")


def _invoice_value(raw) -> int:
    # The spec types it as a string of cents; many clients send an integer. Both are accepted,
    # a decimal separator or anything not a positive whole number of cents is not.
    if isinstance(raw, bool):
        value = None
    elif isinstance(raw, int):
        value = raw
    elif isinstance(raw, str):
        value = object_id(raw)  # ASCII digits only: "²" passes str.isdigit and then fails int()
    else:
        value = None
    if value is None or value <= 0:
        raise bad_request(
            "SBX-INVOICE-VALUE", 'invoiceValue must be a positive whole number of cents (e.g. "11600" for 116.00)'
        )
    return value


def _invoice_items(raw) -> list[dict]:
    if not isinstance(raw, list) or not raw:
        raise bad_request("SBX-INVOICE-ITEMS", "items is required: the SKUs invoiced, with id, price and quantity")
    items = []
    for position, item in enumerate(raw):
        if not isinstance(item, dict):
            raise bad_request("SBX-INVOICE-ITEMS", f"items[{position}] must be an object")
        sku, quantity, price = item.get("id"), item.get("quantity"), item.get("price")
        if not isinstance(sku, str) or not sku:
            raise bad_request("SBX-INVOICE-ITEMS", f"items[{position}].id is required (the SKU id, a string)")
        if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 1:
            raise bad_request("SBX-INVOICE-ITEMS", f"items[{position}].quantity must be a positive integer")
        if not isinstance(price, int) or isinstance(price, bool) or price < 0:
            raise bad_request("SBX-INVOICE-ITEMS", f"items[{position}].price must be the unit price in cents")
        description = item.get("description")
        if description is not None and not isinstance(description, str):
            raise bad_request("SBX-INVOICE-ITEMS", f"items[{position}].description must be a string")
        items.append({"id": sku, "quantity": quantity, "price": price, "description": description})
    return items


def invoice_number_is_special(number: str) -> bool:
    """KI 953285: a leading or trailing special character (``#123``) stops the post-purchase flow."""
    return not (number[0].isalnum() and number[-1].isalnum())


def _sum_by_sku(items) -> dict[str, int]:
    totals: dict[str, int] = defaultdict(int)
    for item in items:
        totals[item["id"]] += item["quantity"]
    return totals


def _invoiced_per_line(order: Order) -> dict[int, int]:
    per_line: dict[int, int] = defaultdict(int)
    for package in _output_packages(order):
        for item in package.items:
            per_line[item["itemIndex"]] += item["quantity"]
    return per_line


def _assign_lines(order: Order, items: list[dict], taken: dict[int, int]) -> list[dict]:
    """Spread invoiced quantities over the order lines of each SKU, first line first."""
    assigned = []
    for item in items:
        left = item["quantity"]
        for index, line in enumerate(order.items):
            if line["id"] != item["id"] or left == 0:
                continue
            share = min(left, line["quantity"] - taken[index])
            if share <= 0:
                continue
            taken[index] += share
            left -= share
            assigned.append({**item, "itemIndex": index, "quantity": share})
        if left:  # only reachable for Input items, whose limit is checked per SKU
            first = next(i for i, line in enumerate(order.items) if line["id"] == item["id"])
            assigned.append({**item, "itemIndex": first, "quantity": left})
    return assigned


def invoice_notify(*, order: Order, data) -> dict:
    """POST /invoice: validate per reference §4 and the issue's stricter choices, then apply."""
    if not isinstance(data, dict):
        raise bad_request("SBX-INVALID-BODY", "The body must be a JSON object")
    missing = [f for f in ("type", "issuanceDate", "invoiceNumber", "invoiceValue", "items") if data.get(f) is None]
    if missing:
        raise bad_request("SBX-INVOICE-REQUIRED", f"Missing required field(s): {', '.join(missing)}")
    kind = data["type"]
    if kind not in (PackageType.OUTPUT, PackageType.INPUT):
        raise bad_request("SBX-INVOICE-TYPE", "type must be Output (sale) or Input (return)")
    number = data["invoiceNumber"]
    if not isinstance(number, str) or not number.strip():
        raise bad_request("SBX-INVOICE-NUMBER", "invoiceNumber must be a non-empty string")
    if _parse_iso_with_time(data["issuanceDate"]) is None:
        raise bad_request(
            "SBX-INVOICE-DATE", "issuanceDate must be an ISO 8601 date with time, e.g. 2026-03-02T14:05:00+01:00"
        )
    value = _invoice_value(data["invoiceValue"])
    items = _invoice_items(data["items"])
    for field in (
        "invoiceKey",
        "invoiceUrl",
        "embeddedInvoice",
        "courier",
        "trackingNumber",
        "trackingUrl",
        "dispatchedDate",
    ):
        _optional_string(data, field)
    if data.get("dispatchedDate") and _parse_iso_with_time(data["dispatchedDate"]) is None:
        raise bad_request("SBX-INVOICE-DATE", "dispatchedDate must be an ISO 8601 date with time")
    if order.packages.filter(invoice_number=number).exists():
        raise OmsError(
            409,
            "SBX-INVOICE-DUPLICATE",
            f"Invoice {number} already exists on order {order.order_id}; an invoice number can be used once per order",
        )
    skus = {line["id"] for line in order.items}
    unknown = sorted({item["id"] for item in items} - skus)
    if unknown:
        raise bad_request("SBX-INVOICE-SKU", f"Item(s) {', '.join(unknown)} are not SKUs of order {order.order_id}")
    if kind == PackageType.OUTPUT:
        package_items, restitutions = _output_invoice_check(order=order, items=items, value=value), {}
    else:
        package_items, restitutions = _input_invoice_check(order=order, items=items, value=value)
    package = Package.objects.create(
        order=order,
        type=kind,
        invoice_number=number,
        invoice_value=value,
        invoice_key=data.get("invoiceKey"),
        invoice_url=data.get("invoiceUrl"),
        embedded_invoice=data.get("embeddedInvoice"),
        issuance_date=data["issuanceDate"],
        courier=data.get("courier"),
        tracking_number=data.get("trackingNumber") or None,
        tracking_url=data.get("trackingUrl") or None,
        dispatched_date=data.get("dispatchedDate") or None,
        items=package_items,
        restitutions=restitutions,
        receipt=new_hex(),
        created_at=clock.now(),
    )
    if kind == PackageType.OUTPUT:
        _after_output_invoice(order)
    return receipt_answer(order, package.receipt)


def _output_invoice_check(*, order: Order, items: list[dict], value: int) -> list[dict]:
    if order.status not in (st.HANDLING, st.INVOICE):
        raise bad_request(
            "SBX-INVOICE-STATUS",
            f"Order in status {order.status} cannot be invoiced; sale invoices are accepted in handling "
            "(call start-handling first) and while partially invoiced",
        )
    ordered = _sum_by_sku(order.items)
    already = _sum_by_sku(item for p in _output_packages(order) for item in p.items)
    for sku, quantity in _sum_by_sku(items).items():
        if already[sku] + quantity > ordered[sku]:
            raise bad_request(
                "SBX-INVOICE-QUANTITY",
                f"SKU {sku}: invoicing {quantity} more would exceed the ordered quantity "
                f"({already[sku]} of {ordered[sku]} already invoiced)",
            )
    remaining = order.value - sum(p.invoice_value for p in _output_packages(order))
    if value > remaining:
        raise bad_request(
            "SBX-INVOICE-VALUE", f"invoiceValue {value} exceeds the amount left to invoice on the order ({remaining})"
        )
    return _assign_lines(order, items, _invoiced_per_line(order))


def _input_invoice_check(*, order: Order, items: list[dict], value: int) -> tuple[list[dict], dict]:
    if order.status != st.INVOICED:
        raise bad_request(
            "SBX-RETURN-STATUS",
            f"Order in status {order.status}: return invoices (type Input) are accepted only once the order "
            "is invoiced",
        )
    sold = _sum_by_sku(item for p in _output_packages(order) for item in p.items)
    returned = _sum_by_sku(item for p in _input_packages(order) for item in p.items)
    for sku, quantity in _sum_by_sku(items).items():
        if returned[sku] + quantity > sold[sku]:
            raise bad_request(
                "SBX-RETURN-QUANTITY",
                f"SKU {sku}: returning {quantity} more would exceed the invoiced quantity "
                f"({returned[sku]} of {sold[sku]} already returned)",
            )
    refundable = sum(p.invoice_value for p in _output_packages(order)) - sum(
        p.invoice_value for p in _input_packages(order)
    )
    if value > refundable:
        raise bad_request(
            "SBX-RETURN-VALUE", f"invoiceValue {value} exceeds the invoiced amount not yet refunded ({refundable})"
        )
    package_items = _assign_lines(order, items, defaultdict(int))
    refund = {
        "Refund": {
            "value": value,
            "giftCardData": None,
            "items": [
                {
                    "useFreight": None,
                    "isCompensation": False,
                    "compensationValue": 0,
                    "id": item["id"],
                    "quantity": item["quantity"],
                    "price": item["price"],
                    "description": item["description"] or "",
                }
                for item in items
            ],
        }
    }
    return package_items, refund


def _after_output_invoice(order: Order) -> None:
    if order.status == st.HANDLING:
        order_status_set(order=order, status=st.INVOICE)
    order_invoiced_check(order=order)


def order_invoiced_check(*, order: Order) -> None:
    """``invoiced`` once the sale invoices add up to the order value (unless KI 953285 blocks it)."""
    outputs = _output_packages(order)
    if order.status != st.INVOICE or not outputs:
        return
    if sum(p.invoice_value for p in outputs) < order.value:
        return
    if any(invoice_number_is_special(p.invoice_number) for p in outputs):
        return  # accepted, but the post-purchase flow never completes (KI 953285)
    order_status_set(order=order, status=st.INVOICED)


# --- tracking ---------------------------------------------------------------------------------------


def _package_for_tracking(order: Order, number: str) -> Package:
    if "/" in number:  # KI 1302085: the route cannot carry it, even URL-encoded
        raise OmsError(404, "SBX-ROUTE", "Not Found")
    package = order.packages.filter(invoice_number=number).first()
    if package is None:
        raise OmsError(404, "SBX-INVOICE-NOT-FOUND", f"Invoice {number} not found on order {order.order_id}")
    if " " in number:  # KI 409225
        raise OmsError(500, "1", "An error has occurred")
    return package


def invoice_tracking_update(*, order: Order, number: str, data) -> dict:
    """PATCH /invoice/{invoiceNumber}: add tracking to an existing invoice."""
    package = _package_for_tracking(order, number)
    if not isinstance(data, dict):
        raise bad_request("SBX-INVALID-BODY", "The body must be a JSON object")
    missing = [f for f in ("trackingNumber", "trackingUrl", "courier", "dispatchedDate") if f not in data]
    if missing:
        raise bad_request("SBX-TRACKING-REQUIRED", f"Missing required field(s): {', '.join(missing)}")
    if not isinstance(data["trackingNumber"], str) or not data["trackingNumber"].strip():
        raise bad_request("SBX-TRACKING-NUMBER", "trackingNumber must be a non-empty string")
    for field in ("trackingUrl", "courier", "dispatchedDate"):
        _optional_string(data, field)
    if data["dispatchedDate"] and _parse_iso_with_time(data["dispatchedDate"]) is None:
        raise bad_request("SBX-TRACKING-DATE", "dispatchedDate must be an ISO 8601 date with time")
    package.tracking_number = data["trackingNumber"]
    package.tracking_url = data["trackingUrl"]
    package.courier = data["courier"]
    package.dispatched_date = data["dispatchedDate"]
    package.receipt = new_hex()
    package.save()
    return receipt_answer(order, package.receipt)


def _tracking_events(raw) -> list[dict]:
    if not isinstance(raw, list):
        raise bad_request("SBX-TRACKING-EVENTS", "events must be an array")
    parsed = []
    for position, event in enumerate(raw):
        if not isinstance(event, dict):
            raise bad_request("SBX-TRACKING-EVENTS", f"events[{position}] must be an object")
        for field in ("city", "state", "description", "date"):
            if not isinstance(event.get(field), str):
                raise bad_request("SBX-TRACKING-EVENTS", f"events[{position}].{field} is required (a string)")
        if not _EVENT_DATE.match(event["date"]) or not _valid_date(event["date"], "%Y-%m-%d"):
            raise bad_request("SBX-TRACKING-EVENTS", f"events[{position}].date must be yyyy-mm-dd")
        if len(event["description"]) > DESCRIPTION_LIMIT:
            raise bad_request(
                "SBX-TRACKING-EVENTS", f"events[{position}].description is longer than {DESCRIPTION_LIMIT} characters"
            )
        parsed.append({k: event[k] for k in ("city", "state", "description", "date")})
    return parsed


def invoice_tracking_events(*, order: Order, number: str, data) -> dict:
    """PUT /invoice/{invoiceNumber}/tracking: courier events on an invoice that has a tracking number."""
    package = _package_for_tracking(order, number)
    if not package.tracking_number:
        raise bad_request(
            "SBX-TRACKING-MISSING",
            f"Invoice {number} has no tracking number; add it first with PATCH /invoice/{number}",
        )
    if not isinstance(data, dict):
        raise bad_request("SBX-INVALID-BODY", "The body must be a JSON object")
    missing = [f for f in ("isDelivered", "deliveredDate", "events") if f not in data]
    if missing:
        raise bad_request("SBX-TRACKING-REQUIRED", f"Missing required field(s): {', '.join(missing)}")
    if not isinstance(data["isDelivered"], bool):
        raise bad_request("SBX-TRACKING-DELIVERED", "isDelivered must be true or false")
    delivered_date = data["deliveredDate"]
    if delivered_date is not None and (
        not isinstance(delivered_date, str)
        or not _DELIVERED_DATE.match(delivered_date)
        or not _valid_date(delivered_date, "%Y-%m-%d %H:%M")
    ):
        raise bad_request("SBX-TRACKING-DELIVERED", "deliveredDate must be yyyy-mm-dd hh:mm (e.g. 2026-03-04 11:20)")
    if data["isDelivered"] and delivered_date is None:
        raise bad_request("SBX-TRACKING-DELIVERED", "deliveredDate is required when isDelivered is true")
    new_events = _tracking_events(data["events"])
    status = package.courier_status or {"status": None, "finished": False, "data": []}
    stamp = clock.now().isoformat(timespec="microseconds")
    for event in new_events:
        # Appended, a resent event too (reference/vtex.md §8.3): a client sending its whole history
        # again shows the shopper every scan twice, here as in VTEX.
        status["data"].append(
            {
                "lastChange": stamp,
                "city": event["city"],
                "state": event["state"],
                "description": event["description"],
                "createDate": event["date"],
            }
        )
    if data["isDelivered"]:
        status["finished"] = True
        status["status"] = "delivered"
        status["deliveredDate"] = delivered_date
    package.courier_status = status
    package.receipt = new_hex()
    package.save()
    return receipt_answer(order, package.receipt)


# --- customer side (control API) --------------------------------------------------------------------


def _next_sequence() -> int:
    last = Order.objects.using(SANDBOX_DB).order_by("-id").values_list("sequence", flat=True).first()
    return int(last) + 1 if last else FIRST_SEQUENCE


def _int_field(data: dict, field: str, *, minimum: int, default=None) -> int:
    value = data.get(field, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ControlError(f"{field} must be an integer >= {minimum}")
    return value


def _order_lines(raw) -> list[dict]:
    if not isinstance(raw, list) or not raw:
        raise ControlError("items: give at least one item {skuId, name, quantity, price}")
    lines = []
    for item in raw:
        if not isinstance(item, dict) or not str(item.get("skuId", "")).strip():
            raise ControlError("every item needs a skuId")
        sku = str(item["skuId"])
        price = _int_field(item, "price", minimum=0)
        lines.append(
            {
                "uniqueId": new_hex().upper(),
                "id": sku,
                "productId": str(item.get("productId") or sku),
                "ean": item.get("ean"),
                "refId": str(item.get("refId") or f"REF-{sku}"),
                "name": str(item.get("name") or f"SKU {sku}"),
                "quantity": _int_field(item, "quantity", minimum=1),
                "originalQuantity": item["quantity"],
                "price": price,
                "listPrice": _int_field(item, "listPrice", minimum=0, default=price),
                "sellingPrice": _int_field(item, "sellingPrice", minimum=0, default=price),
                "seller": "1",
                "imageUrl": str(item.get("imageUrl") or f"https://example.vteximg.com.br/arquivos/ids/{sku}.jpg"),
                "detailUrl": f"/sku-{sku}/p",
                "measurementUnit": "un",
                "unitMultiplier": 1,
            }
        )
    return lines


CUSTOMER_DEFAULTS = {
    "email": "jana.novakova@example.com",
    "firstName": "Jana",
    "lastName": "Nováková",
    "documentType": "",
    "document": "",
    "phone": "+420601234567",
}
ADDRESS_DEFAULTS = {
    "street": "Vinohradská",
    "number": "12",
    "complement": "",
    "neighborhood": "",
    "postalCode": "12000",
    "city": "Praha",
    "state": "",
    "country": "CZE",
}


def _order_target(data: dict) -> str:
    target = data.get("status", st.READY_FOR_HANDLING)
    if target not in st.PRE_HANDLING_PATH and target not in st.SIDE_STATUSES:
        raise ControlError(
            f"status must be one of {', '.join(st.PRE_HANDLING_PATH + sorted(st.SIDE_STATUSES))} "
            "(move it further with the real API or POST /_sim/vtex/orders/{id}/status)"
        )
    return target


def _new_order(*, account: Account, data: dict, sequence: int, created: datetime) -> Order:
    """An unsaved order at ``order-created`` from a control API body (docs/sandbox-vtex.md)."""
    if not isinstance(data, dict):
        raise ControlError("an order must be a JSON object")
    lines = _order_lines(data.get("items"))
    shipping = _int_field(data, "shippingValue", minimum=0, default=0)
    customer = {**CUSTOMER_DEFAULTS, **(data.get("customer") or {})}
    address = {**ADDRESS_DEFAULTS, **(data.get("address") or {})}
    affiliate = str(data.get("affiliateId") or "")
    marketplace_order_id = str(data.get("marketplaceOrderId") or "")
    if marketplace_order_id and not affiliate:
        raise ControlError("a marketplace order (marketplaceOrderId) needs its affiliateId (e.g. MKP)")
    origin = data.get("origin", "Marketplace")
    if origin not in ("Marketplace", "Fulfillment", "Chain"):
        raise ControlError("origin must be Marketplace, Fulfillment or Chain")
    number = f"{ORDER_ID_BASE + sequence}-01"
    return Order(
        account=account,
        order_id=f"{affiliate}-{number}" if affiliate else number,
        sequence=str(sequence),
        status=st.ORDER_CREATED,
        origin=origin,
        sales_channel=str(data.get("salesChannel", "1")),
        affiliate_id=affiliate,
        marketplace_order_id=marketplace_order_id,
        marketplace_services_endpoint=str(data.get("marketplaceServicesEndpoint") or ""),
        currency_code=str(data.get("currencyCode", "CZK")),
        country_code=str(address.get("country") or "CZE"),
        locale=str(data.get("locale", "cs-CZ")),
        items=lines,
        shipping_value=shipping,
        customer=customer,
        address=address,
        delivery_company=str(data.get("deliveryCompany") or "PPL"),
        creation_date=created,
        last_change=created,
        status_history=[{"from": "", "to": st.ORDER_CREATED, "at": created.isoformat()}],
        ids={
            name: new_hex()
            for name in ("orderFormId", "transactionId", "paymentId", "userProfileId", "addressId", "lockId")
        },
    )


def _marketplace_duplicate(account: Account, order: Order) -> ControlError | None:
    if order.marketplace_order_id and (
        Order.objects.filter(
            account=account, affiliate_id=order.affiliate_id, marketplace_order_id=order.marketplace_order_id
        ).exists()
    ):
        return ControlError(
            f"order {order.marketplace_order_id} of {order.affiliate_id} already exists (VTEX answers EOI007)"
        )
    return None


def order_create(*, account: Account, data: dict) -> Order:
    """A customer order as checkout would create it, walked to ``status`` (default ready-for-handling)."""
    target = _order_target(data)
    order = _new_order(account=account, data=data, sequence=_next_sequence(), created=clock.now())
    if error := _marketplace_duplicate(account, order):
        raise error
    order.save()
    now = order.creation_date
    # Creation is the order's first status change: there is no previous state.
    events.order_status_changed(order=order, last_state="", state=st.ORDER_CREATED, last_change=now, current_change=now)
    if target in st.SIDE_STATUSES:
        order_walk(order=order, to=st.SIDE_STATUSES[target])
        order_status_set(order=order, status=target)
    else:
        order_walk(order=order, to=target)
    return order


BULK_MAX_ORDERS = 100_000
BULK_BATCH = 500


def _bulk_bodies(data: dict) -> list[dict]:
    """The order bodies of a bulk request: ``orders`` as given, or ``count`` copies of ``template``."""
    if "orders" in data:
        bodies = data["orders"]
        if not isinstance(bodies, list) or not 1 <= len(bodies) <= BULK_MAX_ORDERS:
            raise ControlError(f"orders must be a list of 1 to {BULK_MAX_ORDERS} order objects")
        return bodies
    count = _int_field(data, "count", minimum=1)
    if count > BULK_MAX_ORDERS:
        raise ControlError(f"count must be at most {BULK_MAX_ORDERS}")
    template = data.get("template")
    if not isinstance(template, dict):
        raise ControlError("give orders (a list of order objects) or count and template (an order object)")
    mp_id = str(template.get("marketplaceOrderId") or "")
    if mp_id and "{n}" not in mp_id and count > 1:
        raise ControlError("a template's marketplaceOrderId needs \"{n}\" (the order's number, 1..count)")
    return [
        {**template, "marketplaceOrderId": mp_id.replace("{n}", str(n))} if mp_id else template
        for n in range(1, count + 1)
    ]


def _control_date(data: dict, field: str, default: datetime) -> datetime:
    if data.get(field) is None:
        return default
    moment = _parse_iso_with_time(data[field])
    if moment is None:
        raise ControlError(f"{field} must be an ISO 8601 date and time, e.g. 2026-03-01T10:00:00+00:00")
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _walk_quietly(order: Order, target: str) -> None:
    """Put a new order in ``target`` along the path ``order_create`` walks, without events: one
    microsecond per step after its creation, in its history."""
    path = (
        [*st.path_from(st.ORDER_CREATED, st.SIDE_STATUSES[target]), target]
        if target in st.SIDE_STATUSES
        else st.path_from(st.ORDER_CREATED, target)
    )
    previous = st.ORDER_CREATED
    for step, status in enumerate(path, start=1):
        at = order.creation_date + timedelta(microseconds=step)
        order.status_history.append({"from": previous, "to": status, "at": at.isoformat()})
        if status == st.PAYMENT_APPROVED:
            order.authorized_date = at
        order.status, order.last_change, previous = status, at, status


def _marketplace_ids_new(account: Account, keys: set[tuple[str, str]]) -> None:
    ids = sorted({mp_id for _, mp_id in keys})
    for at in range(0, len(ids), BULK_BATCH):
        existing = Order.objects.filter(account=account, marketplace_order_id__in=ids[at : at + BULK_BATCH])
        taken = keys & set(existing.values_list("affiliate_id", "marketplace_order_id"))
        if taken:
            affiliate, mp_id = min(taken)
            raise ControlError(f"order {mp_id} of {affiliate} already exists (VTEX answers EOI007)")


def orders_bulk_create(*, account: Account, data: dict) -> list[str]:
    """Control API: many orders in a few inserts, as if their feed events had expired (none is emitted).

    1. The bodies: ``orders``, or ``count`` copies of ``template`` (``{n}`` in its marketplaceOrderId).
    2. Creation dates: a body's own ``creationDate``, else spread evenly over [creationFrom,
       creationTo) (both default to the simulated now).
    3. Each order is built as ``order_create`` builds it and put in its status directly, the history
       recorded; marketplace ids must be new, in the request and in the account.
    4. Inserted in batches as they are built (the caller's transaction undoes all on a refusal); the
       ids are returned in the request's order.
    """
    bodies = _bulk_bodies(data)
    now = clock.now()
    first = _control_date(data, "creationFrom", now)
    last = _control_date(data, "creationTo", first)
    if last < first:
        raise ControlError("creationTo lies before creationFrom")
    step = (last - first) / len(bodies)
    sequence = _next_sequence()
    order_ids: list[str] = []
    batch: list[Order] = []
    marketplace_ids: set[tuple[str, str]] = set()
    for n, body in enumerate(bodies):
        try:
            if not isinstance(body, dict):
                raise ControlError("an order must be a JSON object")
            target = _order_target(body)
            created = _control_date(body, "creationDate", first + step * n)
            order = _new_order(account=account, data=body, sequence=sequence + n, created=created)
            key = (order.affiliate_id, order.marketplace_order_id)
            if order.marketplace_order_id and key in marketplace_ids:
                raise ControlError(f"order {key[1]} of {key[0]} is given twice (VTEX answers EOI007)")
        except ControlError as exc:
            raise ControlError(f"order {n + 1}: {exc}") from None
        if order.marketplace_order_id:
            marketplace_ids.add(key)
        _walk_quietly(order, target)
        batch.append(order)
        if len(batch) == BULK_BATCH or n == len(bodies) - 1:
            _marketplace_ids_new(account, {(o.affiliate_id, o.marketplace_order_id) for o in batch} & marketplace_ids)
            Order.objects.using(SANDBOX_DB).bulk_create(batch)
            order_ids += [o.order_id for o in batch]
            batch = []
    return order_ids


def order_status_move(*, order: Order, status: str) -> None:
    """Control API: put the order in any known status (one status change, one event)."""
    if status not in st.KNOWN:
        raise ControlError(f"unknown status {status!r}")
    if status == order.status:
        raise ControlError(f"order is already {status}")
    order_status_set(order=order, status=status)


def order_cancellation_request(*, order: Order, reason: str) -> None:
    """The customer asks to cancel: automatic within the cancellation window, a request for the seller after."""
    if order.status in (st.INVOICED, st.INVOICE) or _output_packages(order):
        raise ControlError("the order is (partly) invoiced; the customer can only return items now")
    if order.status in st.FINAL or order.status in (st.CANCEL, st.CANCELLATION_REQUESTED):
        raise ControlError(f"order in status {order.status} cannot receive a cancellation request")
    if order.status in st.PRE_HANDLING_PATH[:-1] or order.status in st.SIDE_STATUSES:
        order.cancel_reason = reason
        order.cancellation_data = {
            "RequestedByUser": True,
            "RequestedBySystem": False,
            "RequestedBySellerNotification": False,
            "RequestedByPaymentNotification": False,
            "Reason": reason,
            "CancellationDate": clock.now().isoformat(timespec="microseconds"),
        }
        order_status_set(order=order, status=st.CANCEL)
        order_status_set(order=order, status=st.CANCELED)
        return
    order.cancellation_requests = [
        *order.cancellation_requests,
        {
            "id": str(uuid.uuid4()),
            "reason": reason,
            "cancellationRequestDate": clock.now().isoformat(timespec="microseconds"),
            "requestedByUser": True,
            "deniedBySeller": False,
            "deniedBySellerReason": None,
            "cancellationRequestDenyDate": None,
            "previousStatus": order.status,
        },
    ]
    order_status_set(order=order, status=st.CANCELLATION_REQUESTED)
