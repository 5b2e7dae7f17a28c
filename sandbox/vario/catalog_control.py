"""Control API of the simulated ERP's catalog under /_sim/vario/ (part of neither contract).

ERP users' changes to stock, prices and listings (each fires the webhook VARIO would), a bulk seed,
reads of the state, and the catalog webhooks' faults (bursts, reordering, duplicates). Routes and
bodies: docs/sandbox-vario.md "Catalog". Errors as the rest of the control API: {"error": "..."}.
"""

from __future__ import annotations

import re

from django.views.decorators.http import require_http_methods

from sandbox.http import QueryParamError, int_query_param, json_response
from sandbox.vario import catalog
from sandbox.vario import catalog_events as events
from sandbox.vario.control import _control, _data, _error
from sandbox.vario.models import (
    Article,
    ArticleListing,
    ArticleStorage,
    PriceGroup,
    ProductPrice,
    RecommendedRetailPrice,
    SalesChannel,
    Storage,
)
from sandbox.vario.services import Rejected, _id

MAX_STATES = 10_000
_CHANNEL_EVENT = re.compile(r"article\(sales-channel-id=[0-9]{1,19}\)\.(?:create|update)")


def _prefetched(articles):
    return articles.prefetch_related("listings", "stocks__storage", "prices", "recommended_retail_prices__article")


# --- state ----------------------------------------------------------------------------------------


@_control
@require_http_methods(["GET"])
def catalog_overview(request):
    """Master data, counts and the catalog webhook faults."""
    return json_response(
        {
            "storages": [catalog.storage_json(s) for s in Storage.objects.order_by("id")],
            "priceGroups": [
                {"id": g.id, "label": g.label, "priceBase": g.price_base} for g in PriceGroup.objects.order_by("id")
            ],
            "salesChannels": [{"id": c.id, "label": c.label, "active": c.active} for c in SalesChannel.objects.all()],
            "counts": {
                "articles": Article.objects.count(),
                "listings": ArticleListing.objects.count(),
                "stockRows": ArticleStorage.objects.count(),
                "prices": ProductPrice.objects.count(),
                "recommendedRetailPrices": RecommendedRetailPrice.objects.count(),
            },
            "faults": events.catalog_faults_get(),
        }
    )


@_control
@require_http_methods(["GET"])
def catalog_articles(request):
    """GET ?ids=77,78 | ?articleNumberPrefix=BULK- [&limit=1000&offset=0]: the state of many articles."""
    try:
        limit = int_query_param(request.GET, "limit", default=1000, minimum=1, maximum=MAX_STATES)
        offset = int_query_param(request.GET, "offset", default=0, minimum=0, maximum=2**62)
    except QueryParamError as exc:
        return _error(str(exc))
    articles = Article.objects.order_by("id")
    if request.GET.get("ids"):
        raw = request.GET["ids"].split(",")
        if len(raw) > MAX_STATES:
            return _error(f"ids names more than {MAX_STATES} articles")
        articles = articles.filter(pk__in=[_id(value, "ids") for value in raw])
    if request.GET.get("articleNumberPrefix"):
        articles = articles.filter(article_number__startswith=request.GET["articleNumberPrefix"])
    page = list(_prefetched(articles)[offset : offset + limit])
    return json_response([catalog.article_state_json(a) for a in page])


@_control
@require_http_methods(["POST"])
def catalog_bulk(request):
    """POST {"count", "articleNumberPrefix", ...template} | {"articles": [...]} → 201 {created, firstId, lastId}."""
    return json_response(catalog.catalog_bulk_create(data=_data(request)), status=201)


# --- webhook faults, release, replay ---------------------------------------------------------------


def _fraction(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise Rejected(400, f"{name} must be a number from 0 to 1")
    return float(value)


def _seconds(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= events.MAX_DELAY_SECONDS:
        raise Rejected(400, f"{name} must be a number of seconds from 0 to {events.MAX_DELAY_SECONDS:g}")
    return float(value)


def _copies(value, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= events.MAX_COPIES:
        raise Rejected(400, f"{name} must be a whole number from {minimum} to {events.MAX_COPIES}")
    return value


@_control
@require_http_methods(["GET", "POST", "DELETE"])
def catalog_faults(request):
    """POST {"duplicateRate": 0-1, "copies": 2-10, "maxDelaySeconds", "hold", "seed"} (omitted: off);
    DELETE switches them off (held deliveries stay held until released)."""
    if request.method == "DELETE":
        return json_response(
            events.catalog_faults_set(duplicate_rate=0.0, copies=2, max_delay_seconds=0.0, hold=False, seed=0)
        )
    if request.method == "POST":
        data = _data(request)
        unknown = set(data) - {"duplicateRate", "copies", "maxDelaySeconds", "hold", "seed"}
        if unknown:
            return _error(f"Unknown fields: {', '.join(sorted(unknown))}")
        seed = data.get("seed", 0)
        if isinstance(seed, bool) or not isinstance(seed, int | str) or len(str(seed)) > 100:
            return _error("seed must be a whole number or a short text")
        hold = data.get("hold", False)
        if not isinstance(hold, bool):
            return _error("hold must be true or false")
        return json_response(
            events.catalog_faults_set(
                duplicate_rate=_fraction(data.get("duplicateRate", 0.0), "duplicateRate"),
                copies=_copies(data.get("copies", 2), "copies", 2),
                max_delay_seconds=_seconds(data.get("maxDelaySeconds", 0.0), "maxDelaySeconds"),
                hold=hold,
                seed=seed,
            )
        )
    return json_response(events.catalog_faults_get())


@_control
@require_http_methods(["POST"])
def catalog_release(request):
    """POST {"shuffle"?: false}: every held catalog delivery due now (a burst) → {"released": n}."""
    data = _data(request, required=False)
    unknown = set(data) - {"shuffle"}
    if unknown:
        return _error(f"Unknown fields: {', '.join(sorted(unknown))}")
    shuffle = data.get("shuffle", False)
    if not isinstance(shuffle, bool):
        return _error("shuffle must be true or false")
    return json_response({"released": events.catalog_deliveries_release(shuffle=shuffle)})


def _replay_event(name) -> str:
    if name in events.REPLAYABLE or (isinstance(name, str) and _CHANNEL_EVENT.fullmatch(name)):
        return name
    allowed = ", ".join(sorted(events.REPLAYABLE))
    raise Rejected(400, f"event must be one of {allowed} or article(sales-channel-id=<id>).update|create")


@_control
@require_http_methods(["POST"])
def catalog_event(request):
    """POST {"event", "articleId", "priceId"?, "listingId"?, "copies"?: 1, "delaySeconds"?: 0}: the event
    again without a change (a late or repeated delivery) → {"queued": deliveries}."""
    data = _data(request)
    unknown = set(data) - {"event", "articleId", "priceId", "listingId", "copies", "delaySeconds"}
    if unknown:
        return _error(f"Unknown fields: {', '.join(sorted(unknown))}")
    event = _replay_event(data.get("event"))
    article_id = _id(data.get("articleId"), "articleId")
    if article_id is None:
        return _error("articleId is required")
    if not Article.objects.filter(pk=article_id).exists():
        return _error(f"Article {article_id} does not exist", 422)
    price_id, listing_id = _id(data.get("priceId"), "priceId"), _id(data.get("listingId"), "listingId")
    article_id = int(article_id)
    if event == events.STOCK_CHANGE:
        body = events.stock_change_body(article_id=article_id)
    elif event.startswith("article-price."):
        body = events.price_body(article_id=article_id, price_id=int(price_id) if price_id else None)
    else:
        body = events.article_body(article_id=article_id, listing_id=int(listing_id) if listing_id else None)
    delay = _seconds(data.get("delaySeconds", 0), "delaySeconds")
    queued = sum(
        events.catalog_event_fire(event=event, body=body, delay_seconds=delay)
        for _ in range(_copies(data.get("copies", 1), "copies", 1))
    )
    return json_response({"queued": queued, "body": body})


# --- master data ----------------------------------------------------------------------------------


@_control
@require_http_methods(["GET", "POST"])
def storages(request):
    if request.method == "POST":
        return json_response(catalog.storage_json(catalog.storage_create(data=_data(request))), status=201)
    return json_response([catalog.storage_json(s) for s in Storage.objects.order_by("id")])


@_control
@require_http_methods(["POST"])
def sales_channels(request):
    """POST {"id"?, "label", "active"?} → 201; fires sales_channel.create."""
    channel = catalog.sales_channel_create(data=_data(request))
    return json_response({"id": channel.id, "label": channel.label, "active": channel.active}, status=201)


@_control
@require_http_methods(["GET", "POST"])
def article_state(request, article_id: str):
    """GET: the article's catalog state; POST {articleNumber?, name?, ean?, active?, productType?,
    sellableWithoutStock?}: an edit (fires article.update and article(sales-channel-id=c).update)."""
    if request.method == "POST":
        catalog.article_change(article_id=article_id, data=_data(request))
    article = catalog.row_found(_prefetched(Article.objects.all()), article_id, "Article")
    return json_response(catalog.article_state_json(article))


@_control
@require_http_methods(["POST"])
def article_stock(request, article_id: str):
    """POST {"storageId", "quantityInStock"?, "reservedQuantity"?, "quantityInPicking"?}; fires stockChange."""
    return json_response(catalog.stock_json(catalog.stock_set(article_id=article_id, data=_data(request))))


@_control
@require_http_methods(["POST"])
def article_listings(request, article_id: str):
    """POST {"salesChannelId", "listed"?, "sellableWithoutStock"?, "custom"?} → 201; fires article(…).create."""
    listing = catalog.listing_create(article_id=article_id, data=_data(request))
    return json_response(catalog.listing_json(listing), status=201)


@_control
@require_http_methods(["GET", "POST"])
def listing(request, listing_id: str):
    """GET one listing; POST {"listed"?, "sellableWithoutStock"?, "custom"?}: fires article(…).update."""
    if request.method == "POST":
        return json_response(catalog.listing_json(catalog.listing_change(listing_id=listing_id, data=_data(request))))
    return json_response(catalog.listing_json(catalog.row_found(ArticleListing, listing_id, "Listing")))


@_control
@require_http_methods(["POST"])
def stock(request):
    """POST {"changes": [{articleId|articleNumber, storageId, quantities}], "withinSeconds"?, "webhooks"?}."""
    return json_response(catalog.stock_changes_apply(data=_data(request)))


# --- prices ---------------------------------------------------------------------------------------


@_control
@require_http_methods(["POST"])
def prices(request):
    """POST a sales price → 201; fires article-price.create."""
    return json_response(catalog.price_json(catalog.price_create(data=_data(request))), status=201)


@_control
@require_http_methods(["GET", "POST", "DELETE"])
def price(request, price_id: str):
    """GET; POST a change (fires article-price.update); DELETE (fires article-price.update too)."""
    if request.method == "DELETE":
        catalog.price_delete(price_id=price_id)
        return json_response({"deleted": True})
    if request.method == "POST":
        return json_response(catalog.price_json(catalog.price_change(price_id=price_id, data=_data(request))))
    return json_response(catalog.price_json(catalog.row_found(ProductPrice, price_id, "Price")))


@_control
@require_http_methods(["POST"])
def rrps(request):
    """POST {"articleId"|"articleNumber", "value", "countryCode"?, "currencyCode"?, "notify"?} → 201."""
    return json_response(catalog.rrp_json(catalog.rrp_create(data=_data(request))), status=201)


@_control
@require_http_methods(["GET", "POST", "DELETE"])
def rrp(request, rrp_id: str):
    """GET; POST {"value"?, "countryCode"?, "currencyCode"?, "notify"?}; DELETE ?notify=true."""
    if request.method == "DELETE":
        notify = request.GET.get("notify", "false")
        if notify not in ("true", "false"):
            return _error("notify must be true or false")
        catalog.rrp_delete(rrp_id=rrp_id, notify=notify == "true")
        return json_response({"deleted": True})
    if request.method == "POST":
        return json_response(catalog.rrp_json(catalog.rrp_change(rrp_id=rrp_id, data=_data(request))))
    found = catalog.row_found(
        RecommendedRetailPrice.objects.select_related("article"), rrp_id, "Recommended retail price"
    )
    return json_response(catalog.rrp_json(found))
