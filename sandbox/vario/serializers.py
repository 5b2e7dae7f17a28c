"""The JSON shapes of reference/vario-erp.md §4.2: documents, lines, shipments, articles.

Conventions (reference §1.3): entity ids are strings, dates `YYYY-MM-DD`, timestamps ISO 8601 in
UTC; references look like {id, label, description, active}. Where the reference's example shows a
number (articleId, customerOrderLineRef ids, shipment documentId, deliveryMethodId) it stays a number.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from sandbox.vario.models import Article, Document, DocumentLine, Parcel, Shipment

STATE_LABELS = {
    "DRAFT": ("Entwurf", "EDITABLE"),
    "SAVED": ("Gespeichert", "SELECTABLE_TYPES"),
    "IN_PICKING": ("In Kommissionierung", "SELECTABLE_TYPES"),
    "PARTIALLY_DELIVERED": ("Teilgeliefert", "SELECTABLE_TYPES"),
    "DELIVERED": ("Geliefert", "SELECTABLE_TYPES"),
    "CLOSED": ("Erledigt (Rest geschlossen)", "SELECTABLE_TYPES"),
    "CANCELLED": ("Storniert", "SELECTABLE_TYPES"),
}


def number(value: Decimal | None) -> int | float | None:
    """A JSON number: integral quantities stay integers."""
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else float(value)


def day(value: date | None) -> str | None:
    return value.isoformat() if value else None


def timestamp(value: datetime | None) -> str | None:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


def ref(obj) -> dict | None:
    if obj is None:
        return None
    description = getattr(obj, "description", None)
    return {"id": str(obj.id), "label": obj.label, "description": description, "active": obj.active}


def document_state(key: str) -> dict:
    label, definition = STATE_LABELS.get(key, (key, "SELECTABLE_TYPES"))
    return {"key": key, "label": label, "definition": definition}


def line_ref(line: DocumentLine | None) -> dict | None:
    if line is None:
        return None
    source = line.document
    return {
        "documentId": source.id,
        "id": line.id,
        "number": source.number,
        "position": line.position,
        "articleNumber": line.number,
        "quantity": number(line.quantity),
        "category": source.document_type.category,
    }


def line_json(line: DocumentLine) -> dict:
    order_line_ref = line_ref(line.order_line)
    total = None if line.product_price is None else line.product_price * line.quantity
    return {
        "id": str(line.id),
        "position": line.position,
        "lineType": line.line_type,
        "articleId": line.article_id,
        "number": line.number,
        "name": line.name,
        "description": line.description,
        "quantity": number(line.quantity),
        "quantityCommitted": number(line.quantity_committed),
        "complete": line.complete,
        "productPrice": number(line.product_price),
        "totalLinePrice": number(total.quantize(Decimal("0.01")) if total is not None else None),
        "externalIdentifier": line.external_identifier,
        "shippingDate": day(line.shipping_date),
        "sourceLineRef": order_line_ref,
        "customerOrderLineRef": order_line_ref,
        "custom": line.custom,
    }


def totals(document: Document, lines: list[DocumentLine]) -> dict:
    """Totals with 19 % VAT; GROSS documents carry gross prices, NET ones net prices."""
    amount = sum((line.product_price * line.quantity for line in lines if line.product_price is not None), Decimal(0))
    rate = Decimal("1.19")
    if document.billing_type == "NET":
        net, gross = amount, amount * rate
    else:
        gross, net = amount, amount / rate
    cent = Decimal("0.01")
    net, gross = net.quantize(cent), gross.quantize(cent)
    return {"totalNetPrice": number(net), "totalGrossPrice": number(gross), "totalVat": number(gross - net)}


def document_json(document: Document) -> dict:
    doc_type = document.document_type
    lines = list(document.lines.select_related("order_line__document__document_type").all())
    return {
        "id": str(document.id),
        "version": str(document.version),
        "number": document.number,
        "documentType": doc_type.label,
        "documentTypeId": doc_type.id,
        "documentTypeCategory": doc_type.category,
        "documentState": document_state(document.state),
        "documentDate": day(document.document_date),
        "orderedOn": day(document.ordered_on),
        "shippingDate": day(document.shipping_date),
        "externalIdentifier": document.external_identifier,
        "externalNumber": document.external_number,
        "referencedOrderNumber": document.referenced_order_number,
        "salesChannelRef": ref(document.sales_channel),
        "accountId": document.account_id,
        "accountNumber": document.account.number,
        "deliveryMethodRef": ref(document.delivery_method),
        "paymentMethodRef": ref(document.payment_method),
        "billingType": document.billing_type,
        "currencyCode": "EUR",
        **totals(document, lines),
        "billingAddress": document.billing_address,
        "deliveryAddress": document.delivery_address,
        "lines": [line_json(line) for line in lines],
        "custom": document.custom,
        "info": {
            "createdAt": timestamp(document.created_at),
            "createdFrom": document.created_from,
            "updatedAt": timestamp(document.updated_at),
            "updatedFrom": document.updated_from,
        },
    }


def parcel_json(parcel: Parcel) -> dict:
    return {
        "id": str(parcel.id),
        "trackingNumber": parcel.tracking_number,
        "trackingUrl": parcel.tracking_url,
        "state": parcel.state,
        "weight": number(parcel.weight),
        "events": [dict(event) for event in parcel.events or []],
        "deliveredAt": timestamp(parcel.delivered_at),
    }


def shipment_json(shipment: Shipment) -> dict:
    carrier = shipment.carrier
    return {
        "id": str(shipment.id),
        "version": str(shipment.version),
        "documentId": shipment.document_id,
        "shippingDate": day(shipment.shipping_date),
        "deliveryMethodId": int(shipment.delivery_method_id) if shipment.delivery_method_id else None,
        "carrier": {"id": carrier.id, "key": carrier.key, "label": carrier.label},
        "carrierResponse": None,
        "parcels": [parcel_json(p) for p in shipment.parcels.all()],
        "info": {"createdAt": timestamp(shipment.created_at), "updatedAt": timestamp(shipment.updated_at)},
    }


def article_json(article: Article) -> dict:
    return {
        "id": str(article.id),
        "articleNumber": article.article_number,
        "ean": article.ean or None,
        "descriptions": [{"languageCode": "de", "description": article.name}],
        "active": article.active,
    }
