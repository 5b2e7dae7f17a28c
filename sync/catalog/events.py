"""VARIO's catalog webhooks: which events the catalog flow handles and what each means (pure).

Names are VARIO's (reference/catalog-sync.md §2.1, **C**); what the portal does with each is the working
contract's table (§3.3, **A**):

| event | topic |
| --- | --- |
| ``sales_channel.stockChange`` ``{"id": <article>}`` | stock, for every channel that maps the article |
| ``article-price.create`` / ``.update`` ``{"articleId", "priceId", …}`` | price, likewise |
| ``article(sales-channel-id=<c>).create`` / ``.update`` | match the article again in channel ``c``, then |
| ``{"articleId", "listingId"}`` | stock and price |

``article.update`` (the default channel) is not registered: VARIO follows it with
``article(sales-channel-id=<c>).update`` for each of the article's listings (docs/sandbox-vario.md), which names
the channel. The article id is read from ``articleId``, then ``entityId``, then ``id`` (§3.3: "robust to doc
inconsistencies").
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

STOCK_CHANGE = "sales_channel.stockChange"
PRICE_EVENTS = ("article-price.create", "article-price.update")
LISTING_ACTIONS = ("create", "update")
ARTICLE_ID_KEYS = ("articleId", "entityId", "id")
_LISTING = re.compile(r"article\(sales-channel-id=([0-9]{1,19})\)\.(create|update)\Z")

STOCK = "stock"
PRICE = "price"
LISTING = "listing"


@dataclass(frozen=True)
class CatalogEvent:
    kind: str  # STOCK, PRICE or LISTING
    sales_channel_id: str = ""  # VARIO's channel, for a listing event


def catalog_event_of(name: str) -> CatalogEvent | None:
    """What a VARIO event name means to the catalog flow; None for any other event."""
    if name == STOCK_CHANGE:
        return CatalogEvent(STOCK)
    if name in PRICE_EVENTS:
        return CatalogEvent(PRICE)
    match = _LISTING.match(name)
    if match:
        return CatalogEvent(LISTING, sales_channel_id=str(int(match.group(1))))
    return None


def listing_events(sales_channel_id: str) -> tuple[str, ...]:
    """The listing events of one VARIO sales channel (reference §2.1: ``%s`` is the sales channel id)."""
    return tuple(f"article(sales-channel-id={sales_channel_id}).{action}" for action in LISTING_ACTIONS)


def catalog_webhook_events(*, stock_channels: Iterable[str], price_channels: Iterable[str]) -> list[str]:
    """The catalog events to register, given the VARIO sales channel ids of the portal channels whose stock
    upload and whose price upload are switched on: stock changes for the first, price events for the second,
    and the listing events of both (a listing change re-matches the SKU, which both need)."""
    stock, price = {c for c in stock_channels if c}, {c for c in price_channels if c}
    events = set()
    if stock:
        events.add(STOCK_CHANGE)
    if price:
        events.update(PRICE_EVENTS)
    for channel in stock | price:
        events.update(listing_events(channel))
    return sorted(events)
