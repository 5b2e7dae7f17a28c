"""List orders (``GET /api/oms/pvt/orders``): the filters, order and paging VTEX documents, in the database.

Facts: reference/vtex.md §1.6 (at most 30 pages, ≈ 4 minutes of indexing lag, not simulated) and the
OpenAPI file orders-api.json (``f_creationDate``, ``f_status``, ``orderBy``, ``page``, ``per_page``
up to 100, default 15; ``paging`` counts every matching order). The choices where VTEX is silent are
in docs/sandbox-vtex.md. Only the requested page is read as rows; the statistics need every
matching order's value, read as four columns.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from django.db.models import QuerySet
from django.http import QueryDict

from sandbox.http import QueryParamError, int_query_param
from sandbox.vtex.errors import bad_request
from sandbox.vtex.models import Account, Order
from sandbox.vtex.serializers import order_list_json, order_list_row

PAGE_LIMIT = 30  # "The limit of information retrieval is 30 pages"
PER_PAGE_DEFAULT = 15
PER_PAGE_MAX = 100
ORDER_FIELDS = {"creationDate": "creation_date", "orderId": "order_id", "origin": "origin"}
# creationDate:[2022-01-01T02:00:00.000Z TO 2022-01-02T01:59:59.999Z] (the spec's example): both ends kept.
_CREATION_RANGE = re.compile(r"creationDate:\[(?P<start>[^\s\[\]]+) TO (?P<end>[^\s\[\]]+)\]")
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,7})?(Z|[+-]\d{2}:\d{2})?")


@dataclass(frozen=True)
class ListQuery:
    page: int
    per_page: int
    statuses: tuple[str, ...]
    affiliates: tuple[str, ...]
    created: tuple[datetime, datetime] | None
    text: str
    order_by: tuple[str, ...]


def _timestamp(raw: str) -> datetime:
    if not _TIMESTAMP.fullmatch(raw):
        raise ValueError(raw)
    moment = datetime.fromisoformat(raw)  # Python 3.11 reads "Z" and seven fraction digits
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _creation_range(raw: str) -> tuple[datetime, datetime]:
    match = _CREATION_RANGE.fullmatch(raw)
    try:
        if match is None:
            raise ValueError(raw)
        return _timestamp(match["start"]), _timestamp(match["end"])
    except ValueError:
        raise bad_request(
            "SBX-LIST-DATE",
            "f_creationDate must be creationDate:[{start} TO {end}] with ISO 8601 timestamps, "
            f"e.g. creationDate:[2022-01-01T02:00:00.000Z TO 2022-01-02T01:59:59.999Z]; got {raw[:120]!r}",
        ) from None


def _comma_list(query: QueryDict, name: str) -> tuple[str, ...]:
    return tuple(part for part in (query.get(name) or "").split(",") if part)


def list_query_parse(query: QueryDict) -> ListQuery:
    """The query string as the simulator understands it; OmsError 400 for what it refuses."""
    try:
        page = int_query_param(query, "page", default=1, minimum=1, maximum=PAGE_LIMIT)
        per_page = int_query_param(query, "per_page", default=PER_PAGE_DEFAULT, minimum=1, maximum=PER_PAGE_MAX)
    except QueryParamError as exc:
        raise bad_request("SBX-LIST-PAGE", str(exc)) from None
    field, _, direction = (query.get("orderBy") or "creationDate,desc").partition(",")
    if field not in ORDER_FIELDS or direction not in ("asc", "desc"):
        raise bad_request("SBX-LIST-ORDER", "orderBy must be creationDate|orderId|origin followed by ,asc or ,desc")
    sign = "-" if direction == "desc" else ""
    created = _creation_range(query["f_creationDate"]) if query.get("f_creationDate") else None
    return ListQuery(
        page=page,
        per_page=per_page,
        statuses=_comma_list(query, "f_status"),
        affiliates=_comma_list(query, "f_affiliateId"),
        created=created,
        text=(query.get("q") or "").lower(),
        # Ties (one creation instant) in a fixed order, so that pages never overlap.
        order_by=(sign + ORDER_FIELDS[field], sign + "id"),
    )


def _matching(account: Account, q: ListQuery) -> QuerySet[Order]:
    orders = Order.objects.filter(account=account)
    if q.statuses:
        orders = orders.filter(status__in=q.statuses)
    if q.affiliates:
        orders = orders.filter(affiliate_id__in=q.affiliates)
    if q.created:
        orders = orders.filter(creation_date__gte=q.created[0], creation_date__lte=q.created[1])
    return orders.order_by(*q.order_by)


def _text_matches(text: str, order_id: str, customer: dict) -> bool:
    # Full text over id, e-mail, document and names, case-insensitive beyond ASCII (which SQLite's
    # LIKE is not), so it is matched here rather than in the query.
    fields = [order_id, *(str(customer.get(k) or "") for k in ("email", "document", "firstName", "lastName"))]
    return text in " ".join(fields).lower()


def _stats_row(items: list[dict], shipping: int, origin: str, currency: str) -> dict:
    return {
        "totalValue": sum(line["sellingPrice"] * line["quantity"] for line in items) + shipping,
        "totalItems": sum(line["quantity"] for line in items),
        "origin": origin,
        "currencyCode": currency,
    }


def order_list(*, account: Account, query: QueryDict) -> dict:
    """The List orders answer for ``account``: one page of rows, paging over all matches, statistics.

    1. Parse the query (400 for what is refused).
    2. Read four columns of every matching order, in the list's order: the statistics and the ids.
    3. Read the requested page's orders whole and write their rows.
    """
    q = list_query_parse(query)
    columns = ["id", "items", "shipping_value", "origin", "currency_code"]
    if q.text:
        columns += ["order_id", "customer"]
    ids: list[int] = []
    stats_rows: list[dict] = []
    for pk, items, shipping, origin, currency, *searched in _matching(account, q).values_list(*columns).iterator():
        if q.text and not _text_matches(q.text, *searched):
            continue
        ids.append(pk)
        stats_rows.append(_stats_row(items, shipping, origin, currency))
    start = (q.page - 1) * q.per_page
    page_ids = ids[start : start + q.per_page]
    by_id = Order.objects.in_bulk(page_ids)
    rows = [order_list_row(by_id[pk]) for pk in page_ids]
    return order_list_json(rows=rows, all_rows=stats_rows, page=q.page, per_page=q.per_page)
