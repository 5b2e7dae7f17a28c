"""What happens in the simulated ERP: orders created, delivered, cancelled, closed, returned.

Each service validates like the ERP would, changes the documents in one transaction, and fires the
webhooks the change triggers (queued as deliveries in the same transaction, so a refused change
fires nothing). Rejections carry the HTTP status the API answers with.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.db.models import F, Max, Sum

from sandbox import clock
from sandbox.http import object_id
from sandbox.settings_store import setting_get
from sandbox.vario.models import (
    Account,
    Article,
    Carrier,
    DeliveryMethod,
    Document,
    DocumentCategory,
    DocumentLine,
    DocumentType,
    Parcel,
    PaymentMethod,
    SalesChannel,
    Shipment,
)
from sandbox.vario.seed import DELIVERY_TYPE_ID, GOODS_RETURN_TYPE_ID
from sandbox.vario.webhooks import document_event_fire, parcel_event_fire

DB = "sandbox"
COPY_EXTERNAL_IDS_SETTING = "vario.copy_external_ids"
ZERO = Decimal(0)

# The EAV group the portal's install migration creates (reference §4.2); the simulator treats it as installed.
EAV_GROUPS = {
    "vtexportal": {"document": {"externalOrderId", "marketplaceOrderId"}, "documentLine": {"externalItemId"}},
}
REQUEST_FIELDS = {"transitionId", "targetTypeId", "parameters", "document"}
DOCUMENT_FIELDS = {
    "accountId",
    "salesChannelId",
    "externalId",
    "externalNumber",
    "documentDate",
    "orderedOn",
    "shippingDate",
    "billingType",
    "deliveryMethodId",
    "paymentMethodId",
    "paymentTermId",
    "currencyId",
    "calculationMode",
    "custom",
    "priceModifiers",
    "lines",
    "billingAddress",
    "deliveryAddress",
}
LINE_FIELDS = {
    "articleId",
    "quantity",
    "productPrice",
    "totalLinePrice",
    "name",
    "description",
    "lineType",
    "externalId",
    "sourceLineId",
    "refLineId",
    "storageId",
    "texts",
    "priceModifiers",
    "custom",
}
ADDRESS_FIELDS = {
    "name1",
    "name2",
    "name3",
    "street",
    "streetAddressNumber",
    "additionalAddressLine1",
    "additionalAddressLine2",
    "postcode",
    "city",
    "countryCode",
    "phoneContact",
    "mailContact",
    "salutation",
}
LINE_TYPES = {"ARTICLE_LINE", "TEXT_LINE", "SHIPPING_COST_LINE"}
OPEN_ORDER_STATES = {"SAVED", "IN_PICKING", "PARTIALLY_DELIVERED"}


class Rejected(Exception):
    """The ERP refuses the request: ``status`` is the HTTP answer, ``message`` says why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


# --- field validation -----------------------------------------------------------------------------


def _unknown_fields(data: dict, allowed: set[str], where: str) -> None:
    unknown = set(data) - allowed
    if unknown:
        raise Rejected(400, f"Unrecognized field(s) in {where}: {', '.join(sorted(unknown))}")


def _object(value, name: str) -> dict:
    if not isinstance(value, dict):
        raise Rejected(400, f"{name} must be a JSON object")
    return value


def _id(value, name: str) -> str | None:
    if value is None:
        return None
    number = object_id(value.strip() if isinstance(value, str) else value)
    if number is None:
        raise Rejected(400, f"{name} must be an id (a number or a string of digits), got {value!r}")
    return str(number)


def _text(value, name: str, *, max_length: int = 200) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise Rejected(400, f"{name} must be a string, got {value!r}")
    if len(value) > max_length:
        raise Rejected(400, f"{name} is longer than {max_length} characters")
    return value


def _date(value, name: str) -> date | None:
    if value is None:
        return None
    try:
        if not isinstance(value, str) or len(value) != 10:
            raise ValueError
        return date.fromisoformat(value)
    except ValueError:
        raise Rejected(400, f"{name} must be a date YYYY-MM-DD, got {value!r}") from None


def _decimal(value, name: str, *, positive: bool = False) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise Rejected(400, f"{name} must be a number, got {value!r}")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise Rejected(400, f"{name} must be a number, got {value!r}") from None
    if not number.is_finite() or number < 0 or (positive and number == 0):
        raise Rejected(400, f"{name} must be {'greater than 0' if positive else 'at least 0'}, got {value!r}")
    return number


def _address(value, name: str) -> dict | None:
    if value is None:
        return None
    address = _object(value, name)
    _unknown_fields(address, ADDRESS_FIELDS, name)
    for key, item in address.items():
        _text(item, f"{name}.{key}")
    country = address.get("countryCode")
    if country is not None and not (len(country) == 3 and country.isalpha() and country.isupper()):
        raise Rejected(400, f"{name}.countryCode must be an ISO 3166-1 alpha-3 code such as DEU, got {country!r}")
    return dict(address)


def _custom(value, entity: str, name: str) -> dict:
    if value is None:
        return {}
    custom = _object(value, name)
    for group, attributes in custom.items():
        known = EAV_GROUPS.get(group, {}).get(entity)
        if known is None:
            raise Rejected(422, f"Custom field group {group!r} does not exist for entity {entity}")
        _object(attributes, f"{name}.{group}")
        for attribute, item in attributes.items():
            if attribute not in known:
                raise Rejected(422, f"Custom field {name}.{group}.{attribute} does not exist")
            _text(item, f"{name}.{group}.{attribute}", max_length=1000)
    return {group: dict(attributes) for group, attributes in custom.items()}


def _lookup(model, pk: str | None, name: str, *, required: bool = False, known: dict | None = None):
    """``model`` ``pk``, which must exist and be active; ``known``: rows a bulk request already read."""
    if pk is None:
        if required:
            raise Rejected(400, f"{name} is required")
        return None
    if known is not None and (model, pk) in known:
        obj = known[(model, pk)]
    else:
        obj = model.objects.filter(pk=pk).first()
        if known is not None:
            known[(model, pk)] = obj
    if obj is None:
        raise Rejected(422, f"{name} {pk} does not exist")
    if getattr(obj, "active", True) is False:
        raise Rejected(422, f"{name} {pk} is not active")
    return obj


# --- helpers --------------------------------------------------------------------------------------

# Each kind of id starts in its own range (as in the reference's examples: order 1042, line 9001,
# shipment 3301, parcel 4401), so a client that mixes up a shipment id and a document id fails in
# tests instead of hitting a document that happens to share the number.
ID_BASES = {Document: 1000, DocumentLine: 9_000_000, Shipment: 330_000, Parcel: 440_000}


def _new_id(model) -> int:
    """The next id of ``model``; callers are inside a write transaction (BEGIN IMMEDIATE on SQLite)."""
    return (model.objects.aggregate(top=Max("id"))["top"] or ID_BASES[model]) + 1


def document_number_next(*, document_type: DocumentType) -> str:
    DocumentType.objects.filter(pk=document_type.pk).update(next_number=F("next_number") + 1)
    document_type.refresh_from_db(fields=["next_number"])
    return f"{document_type.number_prefix}{document_type.next_number - 1}"


def _touch(document: Document, *, by: str) -> None:
    document.version += 1
    document.updated_at = clock.now()
    document.updated_from = by
    document.save()


def _order(order_id, *, lock: bool = True) -> Document:
    query = Document.objects.select_related("document_type")
    if lock:
        query = query.select_for_update()
    pk = object_id(order_id)
    order = None if pk is None else query.filter(pk=pk).first()
    if order is None or order.category != DocumentCategory.CUSTOMER_ORDER:
        raise Rejected(404, f"Customer order {order_id} does not exist")
    return order


def order_get(*, order_id) -> Document:
    return _order(order_id, lock=False)


def _article_lines(document: Document) -> list[DocumentLine]:
    return list(document.lines.filter(line_type="ARTICLE_LINE").select_related("article"))


def _requested(document: Document, spec, available, what: str) -> list[tuple[DocumentLine, Decimal]]:
    """Lines and quantities from [{"orderLineId", "quantity"}]; None means every line's available quantity."""
    lines = {str(line.id): line for line in _article_lines(document)}
    if spec is None:
        wanted = [(line, available(line)) for line in lines.values()]
        return [(line, qty) for line, qty in wanted if qty > 0]
    if not isinstance(spec, list) or not spec:
        raise Rejected(400, "lines must be a non-empty list of {orderLineId, quantity}")
    totals: dict[str, Decimal] = {}
    for index, item in enumerate(spec):
        _object(item, f"lines[{index}]")
        _unknown_fields(item, {"orderLineId", "quantity"}, f"lines[{index}]")
        line_id = _id(item.get("orderLineId"), f"lines[{index}].orderLineId")
        if line_id not in lines:
            given = item.get("orderLineId")
            raise Rejected(400, f"lines[{index}].orderLineId {given!r} is no article line of {document.number}")
        quantity = _decimal(item.get("quantity"), f"lines[{index}].quantity", positive=True)
        totals[line_id] = totals.get(line_id, ZERO) + quantity
    for line_id, qty in totals.items():
        line = lines[line_id]
        if qty > available(line):
            raise Rejected(
                400,
                f"Cannot {what} {qty.normalize()} of line {line.position} ({line.number}) of {document.number}: "
                f"only {available(line).normalize()} open",
            )
    return [(lines[line_id], qty) for line_id, qty in totals.items()]


def _order_state_refresh(order: Document) -> None:
    lines = _article_lines(order)
    delivered = any(line.quantity_committed > 0 for line in lines)
    if delivered and all(line.complete for line in lines):
        order.state = "DELIVERED"
    elif delivered:
        order.state = "PARTIALLY_DELIVERED"


def _follow_up(order: Document, *, type_id: int, by: str) -> Document:
    """A delivery note or goods return derived from the order (head data copied, as a transfer does)."""
    document_type = DocumentType.objects.get(pk=type_id)
    now = clock.now()
    copy_ids = setting_get(key=COPY_EXTERNAL_IDS_SETTING, default=True)
    portal = order.custom.get("vtexportal") if isinstance(order.custom, dict) else None
    return Document.objects.create(
        id=_new_id(Document),
        document_type=document_type,
        number=document_number_next(document_type=document_type),
        state="SAVED",
        document_date=now.date(),
        ordered_on=order.ordered_on,
        shipping_date=now.date() if type_id == DELIVERY_TYPE_ID else None,
        external_identifier=order.external_identifier if copy_ids else None,
        external_number=order.external_number if copy_ids else None,
        referenced_order_number=order.number,
        order=order,
        sales_channel=order.sales_channel,
        account=order.account,
        delivery_method=order.delivery_method,
        payment_method=order.payment_method,
        billing_type=order.billing_type,
        billing_address=order.billing_address,
        delivery_address=order.delivery_address,
        custom={"vtexportal": dict(portal)} if copy_ids and portal else {},
        created_at=now,
        created_from=by,
        updated_at=now,
        updated_from=by,
    )


def _follow_up_line(document: Document, order_line: DocumentLine, position: int, quantity: Decimal) -> DocumentLine:
    copy_ids = setting_get(key=COPY_EXTERNAL_IDS_SETTING, default=True)
    custom = order_line.custom if copy_ids and isinstance(order_line.custom, dict) else {}
    return DocumentLine.objects.create(
        id=_new_id(DocumentLine),
        document=document,
        position=position,
        line_type="ARTICLE_LINE",
        article=order_line.article,
        number=order_line.number,
        name=order_line.name,
        description=order_line.description,
        quantity=quantity,
        product_price=order_line.product_price,
        external_identifier=order_line.external_identifier if copy_ids else None,
        order_line=order_line,
        shipping_date=document.shipping_date,
        custom=dict(custom),
    )


def _carrier(key, name: str = "carrier") -> Carrier | None:
    if key is None:
        return None
    carrier = Carrier.objects.filter(key=key).first() if isinstance(key, str) else None
    if carrier is None:
        known = ", ".join(Carrier.objects.values_list("key", flat=True))
        raise Rejected(400, f"{name} {key!r} is not a known carrier key ({known})")
    return carrier


# --- orders ---------------------------------------------------------------------------------------


def _line_build(index: int, item, document: Document, position: int, *, known: dict | None = None) -> DocumentLine:
    name = f"document.lines[{index}]"
    data = _object(item, name)
    _unknown_fields(data, LINE_FIELDS, name)
    line_type = data.get("lineType") or "ARTICLE_LINE"
    if line_type not in LINE_TYPES:
        known = ", ".join(sorted(LINE_TYPES))
        raise Rejected(400, f"unsupported in simulator: {name}.lineType {line_type!r} ({known})")
    line = DocumentLine(
        document=document,
        position=position,
        line_type=line_type,
        name=_text(data.get("name"), f"{name}.name", max_length=300) or "",
        description=_text(data.get("description"), f"{name}.description", max_length=4000),
        external_identifier=_text(data.get("externalId"), f"{name}.externalId"),
        custom=_custom(data.get("custom"), "documentLine", f"{name}.custom"),
    )
    price = data.get("productPrice")
    line.product_price = None if price is None else _decimal(price, f"{name}.productPrice")
    if line_type == "ARTICLE_LINE":
        article_id = _id(data.get("articleId"), f"{name}.articleId")
        if article_id is None:
            raise Rejected(400, f"{name}.articleId is required for an ARTICLE_LINE")
        if known is not None and (Article, article_id) in known:
            article = known[(Article, article_id)]
        else:
            article = Article.objects.filter(pk=article_id).first()
            if known is not None:
                known[(Article, article_id)] = article
        if article is None:
            raise Rejected(422, f"Article with id {article_id} does not exist ({name})")
        if not article.active:
            raise Rejected(422, f"Article {article_id} ({article.article_number}) is not active ({name})")
        line.article = article
        line.number = article.article_number
        line.name = line.name or article.name
        line.quantity = _decimal(data.get("quantity"), f"{name}.quantity", positive=True)
        if line.product_price is None:
            line.product_price = article.price
    elif line_type == "SHIPPING_COST_LINE":
        if line.product_price is None:
            raise Rejected(400, f"{name}.productPrice is required for a SHIPPING_COST_LINE")
        quantity = data.get("quantity")
        line.quantity = Decimal(1) if quantity is None else _decimal(quantity, f"{name}.quantity", positive=True)
        line.name = line.name or "Versandkosten"
    else:
        if not line.name and not line.description:
            raise Rejected(400, f"{name} is a TEXT_LINE without name or description")
        if data.get("articleId") is not None or data.get("quantity") is not None:
            raise Rejected(400, f"{name} is a TEXT_LINE; it takes no articleId or quantity")
    return line


def _order_build(*, data, document_type: DocumentType, state: str, by: str) -> Document:
    document, built = _order_unsaved(data=data, document_type=document_type, state=state, by=by)
    document.id = _new_id(Document)
    document.number = document_number_next(document_type=document_type)
    document.save(force_insert=True)
    for line in built:
        line.document = document
        line.id = _new_id(DocumentLine)
        line.save(force_insert=True)
    return document


def _order_unsaved(
    *, data, document_type: DocumentType, state: str, by: str, known: dict | None = None
) -> tuple[Document, list[DocumentLine]]:
    """An order and its lines, checked as the API checks them, without ids and number: not saved."""
    document_data = _object(data, "document")
    _unknown_fields(document_data, DOCUMENT_FIELDS, "document")
    account = _lookup(
        Account, _id(document_data.get("accountId"), "document.accountId"), "Account", required=True, known=known
    )
    channel = _lookup(
        SalesChannel, _id(document_data.get("salesChannelId"), "document.salesChannelId"), "Sales channel", known=known
    )
    method = _lookup(
        DeliveryMethod,
        _id(document_data.get("deliveryMethodId"), "document.deliveryMethodId"),
        "Delivery method",
        known=known,
    )
    payment = _lookup(
        PaymentMethod,
        _id(document_data.get("paymentMethodId"), "document.paymentMethodId"),
        "Payment method",
        known=known,
    )
    billing_type = document_data.get("billingType") or "GROSS"
    if billing_type not in ("GROSS", "NET"):
        raise Rejected(400, f"document.billingType must be GROSS or NET, got {billing_type!r}")
    if document_data.get("priceModifiers"):
        raise Rejected(400, "unsupported in simulator: document.priceModifiers")
    lines = document_data.get("lines")
    if not isinstance(lines, list) or not lines:
        raise Rejected(400, "document.lines must be a non-empty list")
    now = clock.now()
    document_date = _date(document_data.get("documentDate"), "document.documentDate") or now.date()
    document = Document(
        document_type=document_type,
        state=state,
        document_date=document_date,
        ordered_on=_date(document_data.get("orderedOn"), "document.orderedOn") or document_date,
        shipping_date=_date(document_data.get("shippingDate"), "document.shippingDate"),
        external_identifier=_text(document_data.get("externalId"), "document.externalId"),
        external_number=_text(document_data.get("externalNumber"), "document.externalNumber"),
        sales_channel=channel,
        account=account,
        delivery_method=method,
        payment_method=payment,
        billing_type=billing_type,
        billing_address=_address(document_data.get("billingAddress"), "document.billingAddress"),
        delivery_address=_address(document_data.get("deliveryAddress"), "document.deliveryAddress"),
        custom=_custom(document_data.get("custom"), "document", "document.custom"),
        created_at=now,
        created_from=by,
        updated_at=now,
        updated_from=by,
    )
    built = [_line_build(i, item, document, i + 1, known=known) for i, item in enumerate(lines)]
    if not any(line.line_type == "ARTICLE_LINE" for line in built):
        raise Rejected(400, "document.lines must contain at least one ARTICLE_LINE")
    return document, built


def order_create(*, body, by: str, skip_app: str | None = None) -> Document:
    """POST /erp/documents: transition "create" (SAVED) or "create_draft" (DRAFT) into a customer order type."""
    data = _object(body, "The request body")
    _unknown_fields(data, REQUEST_FIELDS, "the request")
    transition = data.get("transitionId")
    if not isinstance(transition, str) or not transition:
        raise Rejected(400, "transitionId is required")
    if transition not in ("create", "create_draft"):
        raise Rejected(400, f"unsupported in simulator: transitionId {transition!r} (create, create_draft)")
    type_id = _id(data.get("targetTypeId"), "targetTypeId")
    if type_id is None:
        raise Rejected(400, f"targetTypeId is required for transition {transition}")
    document_type = DocumentType.objects.filter(pk=type_id).first()
    if document_type is None:
        raise Rejected(422, f"Document type {type_id} does not exist")
    if document_type.category != DocumentCategory.CUSTOMER_ORDER:
        raise Rejected(
            422,
            f"Document type {type_id} ({document_type.label}, {document_type.category}) cannot be created with "
            f"transition {transition}; it is created from its predecessor document",
        )
    parameters = data.get("parameters", [])
    if not isinstance(parameters, list) or any(not isinstance(p, dict) or "key" not in p for p in parameters):
        raise Rejected(400, "parameters must be a list of {key, value}")
    if "document" not in data:
        raise Rejected(400, "document is required")
    with transaction.atomic(using=DB):
        state = "SAVED" if transition == "create" else "DRAFT"
        order = _order_build(data=data["document"], document_type=document_type, state=state, by=by)
        document_event_fire(
            category=document_type.category, transition=transition, document_id=order.id, skip_app=skip_app
        )
    return order


def order_create_simulated(*, data) -> Document:
    """POST /_sim/vario/orders: an order entered in the ERP (by article number), e.g. a phone order."""
    return order_create(body=_simulated_request(data), by="sandbox")


def _simulated_request(data, *, known: dict | None = None) -> dict:
    """The API request (POST /erp/documents) a body of POST /_sim/vario/orders stands for."""
    data = _object(data, "The request body")
    _unknown_fields(
        data,
        {
            "lines",
            "externalIdentifier",
            "externalNumber",
            "externalOrderId",
            "marketplaceOrderId",
            "salesChannelId",
            "accountId",
            "deliveryMethodId",
            "paymentMethodId",
            "deliveryAddress",
            "billingAddress",
            "documentDate",
            "draft",
        },
        "the request",
    )
    lines = data.get("lines")
    if not isinstance(lines, list) or not lines:
        raise Rejected(400, "lines must be a non-empty list of {articleNumber, quantity}")
    request_lines = []
    for index, item in enumerate(lines):
        _object(item, f"lines[{index}]")
        _unknown_fields(item, {"articleNumber", "quantity", "price", "externalItemId", "name"}, f"lines[{index}]")
        number_key = ("article_number", str(item.get("articleNumber")))
        if known is not None and number_key in known:
            article = known[number_key]
        else:
            article = Article.objects.filter(article_number=item.get("articleNumber")).first()
            if known is not None:
                known[number_key] = article
        if article is None:
            raise Rejected(422, f"Article number {item.get('articleNumber')!r} does not exist (lines[{index}])")
        line = {"articleId": article.id, "quantity": item.get("quantity", 1)}
        if item.get("price") is not None:
            line["productPrice"] = item["price"]
        if item.get("name") is not None:
            line["name"] = item["name"]
        if item.get("externalItemId") is not None:
            line["externalId"] = item["externalItemId"]
            line["custom"] = {"vtexportal": {"externalItemId": item["externalItemId"]}}
        request_lines.append(line)
    portal = {key: data[key] for key in ("externalOrderId", "marketplaceOrderId") if data.get(key) is not None}
    document = {
        "accountId": data.get("accountId", "501"),
        "salesChannelId": data.get("salesChannelId", "7"),
        "deliveryMethodId": data.get("deliveryMethodId", "3"),
        "paymentMethodId": data.get("paymentMethodId", "2"),
        "externalId": data.get("externalIdentifier"),
        "externalNumber": data.get("externalNumber"),
        "documentDate": data.get("documentDate"),
        "deliveryAddress": data.get(
            "deliveryAddress",
            {
                "name1": "Erika Muster",
                "street": "Hauptstr.",
                "streetAddressNumber": "1",
                "postcode": "10115",
                "city": "Berlin",
                "countryCode": "DEU",
            },
        ),
        "billingAddress": data.get("billingAddress"),
        "custom": {"vtexportal": portal} if portal else None,
        "lines": request_lines,
    }
    return {"transitionId": "create_draft" if data.get("draft") else "create", "targetTypeId": 12, "document": document}


BULK_MAX_ORDERS = 100_000
BULK_BATCH = 500


def orders_bulk_create(*, data) -> list[Document]:
    """Control API (POST /_sim/vario/orders/bulk): many ERP orders at once, as if their webhooks were lost.

    1. The bodies: ``orders``, a list of 1 to BULK_MAX_ORDERS bodies of POST /_sim/vario/orders.
    2. Each is checked and built as that route builds it (``_simulated_request``, ``_order_unsaved``);
       master data and articles are read once per request, not once per order.
    3. Ids and numbers are taken in one go; documents and lines are inserted in batches, all in one
       transaction (a refused body creates nothing). No webhook fires.
    """
    data = _object(data, "The request body")
    _unknown_fields(data, {"orders"}, "the request")
    bodies = data.get("orders")
    if not isinstance(bodies, list) or not 1 <= len(bodies) <= BULK_MAX_ORDERS:
        raise Rejected(400, f"orders must be a list of 1 to {BULK_MAX_ORDERS} order objects")
    known: dict = {}
    built: list[tuple[Document, list[DocumentLine]]] = []
    with transaction.atomic(using=DB):
        document_type = DocumentType.objects.get(pk=12)
        for n, body in enumerate(bodies):  # 2.
            try:
                request = _simulated_request(body, known=known)
                state = "SAVED" if request["transitionId"] == "create" else "DRAFT"
                built.append(
                    _order_unsaved(
                        data=request["document"], document_type=document_type, state=state, by="sandbox", known=known
                    )
                )
            except Rejected as exc:
                raise Rejected(exc.status, f"orders[{n}]: {exc.message}") from None
        document_id, line_id = _new_id(Document), _new_id(DocumentLine)  # 3.
        DocumentType.objects.filter(pk=document_type.pk).update(next_number=F("next_number") + len(built))
        document_type.refresh_from_db(fields=["next_number"])
        first_number = document_type.next_number - len(built)
        documents: list[Document] = []
        lines: list[DocumentLine] = []
        for n, (document, document_lines) in enumerate(built):
            document.id, document.number = document_id + n, f"{document_type.number_prefix}{first_number + n}"
            documents.append(document)
            for line in document_lines:
                line.document, line.id = document, line_id
                line_id += 1
                lines.append(line)
        Document.objects.using(DB).bulk_create(documents, batch_size=BULK_BATCH)
        DocumentLine.objects.using(DB).bulk_create(lines, batch_size=BULK_BATCH)
    return documents


def order_picking_start(*, order_id) -> Document:
    with transaction.atomic(using=DB):
        order = _order(order_id)
        if order.state != "SAVED":
            raise Rejected(409, f"Order {order.number} is {order.state}; picking starts only from SAVED")
        order.state = "IN_PICKING"
        _touch(order, by="sandbox")
        document_event_fire(category=order.category, transition="order_in_picking", document_id=order.id)
    return order


def order_deliver(
    *, order_id, lines=None, carrier_key=None, tracking_number=None, tracking_url=None
) -> tuple[Document, Parcel | None]:
    """Transfer (part of) an order into a delivery note; with a tracking number also ship a parcel."""
    tracking_number = _text(tracking_number, "trackingNumber", max_length=100)
    tracking_url = _text(tracking_url, "trackingUrl", max_length=500)
    carrier = _carrier(carrier_key)
    with transaction.atomic(using=DB):
        order = _order(order_id)
        if order.state not in OPEN_ORDER_STATES:
            raise Rejected(409, f"Order {order.number} is {order.state}; nothing can be delivered from it")
        wanted = _requested(order, lines, lambda line: line.quantity - line.quantity_committed, "deliver")
        if not wanted:
            raise Rejected(409, f"Order {order.number} has no open quantity left to deliver")
        if tracking_number and carrier is None:
            carrier = order.delivery_method.carrier if order.delivery_method else None
            if carrier is None:
                raise Rejected(400, "carrier is required with a trackingNumber (the order's delivery method has none)")
        delivery = _follow_up(order, type_id=DELIVERY_TYPE_ID, by="sandbox")
        for position, (line, quantity) in enumerate(wanted, start=1):
            _follow_up_line(delivery, line, position, quantity)
            line.quantity_committed += quantity
            line.complete = line.quantity_committed >= line.quantity
            line.save()
        _order_state_refresh(order)
        _touch(order, by="sandbox")
        document_event_fire(category=order.category, transition="order_to_delivery", document_id=order.id)
        document_event_fire(
            category=DocumentCategory.CUSTOMER_DELIVERY_DOCUMENT,
            transition="order_to_delivery",
            document_id=delivery.id,
        )
        parcel = None
        if tracking_number:
            parcel = _parcel_create(
                delivery, carrier=carrier, tracking_number=tracking_number, tracking_url=tracking_url
            )
    return delivery, parcel


def _parcel_create(delivery: Document, *, carrier: Carrier, tracking_number: str, tracking_url: str | None) -> Parcel:
    now = clock.now()
    shipment = delivery.shipments.filter(carrier=carrier).first()
    if shipment is None:
        shipment = Shipment.objects.create(
            id=_new_id(Shipment),
            document=delivery,
            carrier=carrier,
            delivery_method=delivery.delivery_method,
            shipping_date=now.date(),
            created_at=now,
            updated_at=now,
        )
    else:
        shipment.version += 1
        shipment.updated_at = now
        shipment.save()
    parcel = Parcel.objects.create(
        id=_new_id(Parcel),
        shipment=shipment,
        tracking_number=tracking_number,
        tracking_url=tracking_url,
        state="COMPLETED",
    )
    parcel_event_fire(shipment_id=shipment.id, parcel_id=parcel.id)
    return parcel


def parcel_add(*, delivery_id, carrier_key=None, tracking_number=None, tracking_url=None) -> Parcel:
    """Late tracking: a parcel (in the delivery note's shipment for that carrier, or a new shipment)."""
    tracking_number = _text(tracking_number, "trackingNumber", max_length=100)
    if not tracking_number:
        raise Rejected(400, "trackingNumber is required")
    tracking_url = _text(tracking_url, "trackingUrl", max_length=500)
    carrier = _carrier(carrier_key)
    with transaction.atomic(using=DB):
        delivery = (
            Document.objects.select_related("document_type", "delivery_method__carrier")
            .filter(pk=object_id(delivery_id))
            .first()
        )
        if delivery is None or delivery.category != DocumentCategory.CUSTOMER_DELIVERY_DOCUMENT:
            raise Rejected(404, f"Delivery note {delivery_id} does not exist")
        if carrier is None:
            carrier = delivery.delivery_method.carrier if delivery.delivery_method else None
            if carrier is None:
                raise Rejected(400, "carrier is required (the delivery note's delivery method has none)")
        return _parcel_create(delivery, carrier=carrier, tracking_number=tracking_number, tracking_url=tracking_url)


def order_cancel(*, order_id, skip_app: str | None = None) -> Document:
    """Dissolve the order: refused once anything is delivered (the ERP keeps the delivered part).

    ``skip_app``: the app that asked through the API with x-vario-suppress-own-webhooks (no echo to it).
    """
    with transaction.atomic(using=DB):
        order = _order(order_id)
        if any(line.quantity_committed > 0 for line in _article_lines(order)):
            raise Rejected(409, f"Order {order.number} has deliveries; it cannot be dissolved")
        if order.state not in OPEN_ORDER_STATES | {"DRAFT"}:
            raise Rejected(409, f"Order {order.number} is {order.state}; it cannot be dissolved")
        order.state = "CANCELLED"
        _touch(order, by="sandbox")
        document_event_fire(category=order.category, transition="dissolve", document_id=order.id, skip_app=skip_app)
    return order


def order_close_remaining(*, order_id, skip_app: str | None = None) -> Document:
    """After a partial delivery, close what is still open: lines complete, state CLOSED."""
    with transaction.atomic(using=DB):
        order = _order(order_id)
        if order.state not in OPEN_ORDER_STATES:
            raise Rejected(409, f"Order {order.number} is {order.state}; there is nothing to close")
        lines = _article_lines(order)
        if not any(line.quantity_committed > 0 for line in lines):
            raise Rejected(409, f"Order {order.number} has no delivery yet; dissolve it instead")
        if all(line.complete for line in lines):
            raise Rejected(409, f"Order {order.number} has no open quantity to close")
        for line in lines:
            if not line.complete:
                line.complete = True
                line.save()
        order.state = "CLOSED"
        _touch(order, by="sandbox")
        document_event_fire(
            category=order.category, transition="order_close_remaining", document_id=order.id, skip_app=skip_app
        )
    return order


def order_lines_cancel(*, order_id, lines) -> Document:
    """Cancel part of the open quantities: the ERP user edits the order and lowers line quantities.

    Fires document.customer_order.begin_editing and .end_editing (the edit cycle SAVED → EDIT → SAVED).
    """
    if lines is None:
        raise Rejected(400, "lines is required: [{orderLineId, quantity}]")
    with transaction.atomic(using=DB):
        order = _order(order_id)
        if order.state not in OPEN_ORDER_STATES | {"DRAFT"}:
            raise Rejected(409, f"Order {order.number} is {order.state}; its lines cannot be changed")
        wanted = _requested(order, lines, lambda line: line.quantity - line.quantity_committed, "cancel")
        for line, quantity in wanted:
            line.quantity -= quantity
            line.quantity_cancelled += quantity
            line.complete = line.quantity_committed >= line.quantity
            line.save()
        _order_state_refresh(order)
        _touch(order, by="sandbox")
        document_event_fire(category=order.category, transition="begin_editing", document_id=order.id)
        document_event_fire(category=order.category, transition="end_editing", document_id=order.id)
    return order


def _returned(line: DocumentLine) -> Decimal:
    total = DocumentLine.objects.filter(
        order_line=line, document__document_type__category=DocumentCategory.CUSTOMER_GOODS_RETURN
    ).aggregate(total=Sum("quantity"))["total"]
    return total or ZERO


def order_return(*, order_id, lines=None) -> Document:
    """A goods return for delivered quantities (never more than delivered minus already returned)."""
    with transaction.atomic(using=DB):
        order = _order(order_id)
        wanted = _requested(order, lines, lambda line: line.quantity_committed - _returned(line), "return")
        if not wanted:
            raise Rejected(409, f"Order {order.number} has nothing delivered that is not yet returned")
        goods_return = _follow_up(order, type_id=GOODS_RETURN_TYPE_ID, by="sandbox")
        for position, (line, quantity) in enumerate(wanted, start=1):
            _follow_up_line(goods_return, line, position, quantity)
        document_event_fire(
            category=DocumentCategory.CUSTOMER_GOODS_RETURN, transition="create", document_id=goods_return.id
        )
    return goods_return


# --- parcel tracking events and free state keys (control API only) ---------------------------------

PARCEL_EVENT_FIELDS = {"date", "city", "state", "description", "delivered"}
STATE_KEY_MAX_LENGTH = 30  # Document.state


def parcel_event_add(*, parcel_id, data) -> Parcel:
    """A carrier scan on a parcel: append a tracking event; ``delivered`` also sets deliveredAt.

    Fires shipment.parcel.completed again, so subscribers hear about the news (the working model
    has no separate tracking event in VARIO's catalogue, reference §1.9).
    """
    data = _object(data, "The request body")
    _unknown_fields(data, PARCEL_EVENT_FIELDS, "the request")
    if data.get("date") is None:
        raise Rejected(400, "date is required (YYYY-MM-DD)")
    event_date = _date(data.get("date"), "date")
    description = _text(data.get("description"), "description", max_length=5000)
    if not description:
        raise Rejected(400, "description is required")
    event = {
        "date": event_date.isoformat(),
        "city": _text(data.get("city"), "city"),
        "state": _text(data.get("state"), "state"),
        "description": description,
    }
    delivered = data.get("delivered", False)
    if not isinstance(delivered, bool):
        raise Rejected(400, f"delivered must be true or false, got {delivered!r}")
    with transaction.atomic(using=DB):
        parcel = Parcel.objects.select_for_update().select_related("shipment").filter(pk=object_id(parcel_id)).first()
        if parcel is None:
            raise Rejected(404, f"Parcel {parcel_id} does not exist")
        if parcel.delivered_at is not None:
            raise Rejected(409, f"Parcel {parcel.id} was delivered already; it takes no further events")
        now = clock.now()
        parcel.events = [*(parcel.events or []), event]
        if delivered:
            parcel.delivered_at = now
        parcel.save()
        shipment = parcel.shipment
        shipment.version += 1
        shipment.updated_at = now
        shipment.save()
        parcel_event_fire(shipment_id=shipment.id, parcel_id=parcel.id)
    return parcel


def order_state_set(*, order_id, key) -> Document:
    """Set an order's document state key to any key (tenants define their own keys, reference §4.3).

    Fires document.customer_order.dissolve for CANCELLED, document.customer_order.end_editing otherwise.
    """
    if not isinstance(key, str) or not key.strip():
        raise Rejected(400, f"key must be a non-empty string, got {key!r}")
    if len(key) > STATE_KEY_MAX_LENGTH or key != key.strip():
        raise Rejected(400, f"key must be at most {STATE_KEY_MAX_LENGTH} characters without surrounding blanks")
    with transaction.atomic(using=DB):
        order = _order(order_id)
        order.state = key
        _touch(order, by="sandbox")
        transition = "dissolve" if key == "CANCELLED" else "end_editing"
        document_event_fire(category=order.category, transition=transition, document_id=order.id)
    return order


# --- document transitions (GET/PUT /erp/documents/{id}/states) -------------------------------------

TRANSITIONS = {"dissolve": "CANCELLED", "order_close_remaining": "CLOSED"}


def order_transitions_available(*, order_id) -> list[dict]:
    """The transitions the order can run now (reference §1.4: "all possible states …"), as DocumentTransitionRef."""
    order = _order(order_id, lock=False)
    delivered = any(line.quantity_committed > 0 for line in _article_lines(order))
    open_ = order.state in OPEN_ORDER_STATES
    available = []
    if (open_ or order.state == "DRAFT") and not delivered:
        available.append("dissolve")
    if open_ and delivered and not all(line.complete for line in _article_lines(order)):
        available.append("order_close_remaining")
    return [
        {
            "transitionId": transition,
            "transitionLabel": transition.replace("_", " ").capitalize(),
            "targetState": TRANSITIONS[transition],
            "typeCategory": order.category,
            "typeKey": order.document_type.key,
        }
        for transition in available
    ]


def order_transition_run(*, order_id, transition_id, skip_app: str | None = None) -> Document:
    """PUT /erp/documents/{id}/states {"transitionId"}: the same rules as the control actions.

    ``skip_app``: as for order_create, the calling app when it sent x-vario-suppress-own-webhooks.
    """
    if not isinstance(transition_id, str) or not transition_id:
        raise Rejected(400, "transitionId is required")
    if transition_id == "dissolve":
        try:
            return order_cancel(order_id=order_id, skip_app=skip_app)
        except Rejected as exc:  # the ERP refuses a transition it cannot run: 422, not the control API's 409
            raise Rejected(422 if exc.status == 409 else exc.status, exc.message) from None
    if transition_id == "order_close_remaining":
        try:
            return order_close_remaining(order_id=order_id, skip_app=skip_app)
        except Rejected as exc:
            raise Rejected(422 if exc.status == 409 else exc.status, exc.message) from None
    raise Rejected(400, f"unsupported in simulator: transitionId {transition_id!r} ({', '.join(TRANSITIONS)})")


def article_create(*, data) -> Article:
    """Control API: an article added in the ERP (e.g. to release an order parked for an unknown SKU)."""
    data = _object(data, "The body")
    _unknown_fields(data, {"articleNumber", "name", "price", "ean", "active"}, "the body")
    number = _text(data.get("articleNumber"), "articleNumber", max_length=100)
    if not number:
        raise Rejected(400, "articleNumber is required")
    with transaction.atomic(using=DB):
        if Article.objects.filter(article_number=number).exists():
            raise Rejected(409, f"Article {number} exists already")
        article_id = (Article.objects.aggregate(top=Max("id"))["top"] or 0) + 1
        return Article.objects.create(
            id=article_id,
            article_number=number,
            name=_text(data.get("name"), "name") or number,
            price=_decimal(data.get("price", 0), "price"),
            ean=_text(data.get("ean"), "ean", max_length=20) or "",
            active=bool(data.get("active", True)),
        )
