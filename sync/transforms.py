"""Pure functions: what the ERP documents say, and the payloads both remotes take.

The ERP order's fulfilment state, VTEX-safe invoice numbers, ERP lines matched to VTEX items, the
bodies of VTEX's invoice and tracking calls, and the VARIO order a VTEX order is imported as. Nothing
here does I/O or reads the database, so every rule is table- and property-tested. What VTEX lacks,
and so which of these payloads go out, is the outbound plan's to say (``sync.plan``).
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from sync.clients.dtos import ErpDocument, ErpLine, VtexItem, VtexOrder

# --- ERP fulfilment state (reference/vario-erp.md §4.3) ------------------------------------------

CONFIRMED = "confirmed"
PARTIALLY_SHIPPED = "partially_shipped"
FULLY_SHIPPED = "fully_shipped"
CANCELLED = "cancelled"
RETURNED = "returned"

RETURN_CATEGORIES = frozenset({"CUSTOMER_GOODS_RETURN", "CUSTOMER_CREDIT_NOTE_WITH_STOCK"})


def erp_fulfilment_state_from(
    order: ErpDocument,
    *,
    cancelled_state_keys: Iterable[str],
    returns: Sequence[ErpDocument] = (),
    dissolved: bool = False,
) -> str:
    """The portal's reading of an ERP order, first match wins (reference §4.3)."""
    lines = order.article_lines
    delivered = any(line.quantity_committed > 0 for line in lines)
    if order.state_key in set(cancelled_state_keys) or (dissolved and not delivered):
        return CANCELLED
    if any(doc.category in RETURN_CATEGORIES for doc in returns):
        return RETURNED
    if lines and all(line.complete or line.quantity_committed >= line.quantity for line in lines):
        return FULLY_SHIPPED
    if delivered:
        return PARTIALLY_SHIPPED
    return CONFIRMED


# --- Invoice numbers (reference/vtex.md §10–11) ----------------------------------------------------

_UNSAFE = re.compile(r"[^A-Za-z0-9-]+")


def invoice_number_from(document_number: str) -> str:
    """A VTEX-safe invoice number for an ERP document number.

    VTEX breaks on spaces, '/', '#' and other specials in invoice numbers (known issues 409225,
    953285, 1302085), so anything outside [A-Za-z0-9-] becomes '-'. When that changed the number, a
    short digest of the original is appended, so two ERP numbers never collapse into one invoice.
    """
    cleaned = _UNSAFE.sub("-", document_number).strip("-")
    if cleaned == document_number and cleaned:
        return cleaned
    digest = hashlib.sha1(document_number.encode(), usedforsecurity=False).hexdigest()[:6]
    return f"{cleaned}-{digest}" if cleaned else f"DOC-{digest}"


def issuance_date_from(document_date: str, *, fallback: datetime) -> str:
    """VTEX wants date *and* time; ERP documents carry dates (YYYY-MM-DD). Noon UTC avoids day shifts."""
    try:
        day = date.fromisoformat(document_date[:10])
    except (TypeError, ValueError):
        return fallback.astimezone(UTC).isoformat(timespec="seconds")
    return datetime.combine(day, time(12, 0), tzinfo=UTC).isoformat(timespec="seconds")


# --- Matching ERP lines to VTEX items -------------------------------------------------------------


class UnmatchedLineError(ValueError):
    """An ERP line that no VTEX item corresponds to: a person has to look."""


def _order_line_of(line: ErpLine, order: ErpDocument) -> ErpLine | None:
    if line.order_line is not None:
        by_id = next((o for o in order.lines if o.id == line.order_line.line_id), None)
        if by_id is not None:
            return by_id
        if line.order_line.position is not None:
            return next((o for o in order.lines if o.position == line.order_line.position), None)
    if order.lines and any(o.id == line.id for o in order.lines):
        return next(o for o in order.lines if o.id == line.id)
    return None


def vtex_item_for_line(line: ErpLine, *, order: ErpDocument, vtex_order: VtexOrder) -> VtexItem:
    """The VTEX item an ERP line (order line or a follow-up document's line) stands for.

    By the VTEX line id stored at import (externalItemId = uniqueId) first, then by SKU / refId, and
    by position only when the order's article lines and the VTEX items line up one to one.
    """
    order_line = _order_line_of(line, order) or line
    for external in (line.external_item_id, order_line.external_item_id):
        if external:
            item = next((i for i in vtex_order.items if i.unique_id == external), None)
            if item is not None:
                return item
    article = order_line.article_number or line.article_number
    candidates = [i for i in vtex_order.items if article and article in (i.ref_id, i.sku_id)]
    if len(candidates) == 1:
        return candidates[0]
    order_article_lines = order.article_lines
    if len(order_article_lines) == len(vtex_order.items) and order_line in order_article_lines:
        return vtex_order.items[order_article_lines.index(order_line)]
    raise UnmatchedLineError(
        f"ERP line {line.position} ({article or 'no article number'}) matches no single VTEX item of "
        f"order {vtex_order.order_id}"
    )


def invoiced_quantities(vtex_order: VtexOrder, type_: str = "Output") -> dict[int, int]:
    """Quantity already invoiced per VTEX item index."""
    totals: dict[int, int] = defaultdict(int)
    for package in vtex_order.invoices(type_):
        for item in package.items:
            if item.item_index is not None:
                totals[item.item_index] += item.quantity
    return dict(totals)


# --- Payloads ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CarrierInfo:
    courier: str
    tracking_url_template: str
    integrated_with_vtex: bool = False

    def tracking_url(self, tracking_number: str) -> str:
        from urllib.parse import quote

        return self.tracking_url_template.replace("{tracking_number}", quote(tracking_number, safe=""))


@dataclass(frozen=True)
class InvoiceLine:
    item: VtexItem
    quantity: int

    def as_json(self) -> dict:
        return {"id": self.item.sku_id, "price": self.item.selling_price, "quantity": self.quantity}


def invoice_lines_from(
    document: ErpDocument, *, order: ErpDocument, vtex_order: VtexOrder, remaining: Mapping[int, int]
) -> tuple[list[InvoiceLine], list[str]]:
    """The VTEX items and quantities an ERP document (delivery note, goods return) stands for.

    Quantities are capped at what ``remaining`` allows per item index, so an invoice never claims
    more than was ordered whatever the ERP documents say; every cap is reported as a warning.
    """
    wanted: dict[int, int] = defaultdict(int)
    items: dict[int, VtexItem] = {}
    for line in document.article_lines:
        quantity = int(line.quantity)
        if quantity <= 0:
            continue
        item = vtex_item_for_line(line, order=order, vtex_order=vtex_order)
        wanted[item.index] += quantity
        items[item.index] = item
    lines, warnings = [], []
    for index in sorted(wanted):
        allowed = max(remaining.get(index, 0), 0)
        quantity = min(wanted[index], allowed)
        if quantity < wanted[index]:
            warnings.append(
                f"{document.number}: {wanted[index]} × SKU {items[index].sku_id} in the ERP, only {allowed} left to "
                "invoice in VTEX; invoicing "
                f"{quantity}"
            )
        if quantity > 0:
            lines.append(InvoiceLine(item=items[index], quantity=quantity))
    return lines, warnings


def vtex_invoice_from_lines(
    *,
    type_: str,
    number: str,
    issuance_date: str,
    value: int,
    lines: Sequence[InvoiceLine],
    courier: str = "",
    tracking_number: str = "",
    tracking_url: str = "",
    dispatched_date: str | None = None,
) -> dict:
    """The body of POST /api/oms/pvt/orders/{orderId}/invoice (reference/vtex.md §4)."""
    return {
        "type": type_,
        "issuanceDate": issuance_date,
        "invoiceNumber": number,
        "invoiceValue": str(value),
        "invoiceKey": None,
        "invoiceUrl": None,
        "embeddedInvoice": None,
        "courier": courier,
        "trackingNumber": tracking_number,
        "trackingUrl": tracking_url,
        "dispatchedDate": dispatched_date,
        "items": [line.as_json() for line in lines],
    }


# --- Tracking (reference/vtex.md §5.2, §8.3) ---------------------------------------------------------


def delivered_date_from(delivered_at: str) -> str | None:
    """VTEX's ``deliveredDate`` (``yyyy-mm-dd hh:mm``, §5.2) from the ERP's ISO 8601 value: the carrier's
    wall-clock time as reported (an offset is dropped, not converted); a bare date is midnight."""
    if not delivered_at:
        return None
    try:
        moment = datetime.fromisoformat(delivered_at.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.strftime("%Y-%m-%d %H:%M")


def tracking_event_content(event) -> tuple[str, str, str]:
    """An event's identity as VTEX stores it (the description as sent, cut at VTEX's 5000 characters)."""
    return (event.city, event.state, event.description[:5000])


def vtex_tracking_status_from(parcel, events=None) -> dict:
    """Body of PUT …/invoice/{n}/tracking from an ERP parcel: ``events`` (default: all the parcel's),
    dates as VTEX wants them (§5.2)."""
    delivered = delivered_date_from(parcel.delivered_at)
    return {
        "isDelivered": delivered is not None,
        "deliveredDate": delivered,
        "events": [
            {"city": e.city, "state": e.state, "description": e.description[:5000], "date": e.date}
            for e in (parcel.events if events is None else events)
        ],
    }


# --- The ERP ids an order's events named (OrderSync.erp_refs) ------------------------------------------

ERP_REFS_MAX = 100  # per kind: an order has a handful of delivery notes, returns and parcels


def erp_refs_with(refs: Mapping | None, **new_ids: str) -> dict:
    """``refs`` with the non-empty ids added to their lists, each id once, the newest kept."""
    merged = {kind: list(ids) for kind, ids in (refs or {}).items()}
    for kind, new_id in new_ids.items():
        if new_id and new_id not in merged.get(kind, []):
            merged[kind] = [*merged.get(kind, []), new_id][-ERP_REFS_MAX:]
    return merged


# --- Order import, VTEX → ERP (reference/vario-erp.md §4.6) -----------------------------------------

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")
_ALPHA3 = re.compile(r"^[A-Z]{3}$")
ERP_TEXT_MAX = 200  # VARIO's text fields (addresses, external ids) in the working model


class OrderImportError(ValueError):
    """The VTEX order cannot be expressed as an ERP order (a person must look at it)."""


@dataclass(frozen=True)
class ErpImportConfig:
    """What the channel says about imported orders (ids in VARIO)."""

    order_type_id: str
    account_id: str
    sales_channel_id: str = ""
    delivery_method_id: str = ""
    payment_method_id: str = ""


def article_keys_for(item: VtexItem) -> tuple[str, ...]:
    """The keys an ERP article may be known by, most specific first: refId, EAN, SKU id (no repeats)."""
    keys: list[str] = []
    for key in (item.ref_id, item.ean, item.sku_id):
        key = (key or "").strip()
        if key and key not in keys:
            keys.append(key)
    return tuple(keys)


def _euros(cents: int) -> float:
    # VARIO takes decimal amounts; cents / 100 rounded to 2 places is exact enough for JSON numbers.
    return round(int(cents) / 100, 2)


def _text(value: str) -> str:
    return (value or "").strip()[:ERP_TEXT_MAX]


def erp_address_from(order: VtexOrder) -> dict[str, str]:
    a, client = order.shipping_address, order.client
    full_name = " ".join(p for p in (client.first_name, client.last_name) if p)
    country = (a.country or "").strip().upper()
    if country and not _ALPHA3.match(country):
        raise OrderImportError(f"VTEX order {order.order_id}: country {a.country!r} is not an ISO 3166-1 alpha-3 code")
    address = {
        "name1": _text(a.receiver_name or full_name),
        "name2": _text(client.corporate_name) if client.is_corporate else "",
        "street": _text(a.street),
        "streetAddressNumber": _text(a.number),
        "additionalAddressLine1": _text(a.complement),
        "additionalAddressLine2": _text(a.neighborhood),
        "postcode": _text(a.postal_code),
        "city": _text(a.city),
        "countryCode": country,
        "phoneContact": _text(client.phone),
        "mailContact": _text(client.email),
    }
    # VARIO refuses nulls in addresses and an empty value says nothing: leave empty fields out.
    return {key: value for key, value in address.items() if value}


def erp_order_request_from_vtex_order(
    order: VtexOrder, *, article_ids: Mapping[int, str], config: ErpImportConfig
) -> dict:
    """The ``POST /erp/documents`` body (transition "create") for a VTEX order.

    ``article_ids`` maps each VTEX item index to its ERP article id; every item with a quantity must be
    in it (the caller parks the order otherwise). Unit prices are VTEX selling prices (discounts
    included), gross; freight becomes a shipping-cost line. Each line carries the VTEX ``uniqueId`` as
    its external id and ``custom.vtexportal.externalItemId``: that is how the outbound sync matches
    delivery notes to VTEX items later.
    """
    lines: list[dict] = []
    for item in order.items:
        if item.quantity <= 0:  # removed by an order modification
            continue
        if item.index not in article_ids:
            raise OrderImportError(f"VTEX item {item.index} (SKU {item.sku_id}) has no ERP article")
        line = {
            "lineType": "ARTICLE_LINE",
            "articleId": int(article_ids[item.index]),
            "quantity": item.quantity,
            "productPrice": _euros(item.selling_price),
            "name": (item.name or "").strip()[:300] or None,
            "externalId": _text(item.unique_id) or None,
            "custom": {"vtexportal": {"externalItemId": _text(item.unique_id)}} if item.unique_id else None,
        }
        lines.append({key: value for key, value in line.items() if value is not None})
    if not lines:
        raise OrderImportError(f"VTEX order {order.order_id} has no items to import")
    if order.shipping_total > 0:
        carrier = next((c for c in order.delivery_companies if c), "")
        lines.append(
            {
                "lineType": "SHIPPING_COST_LINE",
                "quantity": 1,
                "productPrice": _euros(order.shipping_total),
                "name": f"Versandkosten ({carrier})"[:300] if carrier else "Versandkosten",
            }
        )
    custom = {"externalOrderId": order.order_id}
    if order.marketplace_order_id:
        custom["marketplaceOrderId"] = _text(order.marketplace_order_id)
    address = erp_address_from(order)
    document: dict = {
        "accountId": config.account_id,
        "externalId": order.order_id,
        "externalNumber": _text(order.seller_order_id or order.sequence or order.order_id),
        "billingType": "GROSS",
        "lines": lines,
        "custom": {"vtexportal": custom},
    }
    if config.sales_channel_id:
        document["salesChannelId"] = config.sales_channel_id
    if config.delivery_method_id:
        document["deliveryMethodId"] = config.delivery_method_id
    if config.payment_method_id:
        document["paymentMethodId"] = config.payment_method_id
    if _ISO_DATE.match(order.creation_date or ""):
        document["documentDate"] = order.creation_date[
            :10
        ]  # a RequestDocument field (§1.5, §4.6); orderedOn is read-only
    if address:
        document["deliveryAddress"] = address
        document["billingAddress"] = address
    return {"transitionId": "create", "targetTypeId": int(config.order_type_id), "parameters": [], "document": document}
