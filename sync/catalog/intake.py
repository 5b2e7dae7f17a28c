"""From a stored VARIO catalog event to coalesced work items (reference/catalog-sync.md §3.5 steps 1, 2 and 6).

The webhook edge stored the event first and answered (``sync.webhooks``, ``sync.inbox``); the inbox's drain
hands catalog events here. This costs database reads and writes only, never a remote call: which channels
the event concerns comes from their SKU mappings (a stock or price event) or their VARIO sales channel id (a
listing event), and the work is one row per (channel, topic, article) whose generation a burst bumps.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from mappings import selectors
from mappings.models import SalesChannel, SkuMapping, SkuMappingStatus, SyncType
from sync.catalog.events import LISTING, PRICE, STOCK, catalog_event_of
from sync.catalog.models import CatalogWork
from sync.catalog.timeline import Kind, catalog_timeline_add
from sync.models import InboxEvent
from sync.queue import catalog_push_enqueue

Topic = CatalogWork.Topic
State = CatalogWork.State

# §3.5 step 6: the transfer toggle of each topic (VARIO's UPLOAD_ARTICLE_STOCK / UPLOAD_ARTICLE_PRICE).
TOGGLES = {Topic.STOCK: SyncType.UPLOAD_ARTICLE_STOCK, Topic.PRICE: SyncType.UPLOAD_ARTICLE_PRICE}
# A listing event's re-match waits this long: VARIO fires one per listing after an article edit, and a bulk edit
# of many articles then makes one batch of lookups (RefIds 100 a call) instead of one per article.
MATCH_DEBOUNCE_SECONDS = 1.0
UNMAPPED = "UNMAPPED"


def topic_enabled(*, topic: str, enabled: frozenset[str]) -> bool:
    """Whether the channel's toggles (``transfers_enabled``) allow ``topic``; matching serves both uploads."""
    if topic == Topic.MATCH:
        return bool(enabled & set(TOGGLES.values()))
    return TOGGLES[topic] in enabled


def debounce_seconds(*, channel: SalesChannel, topic: str) -> float:
    if topic == Topic.MATCH:
        return MATCH_DEBOUNCE_SECONDS
    catalog = selectors.catalog_settings_get(channel=channel)
    return float(catalog.stock_debounce_seconds if topic == Topic.STOCK else catalog.price_debounce_seconds)


def unmapped_message(mapping: SkuMapping | None) -> str:
    if mapping is None:
        return "The article has no SKU mapping in this channel: it waits until matching maps it."
    why = f" ({mapping.message})" if mapping.message else ""
    return f"The article's SKU is {mapping.get_status_display().lower()}{why}: it waits until it is mapped."


def catalog_work_request(
    *,
    channel: SalesChannel,
    topic: str,
    vario_article_id: str,
    debounce: float,
    mapping: SkuMapping | None = None,
    check_mapping: bool = False,
    now: datetime | None = None,
    enqueue: bool = True,
) -> CatalogWork:
    """Ask for one article's stock, price or matching to be brought up to date. Many requests make one run.

    Steps:
    1. Lock (or create) the item; bump its generation and last event time.
    2. A running item keeps running: its batch sees the generation grew and queues it again, from a fresh read.
    3. A queued item stays queued and becomes eligible ``debounce`` seconds after this event (§3.5 step 2),
       but no later than ``CATALOG_DEBOUNCE_MAX_SECONDS`` after it was queued, and never sooner than a
       back-off it waits out.
    4. A resting item (done, failed, skipped, parked) is queued again from scratch; with ``check_mapping``, an
       article whose SKU is not mapped is parked instead (§3.2: never sent), and released when it is.
    5. Once committed, the channel's batch job for the topic is queued for when the item is eligible.
    """
    now = now or timezone.now()
    cap = timedelta(seconds=settings.CATALOG_DEBOUNCE_MAX_SECONDS)
    debounced = now + timedelta(seconds=max(debounce, 0.0))
    parked = check_mapping and topic != Topic.MATCH and (mapping is None or mapping.status != SkuMappingStatus.MAPPED)
    with transaction.atomic():
        # 1.
        work, _ = CatalogWork.objects.select_for_update().get_or_create(
            channel=channel,
            topic=topic,
            vario_article_id=vario_article_id,
            defaults={"state": State.DONE},
        )
        work.generation += 1
        work.last_event_at = now
        # 2.
        if work.state == State.RUNNING:
            pass
        # 3.
        elif work.state == State.QUEUED:
            eligible = min(debounced, (work.queued_at or now) + cap)
            if work.attempts and work.eligible_at and work.eligible_at > eligible:
                eligible = work.eligible_at
            work.eligible_at = eligible
        # 4.
        elif parked:
            work.state, work.reason, work.message = State.PARKED, UNMAPPED, unmapped_message(mapping)
            work.finished_at = now
        else:
            work.state, work.queued_at, work.eligible_at, work.attempts = State.QUEUED, now, debounced, 0
            work.reason = work.message = ""
        work.save()
        # 5.
        if enqueue and work.state == State.QUEUED:
            delay = max((work.eligible_at - now).total_seconds(), 0.0)
            channel_id = channel.pk
            transaction.on_commit(lambda: catalog_push_enqueue(channel_id=channel_id, topic=topic, delay=delay))
    return work


@dataclass(frozen=True)
class IntakeResult:
    """How the inbox settles the event: processed (work was requested) or ignored, saying why."""

    status: str
    message: str = ""


def catalog_event_intake(*, event: InboxEvent) -> IntakeResult:
    """Turn one stored catalog event into work items (the inbox's drain calls it).

    Steps:
    1. Which topic the event is about (``sync.catalog.events``) and which channels may want it: every active
       channel for a stock or price change (VARIO's body names no channel, §3.3), the channels linked to the
       listing's VARIO sales channel for a listing change.
    2. Per channel, the toggle (§3.5 step 6: checked when queuing, and again when processing): off, nothing is
       queued (§3.7 #11).
    3. A stock or price change concerns a channel only if it has a SKU mapping for the article (one query);
       one that is not mapped is parked at once (§3.2, §3.7 #2). A listing change queues the article's
       re-matching, which then requests its stock and price.
    4. Each request is noted on the article's timeline.
    """
    # 1.
    meaning = catalog_event_of(event.event)
    article = event.entity_id
    if meaning is None or not article:
        return IntakeResult(InboxEvent.Status.FAILED, f"not a catalog event with an article id: {event.event}")
    if meaning.kind == LISTING:
        channels = [
            c for c in selectors.sales_channels_of_vario(vario_sales_channel_id=meaning.sales_channel_id) if c.active
        ]
        topic = Topic.MATCH
    else:
        channels = [c for c in selectors.sales_channels_active() if c.vario_sales_channel_id]
        topic = Topic.STOCK if meaning.kind == STOCK else Topic.PRICE
    requested, passed = [], []
    for channel in sorted(channels, key=lambda c: c.code):
        # 2.
        if not topic_enabled(topic=topic, enabled=selectors.transfers_enabled(channel=channel)):
            passed.append(f"{channel.code}: {topic} upload is switched off")
            continue
        # 3.
        mapping = None
        if meaning.kind in (STOCK, PRICE):
            mapping = selectors.sku_mappings_for_articles(channel=channel, vario_article_ids=[article]).get(article)
            if mapping is None:
                passed.append(f"{channel.code}: no SKU mapping for article {article}")
                continue
        work = catalog_work_request(
            channel=channel,
            topic=topic,
            vario_article_id=article,
            debounce=debounce_seconds(channel=channel, topic=topic),
            mapping=mapping,
            check_mapping=meaning.kind in (STOCK, PRICE),
        )
        # 4.
        state = "parked: the SKU is not mapped" if work.state == State.PARKED else work.get_state_display().lower()
        catalog_timeline_add(
            channel_id=channel.pk,
            vario_article_id=article,
            vtex_sku_id=mapping.vtex_sku_id if mapping is not None else None,
            topic=topic,
            kind=Kind.EVENT,
            title=f"VARIO: {event.event} (event {event.pk}) → {topic} {state}",
        )
        requested.append(channel.code)
    if requested:
        return IntakeResult(InboxEvent.Status.PROCESSED, "; ".join(passed))
    return IntakeResult(InboxEvent.Status.IGNORED, "; ".join(passed) or "no active channel with catalog upload")


def catalog_work_release_parked(*, channel: SalesChannel, vario_article_ids: Sequence[str]) -> int:
    """Articles whose SKU is now mapped: their parked stock and price work runs again (design §2.4). Returns how
    many items were released."""
    if not vario_article_ids:
        return 0
    parked = CatalogWork.objects.filter(
        channel=channel, state=State.PARKED, vario_article_id__in=list(vario_article_ids)
    ).values_list("topic", "vario_article_id")
    released = 0
    for topic, article in list(parked):
        catalog_work_request(
            channel=channel,
            topic=topic,
            vario_article_id=article,
            debounce=0.0,
        )
        catalog_timeline_add(
            channel_id=channel.pk,
            vario_article_id=article,
            topic=topic,
            kind=Kind.OPERATOR,
            title="SKU mapped: parked work runs again",
        )
        released += 1
    return released


def catalog_work_request_for(
    *, channel: SalesChannel, vario_article_ids: Sequence[str], topics: Sequence[str] | None = None
) -> int:
    """Request stock and price work (as the toggles allow, or ``topics``) for these articles of ``channel``,
    eligible after each topic's debounce: what a re-match asks for after it mapped them. Returns how many."""
    enabled = selectors.transfers_enabled(channel=channel)
    requested = 0
    for topic in topics or TOGGLES:
        if not topic_enabled(topic=topic, enabled=enabled):
            continue
        debounce = debounce_seconds(channel=channel, topic=topic)
        for article in vario_article_ids:
            catalog_work_request(channel=channel, topic=topic, vario_article_id=article, debounce=debounce)
            requested += 1
    return requested


def catalog_work_retry(*, work: CatalogWork, actor: str) -> CatalogWork:
    """Run one failed or parked item again now (the "retry now" action).

    Steps:
    1. Request the item again with no debounce (``catalog_work_request``): a resting item is queued from scratch,
       its try count reset; a stock or price item whose SKU is not mapped stays parked (§3.2: never sent).
    2. An item still parked has its article matched with VTEX again: a mapping found releases it.
    3. Note the retry on the article's timeline, with who asked.
    """
    mapping = selectors.sku_mappings_for_articles(channel=work.channel, vario_article_ids=[work.vario_article_id]).get(
        work.vario_article_id
    )
    # 1.
    checked = work.topic != Topic.MATCH
    work = catalog_work_request(
        channel=work.channel,
        topic=work.topic,
        vario_article_id=work.vario_article_id,
        debounce=0.0,
        mapping=mapping,
        check_mapping=checked,
    )
    # 2.
    title = f"Retry of {work.get_topic_display().lower()} requested by {actor}"
    if work.state == State.PARKED:
        catalog_work_request(
            channel=work.channel, topic=Topic.MATCH, vario_article_id=work.vario_article_id, debounce=0.0
        )
        title += ": the SKU is still not mapped, matching it again"
    # 3.
    catalog_timeline_add(
        channel_id=work.channel_id,
        vario_article_id=work.vario_article_id,
        vtex_sku_id=mapping.vtex_sku_id if mapping is not None else None,
        topic=work.topic,
        kind=Kind.OPERATOR,
        title=title,
    )
    return work
