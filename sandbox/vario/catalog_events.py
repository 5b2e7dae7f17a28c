"""Catalog webhooks of the VARIO simulator and their delivery faults (docs/sandbox-vario.md "Catalog").

Events and bodies (reference/catalog-sync.md §2.1 names them, §3.3 fixes the simulator's bodies):

| event | body |
|---|---|
| `sales_channel.stockChange` | `{"id": <article id>}` |
| `article-price.create` / `.update` | `{"articleId", "priceId", "listingId": null, "categoryId": null}` |
| `article(sales-channel-id=<c>).create` / `.update` | `{"articleId", "listingId"}` |
| `article.update` | `{"articleId", "listingId": null}` |
| `sales_channel.create` | `{"id": <channel id>}` |

With the payloadKey switch at "entityId" (POST /_sim/vario/faults) the id key (`id`, or `articleId` in the
article bodies) is sent as `entityId` instead, as VARIO's guides read it (reference §3.3: portals take
`articleId`, then `entityId`, then `id`).

Deliveries go through the simulator's one webhook machinery (``webhooks.event_fire``: a Delivery row per
registration, app token, retries). The catalog faults (POST /_sim/vario/catalog/faults) act on these
rows only, never on document events:

- ``maxDelaySeconds``: each delivery's first attempt waits a random 0..max seconds, so later events
  overtake earlier ones (reordering);
- ``duplicateRate`` and ``copies``: that share of events is delivered ``copies`` times in all, each copy
  with its own delay (duplicates, "older after newer");
- ``hold``: deliveries wait until POST /_sim/vario/catalog/release sends them all at once (a burst),
  optionally shuffled.

Draws come from a generator seeded with (seed, draw number), so a seed gives the same faults on a
freshly reset sandbox.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import transaction

from sandbox import clock
from sandbox.models import Delivery, DeliveryState
from sandbox.settings_store import setting_get, setting_set
from sandbox.vario.models import WebhookRegistration
from sandbox.vario.webhooks import DELIVERY_KIND, event_fire, payload_key

DB = "sandbox"
FAULTS_KEY = "vario.catalog_faults"
DEFAULT_FAULTS = {"duplicateRate": 0.0, "copies": 2, "maxDelaySeconds": 0.0, "hold": False, "seed": 0, "draws": 0}
MAX_COPIES = 10
MAX_DELAY_SECONDS = 3600.0
# A held delivery's first attempt: never due until released.
HELD_UNTIL = datetime(9999, 12, 31, tzinfo=UTC)

STOCK_CHANGE = "sales_channel.stockChange"
PRICE_CREATE = "article-price.create"
PRICE_UPDATE = "article-price.update"
ARTICLE_UPDATE = "article.update"
CHANNEL_CREATE = "sales_channel.create"
# Events POST /_sim/vario/catalog/events may replay (the channel variants are checked by pattern).
REPLAYABLE = {STOCK_CHANGE, PRICE_CREATE, PRICE_UPDATE, ARTICLE_UPDATE}


def channel_article_event(*, channel_id: str, action: str) -> str:
    """`article(sales-channel-id=7).update` (reference §1.9: `%s` is the sales-channel id)."""
    return f"article(sales-channel-id={channel_id}).{action}"


# --- bodies ---------------------------------------------------------------------------------------


def _article_key(key: str) -> str:
    return "entityId" if key == "entityId" else "articleId"


def stock_change_body(*, article_id: int, key: str | None = None) -> dict:
    # reference §3.3 (A): the id is the article's; VARIO's spec only says "ID of the affected entity".
    return {key or payload_key(): article_id}


def price_body(*, article_id: int, price_id: int | None, key: str | None = None) -> dict:
    return {_article_key(key or payload_key()): article_id, "priceId": price_id, "listingId": None, "categoryId": None}


def article_body(*, article_id: int, listing_id: int | None, key: str | None = None) -> dict:
    return {_article_key(key or payload_key()): article_id, "listingId": listing_id}


# --- faults ---------------------------------------------------------------------------------------


def catalog_faults_get() -> dict:
    return {**DEFAULT_FAULTS, **(setting_get(key=FAULTS_KEY, default=None) or {})}


def catalog_faults_set(*, duplicate_rate: float, copies: int, max_delay_seconds: float, hold: bool, seed) -> dict:
    setting_set(
        key=FAULTS_KEY,
        value={
            "duplicateRate": duplicate_rate,
            "copies": copies,
            "maxDelaySeconds": max_delay_seconds,
            "hold": hold,
            "seed": seed,
            "draws": 0,
        },
    )
    return catalog_faults_get()


def _active(faults: dict) -> bool:
    return bool(faults["duplicateRate"] or faults["maxDelaySeconds"] or faults["hold"])


def _rng(faults: dict) -> random.Random:
    """A fresh generator per draw, seeded with (seed, draw number); the draw count is kept in ``faults``
    and stored by the caller once per request."""
    draws = int(faults.get("draws", 0))
    faults["draws"] = draws + 1
    return random.Random(f"{faults['seed']}:{draws}")  # noqa: S311 - fault injection, not security


def faults_draws_store(faults: dict) -> None:
    setting_set(key=FAULTS_KEY, value=faults)


# --- firing ---------------------------------------------------------------------------------------


def _schedule(faults: dict, *, now: datetime, delay_seconds: float) -> list[datetime]:
    """When each copy of one event is first due: once, or ``copies`` times at ``duplicateRate``; each
    at now + ``delay_seconds`` + a random 0..maxDelaySeconds, or held until released."""
    rng = _rng(faults) if _active(faults) else None
    copies = faults["copies"] if rng is not None and rng.random() < faults["duplicateRate"] else 1
    due = []
    for _ in range(copies):
        wait = delay_seconds + (rng.uniform(0, faults["maxDelaySeconds"]) if rng is not None else 0.0)
        due.append(HELD_UNTIL if faults["hold"] else now + timedelta(seconds=wait))
    return due


def catalog_event_fire(*, event: str, body: dict, faults: dict | None = None, delay_seconds: float = 0.0) -> int:
    """Queue ``event`` for every registration, with the catalog faults applied; returns deliveries queued.

    1. The faults (``faults`` when a caller fires many events in one request and stores the draws
       itself with ``faults_draws_store``; else read and stored here).
    2. When each copy goes out (``_schedule``).
    3. One Delivery per registration and copy (``webhooks.event_fire``), its first attempt moved to
       the copy's time.
    """
    own = faults is None
    faults = catalog_faults_get() if own else faults  # 1.
    now = clock.now()
    queued = 0
    for due in _schedule(faults, now=now, delay_seconds=delay_seconds):  # 2.
        deliveries = event_fire(event=event, body=body)  # 3.
        if deliveries and due != now:
            Delivery.objects.filter(pk__in=[d.pk for d in deliveries]).update(next_attempt_at=due)
        queued += len(deliveries)
    if own and _active(faults):
        faults_draws_store(faults)
    return queued


def catalog_events_fire_many(*, event: str, bodies: list[dict], faults: dict) -> int:
    """``catalog_event_fire`` for each body in turn, in a few inserts (a bulk of stock changes fires
    thousands): the registrations are read once and the Delivery rows built as
    ``sandbox.deliveries.delivery_enqueue`` builds them. The caller stores the fault draws."""
    urls = list(WebhookRegistration.objects.filter(destination_queue=event).values_list("url", flat=True))
    now = clock.now()
    rows = [
        Delivery(
            kind=DELIVERY_KIND,
            event=event,
            url=url,
            body=body,
            headers={},
            retry_delays=list(settings.SANDBOX_WEBHOOK_RETRY_DELAYS),
            next_attempt_at=due,
            created_at=now,
        )
        for body in bodies
        for due in _schedule(faults, now=now, delay_seconds=0.0)
        for url in urls
    ]
    Delivery.objects.bulk_create(rows, batch_size=500)
    return len(rows)


def catalog_deliveries_release(*, shuffle: bool) -> int:
    """Make every held catalog delivery due now, in event order or shuffled (a burst); returns how many."""
    with transaction.atomic(using=DB):
        held = list(
            Delivery.objects.filter(
                kind=DELIVERY_KIND, state=DeliveryState.QUEUED, next_attempt_at=HELD_UNTIL
            ).order_by("id")
        )
        if shuffle and held:
            faults = catalog_faults_get()
            _rng(faults).shuffle(held)
            faults_draws_store(faults)
        now = clock.now()
        # The dispatcher sends by (next_attempt_at, id): one microsecond apart keeps the chosen order.
        for position, delivery in enumerate(held):
            delivery.next_attempt_at = now + timedelta(microseconds=position)
        Delivery.objects.bulk_update(held, ["next_attempt_at"], batch_size=500)
    return len(held)
