"""Frozen dataclasses at the client boundary. Clients return these, never raw JSON or models.

Each ``from_json`` reads the remote's field names (reference/vtex.md, reference/vario-erp.md §4)
and raises ``KeyError``/``ValueError``/``TypeError`` on a shape it cannot read; the client turns
that into a ``PayloadError``. Money is integer cents throughout.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


def _int(value: Any, default: int = 0) -> int:
    if value is None or value == "":
        return default
    return int(value)


def _str(value: Any) -> str:
    return "" if value is None else str(value)


def _datetime(value: Any) -> datetime:
    """An ISO 8601 timestamp as an aware datetime. VTEX writes them with an offset or ``Z`` and up to
    seven fraction digits (reference/vtex.md §0, "Date formats seen"); one without an offset is UTC."""
    if not isinstance(value, str) or not value:
        raise ValueError(f"not a timestamp: {value!r}")
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


# --- Calls (for the timeline) ----------------------------------------------------------------------


@dataclass(frozen=True)
class RemoteCall:
    """One HTTP exchange with a remote, redacted, as the order timeline shows it."""

    remote: str
    method: str
    path: str
    status: int | None
    duration_ms: float
    started_at: datetime
    request_excerpt: str = ""
    response_excerpt: str = ""
    error: str = ""


# --- VTEX ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VtexItem:
    index: int
    unique_id: str
    sku_id: str
    name: str
    quantity: int
    price: int
    selling_price: int
    ref_id: str = ""
    ean: str = ""

    @classmethod
    def from_json(cls, index: int, data: Mapping[str, Any]) -> VtexItem:
        price = _int(data.get("price"))
        return cls(
            index=index,
            unique_id=_str(data.get("uniqueId")),
            sku_id=_str(data["id"]),
            name=_str(data.get("name")),
            quantity=_int(data["quantity"]),
            price=price,
            selling_price=_int(data.get("sellingPrice"), default=price),
            ref_id=_str(data.get("refId")),
            ean=_str(data.get("ean")),
        )


@dataclass(frozen=True)
class VtexPackageItem:
    item_index: int | None
    quantity: int
    price: int

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> VtexPackageItem:
        index = data.get("itemIndex")
        return cls(
            item_index=None if index is None else int(index),
            quantity=_int(data.get("quantity")),
            price=_int(data.get("price")),
        )


@dataclass(frozen=True)
class VtexPackage:
    """An invoice on the order (``packageAttachment.packages[]``)."""

    type: str
    invoice_number: str
    invoice_value: int
    items: tuple[VtexPackageItem, ...]
    courier: str = ""
    tracking_number: str = ""
    tracking_url: str = ""
    issuance_date: str = ""
    delivered: bool = False
    tracking_events: int = 0
    # (city, state, description) of each tracking event VTEX shows, in its order: what it lacks is
    # told by content, since what its stored createDate holds is not specified.
    tracking_event_contents: tuple = ()

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> VtexPackage:
        courier_status = data.get("courierStatus") or {}
        return cls(
            type=_str(data.get("type") or "Output"),
            invoice_number=_str(data["invoiceNumber"]),
            invoice_value=_int(data.get("invoiceValue")),
            items=tuple(VtexPackageItem.from_json(i) for i in data.get("items") or []),
            courier=_str(data.get("courier")),
            tracking_number=_str(data.get("trackingNumber")),
            tracking_url=_str(data.get("trackingUrl")),
            issuance_date=_str(data.get("issuanceDate")),
            delivered=bool(courier_status.get("finished")),
            tracking_events=len(courier_status.get("data") or []),
            tracking_event_contents=tuple(
                (_str(e.get("city")), _str(e.get("state")), _str(e.get("description")))
                for e in courier_status.get("data") or []
            ),
        )


@dataclass(frozen=True)
class VtexAddress:
    receiver_name: str = ""
    street: str = ""
    number: str = ""
    complement: str = ""
    neighborhood: str = ""
    postal_code: str = ""
    city: str = ""
    state: str = ""
    country: str = ""

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> VtexAddress:
        data = data or {}
        return cls(
            receiver_name=_str(data.get("receiverName")),
            street=_str(data.get("street")),
            number=_str(data.get("number")),
            complement=_str(data.get("complement")),
            neighborhood=_str(data.get("neighborhood")),
            postal_code=_str(data.get("postalCode")),
            city=_str(data.get("city")),
            state=_str(data.get("state")),
            country=_str(data.get("country")),
        )


@dataclass(frozen=True)
class VtexClientProfile:
    email: str = ""
    first_name: str = ""
    last_name: str = ""
    phone: str = ""
    document: str = ""
    is_corporate: bool = False
    corporate_name: str = ""

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> VtexClientProfile:
        data = data or {}
        return cls(
            email=_str(data.get("email")),
            first_name=_str(data.get("firstName")),
            last_name=_str(data.get("lastName")),
            phone=_str(data.get("phone")),
            document=_str(data.get("document")),
            is_corporate=bool(data.get("isCorporate")),
            corporate_name=_str(data.get("corporateName")),
        )


@dataclass(frozen=True)
class VtexOrder:
    order_id: str
    status: str
    value: int
    items: tuple[VtexItem, ...]
    packages: tuple[VtexPackage, ...] = ()
    sequence: str = ""
    marketplace_order_id: str = ""
    sales_channel: str = ""
    origin: str = ""
    affiliate_id: str = ""
    creation_date: str = ""
    totals: Mapping[str, int] = field(default_factory=dict)
    client: VtexClientProfile = field(default_factory=VtexClientProfile)
    shipping_address: VtexAddress = field(default_factory=VtexAddress)
    delivery_companies: tuple[str, ...] = ()
    payment_systems: tuple[str, ...] = ()
    currency: str = ""
    seller_order_id: str = ""

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> VtexOrder:
        shipping = data.get("shippingData") or {}
        logistics = shipping.get("logisticsInfo") or []
        payments = [
            _str(p.get("paymentSystemName"))
            for t in (data.get("paymentData") or {}).get("transactions") or []
            for p in t.get("payments") or []
        ]
        return cls(
            order_id=_str(data["orderId"]),
            status=_str(data.get("status")),
            value=_int(data.get("value")),
            items=tuple(VtexItem.from_json(i, item) for i, item in enumerate(data.get("items") or [])),
            packages=tuple(
                VtexPackage.from_json(p) for p in (data.get("packageAttachment") or {}).get("packages") or []
            ),
            sequence=_str(data.get("sequence")),
            marketplace_order_id=_str(data.get("marketplaceOrderId")),
            sales_channel=_str(data.get("salesChannel")),
            origin=_str(data.get("origin")),
            affiliate_id=_str(data.get("affiliateId")),
            creation_date=_str(data.get("creationDate")),
            totals={_str(t.get("id")): _int(t.get("value")) for t in data.get("totals") or []},
            client=VtexClientProfile.from_json(data.get("clientProfileData")),
            shipping_address=VtexAddress.from_json(shipping.get("address")),
            delivery_companies=tuple(_str(li.get("deliveryCompany")) for li in logistics),
            payment_systems=tuple(payments),
            currency=_str((data.get("storePreferencesData") or {}).get("currencyCode")),
            seller_order_id=_str(data.get("sellerOrderId")),
        )

    @property
    def shipping_total(self) -> int:
        return self.totals.get("Shipping", 0)

    def invoices(self, type_: str = "Output") -> tuple[VtexPackage, ...]:
        return tuple(p for p in self.packages if p.type == type_)

    def invoice(self, number: str) -> VtexPackage | None:
        return next((p for p in self.packages if p.invoice_number == number), None)


@dataclass(frozen=True)
class VtexReceipt:
    order_id: str
    receipt: str
    date: str

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> VtexReceipt:
        data = data or {}
        return cls(order_id=_str(data.get("orderId")), receipt=_str(data.get("receipt")), date=_str(data.get("date")))


@dataclass(frozen=True)
class VtexOrderSummary:
    """One row of List orders (``list[]`` of ``GET /api/oms/pvt/orders``, OpenAPI schema ``List``).

    The row has no items (none since 2018, says the spec) and no lastChange: what a caller needs
    beyond these fields comes from Get order."""

    order_id: str
    status: str
    creation_date: datetime
    sales_channel: str = ""
    sequence: str = ""
    marketplace_order_id: str = ""
    affiliate_id: str = ""
    origin: str = ""
    total_value: int = 0
    total_items: int = 0
    currency_code: str = ""
    authorized_date: datetime | None = None
    workflow_in_error: bool = False

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> VtexOrderSummary:
        order_id = _str(data["orderId"])
        if not order_id:
            raise ValueError("a List orders row without orderId")
        authorized = data.get("authorizedDate")
        return cls(
            order_id=order_id,
            status=_str(data.get("status")),
            creation_date=_datetime(data["creationDate"]),
            sales_channel=_str(data.get("salesChannel")),
            sequence=_str(data.get("sequence")),
            marketplace_order_id=_str(data.get("marketPlaceOrderId")),
            affiliate_id=_str(data.get("affiliateId")),
            origin=_str(data.get("origin")),
            total_value=_int(data.get("totalValue")),
            total_items=_int(data.get("totalItems")),
            currency_code=_str(data.get("currencyCode")),
            authorized_date=_datetime(authorized) if authorized else None,
            workflow_in_error=bool(data.get("workflowInErrorState")),
        )


@dataclass(frozen=True)
class VtexOrderList:
    """One page of List orders: its rows and ``paging`` (total orders matching, pages, this page, size).

    ``total`` and ``pages`` count every matching order, also those beyond the 30 pages VTEX lets a
    caller read (OpenAPI ``Paging``: "Total number of orders"); ``vtex_orders_scan`` relies on it."""

    orders: tuple[VtexOrderSummary, ...]
    total: int
    pages: int
    page: int
    per_page: int

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> VtexOrderList:
        paging = data["paging"]
        rows = data.get("list") or []
        if not isinstance(rows, list):
            raise TypeError("List orders: list is not an array")
        values = {k: _int(paging[k]) for k in ("total", "pages", "currentPage", "perPage")}
        if min(values.values()) < 0:
            raise ValueError(f"List orders: negative paging {dict(paging)}")
        return cls(
            orders=tuple(VtexOrderSummary.from_json(row) for row in rows),
            total=values["total"],
            pages=values["pages"],
            page=values["currentPage"],
            per_page=values["perPage"],
        )


@dataclass(frozen=True)
class FeedItem:
    event_id: str
    handle: str
    domain: str
    state: str
    last_state: str
    order_id: str
    last_change: str
    current_change: str

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FeedItem:
        return cls(
            event_id=_str(data["eventId"]),
            handle=_str(data["handle"]),
            domain=_str(data.get("domain")),
            state=_str(data.get("state")),
            last_state=_str(data.get("lastState")),
            order_id=_str(data["orderId"]),
            last_change=_str(data.get("lastChange")),
            current_change=_str(data.get("currentChange")),
        )


@dataclass(frozen=True)
class FeedConfig:
    filter_type: str
    statuses: tuple[str, ...]
    expression: str
    visibility_timeout: int
    retention: int
    quantity: int = 0
    oldest_age_seconds: float = 0.0

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FeedConfig:
        filter_ = data.get("filter") or {}
        queue = data.get("queue") or {}
        retention = queue.get("messageRetentionPeriodInSeconds", queue.get("MessageRetentionPeriodInSeconds"))
        age = data.get("approximateAgeOfOldestMessageInSeconds", data.get("aproximateAgeOfOldestMessageInSeconds"))
        return cls(
            filter_type=_str(filter_.get("type") or "FromWorkflow"),
            statuses=tuple(filter_.get("status") or ()),
            expression=_str(filter_.get("expression")),
            visibility_timeout=_int(queue.get("visibilityTimeoutInSeconds")),
            retention=_int(retention),
            quantity=_int(data.get("quantity")),
            oldest_age_seconds=float(age or 0),
        )


@dataclass(frozen=True)
class ChannelOrderResult:
    """Channel Order API answer (sync) or notification (async): same contract."""

    marketplace_order_id: str
    code: str
    success: bool
    flow: str = ""
    message: str = ""
    errors: tuple[str, ...] = ()

    # EOI008/EOI009/EOI011: VTEX is not ready yet (not integrated, not approvable now, waiting for
    # manual authorisation); design §1 treats them as "retry later". EOI006 (internal error, "retry
    # later") and EOI010 (VTEX timed out) are transient too (reference/vtex.md §7). All are retried,
    # bounded like every wait, then shown as failed.
    NOT_YET_CODES = frozenset({"EOI006", "EOI008", "EOI009", "EOI010", "EOI011"})

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ChannelOrderResult:
        errors = tuple(f"{_str(e.get('code'))}: {_str(e.get('description'))}" for e in data.get("errors") or [] if e)
        return cls(
            marketplace_order_id=_str(data.get("marketplaceOrderId")),
            code=_str(data.get("code")),
            success=bool(data.get("success")),
            flow=_str(data.get("flow")),
            message=_str(data.get("message")),
            errors=errors,
        )

    @property
    def not_yet(self) -> bool:
        return self.code in self.NOT_YET_CODES


# --- VARIO ERP ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ErpLineRef:
    document_id: str
    line_id: str
    position: int | None = None
    document_number: str = ""  # the referenced document's number ("AU-10042"), when VARIO gives it

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> ErpLineRef | None:
        if not data or data.get("documentId") is None:
            return None
        position = data.get("position")
        return cls(
            document_id=_str(data["documentId"]),
            line_id=_str(data.get("id")),
            position=None if position is None else int(position),
            document_number=_str(data.get("number")),
        )


@dataclass(frozen=True)
class ErpLine:
    id: str
    position: int
    line_type: str
    article_number: str
    name: str
    quantity: float
    quantity_committed: float = 0
    complete: bool = False
    article_id: str = ""
    external_item_id: str = ""
    order_line: ErpLineRef | None = None
    cancelled_quantity: float = 0

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ErpLine:
        custom = (data.get("custom") or {}).get("vtexportal") or {}
        return cls(
            id=_str(data["id"]),
            position=_int(data.get("position")),
            line_type=_str(data.get("lineType") or "ARTICLE_LINE"),
            article_number=_str(data.get("number")),
            name=_str(data.get("name")),
            quantity=float(data.get("quantity") or 0),
            quantity_committed=float(data.get("quantityCommitted") or 0),
            complete=bool(data.get("complete")),
            article_id=_str(data.get("articleId")),
            external_item_id=_str(custom.get("externalItemId")),
            order_line=ErpLineRef.from_json(data.get("customerOrderLineRef")),
            cancelled_quantity=float(data.get("quantityCancelled") or custom.get("cancelledQuantity") or 0),
        )

    @property
    def is_article(self) -> bool:
        return self.line_type == "ARTICLE_LINE"


@dataclass(frozen=True)
class ErpDocument:
    id: str
    number: str
    category: str
    state_key: str
    lines: tuple[ErpLine, ...]
    document_date: str = ""
    shipping_date: str = ""
    external_identifier: str = ""
    external_number: str = ""
    referenced_order_number: str = ""
    sales_channel_id: str = ""
    delivery_method: str = ""
    custom: Mapping[str, Any] = field(default_factory=dict)
    version: str = ""

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ErpDocument:
        return cls(
            id=_str(data["id"]),
            number=_str(data.get("number")),
            category=_str(data.get("documentTypeCategory")),
            state_key=_str((data.get("documentState") or {}).get("key")),
            lines=tuple(ErpLine.from_json(line) for line in data.get("lines") or []),
            document_date=_str(data.get("documentDate")),
            shipping_date=_str(data.get("shippingDate")),
            external_identifier=_str(data.get("externalIdentifier")),
            external_number=_str(data.get("externalNumber")),
            referenced_order_number=_str(data.get("referencedOrderNumber")),
            sales_channel_id=_str((data.get("salesChannelRef") or {}).get("id")),
            delivery_method=_str((data.get("deliveryMethodRef") or {}).get("label")),
            custom=data.get("custom") or {},
            version=_str(data.get("version")),
        )

    @property
    def external_order_id(self) -> str:
        """The VTEX order id this ERP document belongs to (custom field first, then externalIdentifier)."""
        custom = (self.custom or {}).get("vtexportal") or {}
        return _str(custom.get("externalOrderId")) or self.external_identifier

    @property
    def article_lines(self) -> tuple[ErpLine, ...]:
        return tuple(line for line in self.lines if line.is_article)


@dataclass(frozen=True)
class ErpTrackingEvent:
    date: str  # YYYY-MM-DD
    city: str
    state: str
    description: str

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ErpTrackingEvent:
        return cls(
            date=_str(data.get("date"))[:10],
            city=_str(data.get("city")),
            state=_str(data.get("state")),
            description=_str(data.get("description")),
        )


@dataclass(frozen=True)
class ErpParcel:
    """A VDS parcel. Field names beyond id are the working model's (reference §4.2, "A")."""

    id: str
    tracking_number: str
    tracking_url: str = ""
    state: str = ""
    events: tuple[ErpTrackingEvent, ...] = ()
    delivered_at: str = ""  # ISO 8601 when the carrier reported delivery

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ErpParcel:
        return cls(
            id=_str(data["id"]),
            tracking_number=_str(data.get("trackingNumber")),
            tracking_url=_str(data.get("trackingUrl")),
            state=_str(data.get("state")),
            events=tuple(ErpTrackingEvent.from_json(e) for e in data.get("events") or []),
            delivered_at=_str(data.get("deliveredAt")),
        )


@dataclass(frozen=True)
class ErpShipment:
    id: str
    document_id: str
    carrier_key: str
    parcels: tuple[ErpParcel, ...]
    carrier_label: str = ""
    shipping_date: str = ""

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ErpShipment:
        carrier = data.get("carrier") or {}
        return cls(
            id=_str(data["id"]),
            document_id=_str(data["documentId"]),
            carrier_key=_str(carrier.get("key")),
            parcels=tuple(ErpParcel.from_json(p) for p in data.get("parcels") or []),
            carrier_label=_str(carrier.get("label")),
            shipping_date=_str(data.get("shippingDate")),
        )


@dataclass(frozen=True)
class QueryPage:
    rows: tuple[Mapping[str, Any], ...]
    more: bool
    next_offset: int | None
