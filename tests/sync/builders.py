"""Small builders for client DTOs, so transform tests read as the situation they describe."""

from __future__ import annotations

from sync.clients.dtos import (
    ErpDocument,
    ErpLine,
    ErpLineRef,
    ErpParcel,
    ErpShipment,
    VtexItem,
    VtexOrder,
    VtexPackage,
    VtexPackageItem,
)


def vtex_item(index: int, *, sku: str | None = None, quantity: int = 1, price: int = 1000) -> VtexItem:
    return VtexItem(
        index=index,
        unique_id=f"U{index}",
        sku_id=sku or str(100 + index),
        name=f"Item {index}",
        quantity=quantity,
        price=price,
        selling_price=price,
        ref_id=f"SKU-{index}",
    )


def vtex_order(items, *, status="handling", shipping=500, packages=(), order_id="1-01", value=None) -> VtexOrder:
    items = tuple(items)
    total = sum(i.selling_price * i.quantity for i in items) + shipping if value is None else value
    return VtexOrder(
        order_id=order_id,
        status=status,
        value=total,
        items=items,
        packages=tuple(packages),
        totals={"Items": total - shipping, "Shipping": shipping},
    )


def package(number: str, lines, *, value: int, type_: str = "Output", tracking: str = "") -> VtexPackage:
    return VtexPackage(
        type=type_,
        invoice_number=number,
        invoice_value=value,
        items=tuple(VtexPackageItem(item_index=i, quantity=q, price=p) for i, q, p in lines),
        tracking_number=tracking,
    )


def order_line(
    position: int,
    *,
    quantity: float = 1,
    committed: float = 0,
    complete: bool = False,
    cancelled: float = 0,
    external: str | None = None,
) -> ErpLine:
    return ErpLine(
        id=str(9000 + position),
        position=position,
        line_type="ARTICLE_LINE",
        article_number=f"SKU-{position - 1}",
        name=f"Line {position}",
        quantity=quantity,
        quantity_committed=committed,
        complete=complete,
        external_item_id=f"U{position - 1}" if external is None else external,
        cancelled_quantity=cancelled,
    )


def erp_order(lines, *, state="SAVED", number="AU-1", document_id="1042") -> ErpDocument:
    return ErpDocument(
        id=document_id,
        number=number,
        category="CUSTOMER_ORDER",
        state_key=state,
        lines=tuple(lines),
        external_identifier="1-01",
    )


def follow_up(
    document_id: str,
    number: str,
    quantities: dict[int, float],
    *,
    category="CUSTOMER_DELIVERY_DOCUMENT",
    date="2026-03-03",
    order_id="1042",
) -> ErpDocument:
    """A delivery note or goods return: {order line position: quantity}."""
    lines = tuple(
        ErpLine(
            id=f"{document_id}-{position}",
            position=n,
            line_type="ARTICLE_LINE",
            article_number=f"SKU-{position - 1}",
            name="",
            quantity=quantity,
            order_line=ErpLineRef(document_id=order_id, line_id=str(9000 + position), position=position),
        )
        for n, (position, quantity) in enumerate(sorted(quantities.items()), start=1)
    )
    return ErpDocument(
        id=document_id,
        number=number,
        category=category,
        state_key="SAVED",
        lines=lines,
        document_date=date,
        shipping_date=date,
    )


def shipment(note_id: str, carrier: str, tracking: str, shipment_id: str = "3301") -> ErpShipment:
    return ErpShipment(
        id=shipment_id,
        document_id=note_id,
        carrier_key=carrier,
        parcels=(ErpParcel(id="4401", tracking_number=tracking),),
    )
