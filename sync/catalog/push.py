"""The push: one batch of a channel's stock or price work, from the ERP's current figures to VTEX
(reference/catalog-sync.md §3.5; docs/catalog.md).

``catalog_batch_run`` is the recipe the job runs (``catalog_push_job``):

1. Claim up to ``CATALOG_BATCH_SIZE`` (≤ 50, §3.5 step 3) eligible items of the channel and topic: they become
   running, with a run token whose Redis lock proves the batch alive to the sweep.
2. Check the channel again: inactive, or the topic's toggle switched off since the items were queued (§3.5
   step 6: checked when queuing and again when processing) → skipped, no call.
3. Read the channel's configuration and the items' SKU mappings (one query); an article whose SKU is not
   mapped is parked (§3.2: never sent), released when it is (``sync.catalog.signals``).
4. Read the ERP for the whole batch in one query (stock per storage, or sales prices; the listing's
   "sellable without stock" and the RRPs only when the configuration uses them, one query each).
5. Plan (``sync.catalog.plan``) and push only what differs from what VTEX was last told: per SKU and
   warehouse one inventory PUT, at most one in flight and at least ``CATALOG_INVENTORY_SPACING_SECONDS``
   apart (§3.5 step 4); per SKU one whole price PUT.
6. Classify each failure once (§3.5 step 5): 423 → again after 3 s with a fresh read; 429 or a full limiter
   window → the route's block is the limiter's, the untried rest of the batch waits it out without counting
   a try; 5xx and timeouts → back-off (``runner.next_try``), then failed; 400/403 → failed with VTEX's body;
   404 on the warehouse → failed ``UNKNOWN_WAREHOUSE`` (no retry loop); 404 on the SKU → the mapping is
   unmapped, the article re-matched and its work parked until it is mapped again; an invalid price → failed
   ``INVALID_PRICE`` without a call.
7. Record what VTEX accepted as last sent (``mappings.services``, only changed fields), end each item (an
   item whose generation grew while it ran is queued again: the newest read wins), write the timelines, and
   queue the next batch for the earliest eligible item.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from redis.exceptions import RedisError

from mappings import selectors, services
from mappings.models import SalesChannel, SkuMapping, SkuMappingStatus
from portal.redis import redis_connection
from sync.catalog.batch import (
    CHANNEL_INACTIVE,
    DONE_UNCHANGED,
    ERP_ERROR,
    ERP_UNAVAILABLE,
    INVENTORY_LOCKED,
    NOT_CONFIGURED,
    RETRY,
    ROUTE_WAIT,
    TOGGLE_OFF,
    UNEXPECTED,
    UNKNOWN_WAREHOUSE,
    VTEX_FORBIDDEN,
    VTEX_REJECTED,
    VTEX_UNAVAILABLE,
    Batch,
    BatchReport,
    ItemEnd,
)
from sync.catalog.intake import (
    MATCH_DEBOUNCE_SECONDS,
    UNMAPPED,
    catalog_work_request,
    debounce_seconds,
    topic_enabled,
    unmapped_message,
)
from sync.catalog.models import CatalogWork
from sync.catalog.plan import PriceInvalid, PriceRules, StockRules, TableRule, price_plan, stock_plan
from sync.catalog.skus import sku_match_batch
from sync.catalog.timeline import CatalogTimeline, Kind
from sync.clients.errors import AuthError, NotFoundError, RejectedError, RemoteError, RetryableError
from sync.clients.vtex_logistics import warehouse_not_found
from sync.locks import order_lock
from sync.queue import catalog_push_enqueue, catalog_push_queued
from sync.remotes import (
    NotConfigured,
    vario_client,
    vtex_logistics_client_for,
    vtex_pricing_client_for,
)
from sync.runner import Try, next_try

logger = logging.getLogger(__name__)

Topic = CatalogWork.Topic
State = CatalogWork.State
RUN_LOCK = "catalog-run:{token}"
# --- the recipe ---------------------------------------------------------------------------------------------


def catalog_batch_run(*, channel_id: int, topic: str, now: datetime | None = None) -> BatchReport:
    """One batch of one channel's work in ``topic`` (module docstring, steps 1-7)."""
    report = BatchReport()
    # 1.
    batch = _claim(channel_id=channel_id, topic=topic, now=now or timezone.now())
    if batch is None:
        _queue_next(channel_id=channel_id, topic=topic)
        return report
    report.taken = len(batch.items)
    try:
        with order_lock(RUN_LOCK.format(token=batch.token)):
            _run(batch)
    except Exception as exc:  # a bug or an outage: each item visibly failed or retried, never left running
        logger.exception("catalog batch %s (%s of channel %s) crashed", batch.token, topic, channel_id)
        crash = ItemEnd(RETRY, reason=UNEXPECTED, message=f"The batch stopped: {type(exc).__name__}: {exc}")
        for item in batch.open_items():
            batch.end(item, crash)
    finally:
        # 7.
        _finish(batch)
        batch.timeline.flush()
        _queue_next(channel_id=channel_id, topic=topic)
    for end in batch.ends.values():
        report.count(end)
    report.sent = batch.sent
    return report


def catalog_skus_push(
    *,
    channel: SalesChannel,
    topic: str,
    mappings: Sequence[SkuMapping],
    force: bool = False,
    dry_run: bool = False,
    label: str = "",
) -> dict[str, ItemEnd]:
    """Push these mapped SKUs' stock or price now, in the caller's lane, as one batch of the incremental push
    (steps 2-6, the same code), without queued work behind them: a bulk run's page (``sync.bulk.catalog``).

    1. Build a batch of unsaved items, one per mapping (never stored: nothing is claimed or ended).
    2. Run steps 2-6 on it: toggles, configuration, one ERP read for all, plan, push, classify failures.
       ``force`` sends even what VTEX was last told; ``dry_run`` records nothing as sent (the caller holds
       the writes) and writes no timeline.
    3. Return each article's end; a retry end is the caller's to hand on (the batch queues nothing).
    """
    items = [  # 1. (the mapping's id stands for the item's: unique within the batch)
        CatalogWork(pk=m.pk, channel=channel, topic=topic, vario_article_id=m.vario_article_id) for m in mappings
    ]
    batch = Batch(
        channel=channel,
        topic=topic,
        token=uuid.uuid4().hex,
        items=items,
        generations={item.pk: 0 for item in items},
        timeline=CatalogTimeline(channel_id=channel.pk, topic=topic),
        force=force,
        dry_run=dry_run,
        label=label,
    )
    try:
        _run(batch)  # 2.
    finally:
        if not dry_run:
            for item in items:
                end = batch.ends.get(item.pk)
                if end is not None and end.summary:
                    kind = Kind.ATTEMPT if end.state in (State.DONE, State.SKIPPED) else Kind.PROBLEM
                    batch.timeline.add(vario_article_id=item.vario_article_id, kind=kind, title=end.summary)
            batch.timeline.flush()
    missing = ItemEnd(RETRY, UNEXPECTED, "The batch ended before this item.")
    return {item.vario_article_id: batch.ends.get(item.pk, missing) for item in items}  # 3.


def _run(batch: Batch) -> None:
    # 2.
    channel = batch.channel
    if not channel.active:
        _end_all(batch, ItemEnd(State.SKIPPED, CHANNEL_INACTIVE, f"Channel {channel.code} is inactive."))
        return
    if batch.topic == Topic.MATCH:
        # Matching writes nothing to VTEX: it runs with both uploads off too (a channel is matched before its
        # uploads are switched on); the stock and price it then requests are checked against the toggles.
        sku_match_batch(batch)
        return
    if not topic_enabled(topic=batch.topic, enabled=selectors.transfers_enabled(channel=channel)):
        _end_all(batch, ItemEnd(State.SKIPPED, TOGGLE_OFF, f"{batch.topic.capitalize()} upload is switched off."))
        return
    # 3.
    config = selectors.catalog_config_get(channel=channel)
    problems = config.stock_problems() if batch.topic == Topic.STOCK else config.price_problems()
    if problems:
        _end_all(batch, ItemEnd(State.FAILED, NOT_CONFIGURED, " ".join(problems)))
        return
    articles = [item.vario_article_id for item in batch.items]
    mappings = selectors.sku_mappings_for_articles(channel=channel, vario_article_ids=articles)
    for item in batch.items:
        mapping = mappings.get(item.vario_article_id)
        if mapping is None or mapping.status != SkuMappingStatus.MAPPED:
            batch.end(item, ItemEnd(State.PARKED, UNMAPPED, unmapped_message(mapping)))
    mapped = [(item, mappings[item.vario_article_id]) for item in batch.open_items()]
    if not mapped:
        return
    for item in batch.open_items():
        batch.timeline.add(
            vario_article_id=item.vario_article_id,
            vtex_sku_id=mappings[item.vario_article_id].vtex_sku_id,
            kind=Kind.ATTEMPT,
            title=f"{batch.topic.capitalize()} sync started ({batch.label or f'request {batch.generations[item.pk]}'})",
        )
    try:
        if batch.topic == Topic.STOCK:
            _push_stock(batch, config, mapped)
        else:
            _push_price(batch, config, mapped)
    except NotConfigured as exc:
        _end_all(batch, ItemEnd(State.FAILED, NOT_CONFIGURED, str(exc)))


def _end_all(batch: Batch, end: ItemEnd) -> None:
    for item in batch.open_items():
        batch.end(item, end)


# --- 4.-6. stock ---------------------------------------------------------------------------------------------


def stock_rules_of(config) -> StockRules:
    catalog = config.settings
    return StockRules(
        warehouses=config.warehouse_storages(),
        stock_field=catalog.stock_field,
        safety_stock=catalog.safety_stock,
        lead_time=catalog.lead_time,
        unlimited_when_sellable_without_stock=catalog.unlimited_when_sellable_without_stock,
    )


def _push_stock(batch: Batch, config, mapped: list[tuple[CatalogWork, SkuMapping]]) -> None:
    channel, timeline = batch.channel, batch.timeline
    rules = stock_rules_of(config)
    articles = [item.vario_article_id for item, _ in mapped]
    # 4.
    timeline.for_articles((item.vario_article_id, mapping.vtex_sku_id) for item, mapping in mapped)
    vario = vario_client(recorder=timeline)
    try:
        stock = vario.get_stock(articles)
        sellable: dict[str, bool] = {}
        if rules.unlimited_when_sellable_without_stock:
            listings = vario.get_listings(sales_channel_id=channel.vario_sales_channel_id, article_ids=articles)
            sellable = {listing.article_id: listing.sellable_without_stock for listing in listings}
    except RemoteError as exc:
        _erp_failed(batch, exc)
        return
    finally:
        vario.close()
    logistics = vtex_logistics_client_for(channel, recorder=timeline)
    guard = InventoryGuard(account=channel.vtex_account_name)
    sent: dict[int, dict[str, dict]] = {}
    route_wait: RetryableError | None = None
    try:
        for item, mapping in mapped:
            sku = mapping.vtex_sku_id
            # 5.
            plan = stock_plan(
                article_id=item.vario_article_id,
                rows=stock.rows,
                rules=rules,
                sellable_without_stock=sellable.get(item.vario_article_id, False),
            )
            for warning in plan.warnings:
                logger.warning("catalog %s: %s", channel.code, warning)
                timeline.add(vario_article_id=item.vario_article_id, vtex_sku_id=sku, kind=Kind.PROBLEM, title=warning)
            changes = plan.changes(mapping.last_stock_sent, force=batch.force)
            if not changes:
                batch.end(item, DONE_UNCHANGED)
                continue
            if route_wait is not None:
                batch.end(item, _route_wait_end(route_wait))
                continue
            timeline.for_articles([(item.vario_article_id, sku)])
            ends: list[ItemEnd] = []
            for target in changes:
                end, body = _inventory_put(batch, logistics, guard, mapping, target, stock.read_at)
                if body is not None:
                    sent.setdefault(sku, {})[target.warehouse_id] = body
                    batch.sent += 1
                    timeline.add(
                        vario_article_id=item.vario_article_id,
                        vtex_sku_id=sku,
                        kind=Kind.ACTION,
                        title=f"Stock of {target.warehouse_id}: {_stock_text(body)}",
                    )
                if end is not None:
                    ends.append(end)
                    if end.reason == ROUTE_WAIT:
                        route_wait = route_wait or _route_error(end)
                        break
                    if end.reason in (UNMAPPED, VTEX_FORBIDDEN):
                        break  # the SKU is gone, or the credentials may not write: no other warehouse will do
            done = f"Sent stock for {', '.join(t.warehouse_id for t in changes)}."
            batch.end(item, _worst(ends) or ItemEnd(State.DONE, message=done))
            if any(end.reason == VTEX_FORBIDDEN for end in ends):
                _end_all(batch, _worst(ends))  # the same credentials fail every other SKU too
                return
    finally:
        logistics.close()
        # 7. (recorded here, before the items end: a crash after this only sends the same values again)
        if sent and not batch.dry_run:
            services.sku_mappings_stock_sent_record(channel=channel, sent=sent, at=timezone.now())


def _stock_text(body: dict) -> str:
    if body.get("unlimitedQuantity"):
        return "unlimited"
    return f"{body.get('quantity')} (lead time {body.get('leadTime')})"


def _inventory_put(batch: Batch, logistics, guard, mapping: SkuMapping, target, read_at: datetime):
    """One inventory PUT under the pair's guard: (the item's end if it did not simply succeed, the body sent)."""
    sku = mapping.vtex_sku_id
    waited = guard.acquire(sku=sku, warehouse=target.warehouse_id)
    if waited is not None:
        return ItemEnd(
            RETRY,
            INVENTORY_LOCKED,
            f"Another update of SKU {sku} in {target.warehouse_id} is under way or just sent.",
            delay=waited,
            counts_try=False,
            exact_delay=True,
        ), None
    try:
        logistics.update_inventory(
            sku,
            target.warehouse_id,
            quantity=target.quantity,
            unlimited_quantity=target.unlimited,
            lead_time=target.lead_time,
            date_utc_on_balance_system=read_at,
        )
    except RetryableError as exc:
        return _retryable_end(exc), None
    except NotFoundError as exc:
        if warehouse_not_found(exc):
            message = (
                f"VTEX does not know warehouse {target.warehouse_id} (the warehouse map names it): {exc.body_excerpt}"
            )
            return ItemEnd(State.FAILED, UNKNOWN_WAREHOUSE, message), None
        return _sku_gone(batch, mapping, exc), None
    except RejectedError as exc:
        return _rejected_end(exc), None
    except ValueError as exc:  # refused by the client before sending (a value VTEX cannot take)
        return ItemEnd(State.FAILED, VTEX_REJECTED, str(exc)), None
    finally:
        guard.release(sku=sku, warehouse=target.warehouse_id)
    body = {**target.body(), "dateUtcOnBalanceSystem": read_at.isoformat(timespec="milliseconds")}
    return None, body


class InventoryGuard:
    """At most one inventory write in flight per (SKU, warehouse) of a VTEX account, and at least
    ``CATALOG_INVENTORY_SPACING_SECONDS`` between two (§3.5 step 4), for every worker: a Redis key per pair,
    held while the write is under way and for the spacing after it. A write that finds the pair busy waits
    when the rest is short, and otherwise gives the item back to the queue."""

    def __init__(self, *, account: str) -> None:
        self.account = account
        self.spacing = settings.CATALOG_INVENTORY_SPACING_SECONDS
        # Held for a whole write: the limiter's wait, the connection and the answer, then the spacing.
        self.lease = (
            settings.LIMITER_MAX_WAIT_SECONDS
            + settings.REMOTE_CONNECT_TIMEOUT
            + settings.REMOTE_READ_TIMEOUT
            + self.spacing
        )
        self.redis = redis_connection()

    def _key(self, sku: int, warehouse: str) -> str:
        return f"portal:catalog:inventory:{self.account}:{sku}:{warehouse}"

    def acquire(self, *, sku: int, warehouse: str) -> float | None:
        """None once this worker may write; else the seconds until it may try again."""
        key = self._key(sku, warehouse)
        for _ in range(3):
            if self.redis.set(key, "writing", nx=True, px=max(round(self.lease * 1000), 1)):
                return None
            rest = max(self.redis.pttl(key), 0) / 1000
            if self.redis.get(key) == b"writing" or rest > self.spacing:
                # Another worker is writing it: come back after a spacing, rather than hold this batch.
                return max(min(rest, self.spacing), 0.1)
            time.sleep(rest)
        return max(self.spacing, 0.1)

    def release(self, *, sku: int, warehouse: str) -> None:
        """The write is over: the pair stays taken for the spacing."""
        if self.spacing > 0:
            self.redis.set(self._key(sku, warehouse), "spacing", px=max(round(self.spacing * 1000), 1))
        else:
            self.redis.delete(self._key(sku, warehouse))


# --- 4.-6. prices --------------------------------------------------------------------------------------------


def price_rules_of(config, channel: SalesChannel) -> PriceRules:
    catalog = config.settings
    return PriceRules(
        sales_channel_id=channel.vario_sales_channel_id,
        currency=catalog.currency,
        price_mode=catalog.price_mode,
        base_price_group_id=catalog.base_price_group_id,
        list_price_source=catalog.list_price_source,
        list_price_group_id=catalog.list_price_group_id,
        list_price_country=catalog.list_price_country,
        tables=tuple(TableRule(t.vtex_price_table, t.vario_price_group_id, t.price_mode) for t in config.price_tables),
    )


def _push_price(batch: Batch, config, mapped: list[tuple[CatalogWork, SkuMapping]]) -> None:
    channel, timeline = batch.channel, batch.timeline
    rules = price_rules_of(config, channel)
    articles = [item.vario_article_id for item, _ in mapped]
    # 4.
    timeline.for_articles((item.vario_article_id, mapping.vtex_sku_id) for item, mapping in mapped)
    vario = vario_client(recorder=timeline)
    try:
        prices = vario.get_sales_prices(articles)
        rrps = vario.get_recommended_retail_prices(articles) if rules.list_price_source == "rrp" else ()
    except RemoteError as exc:
        _erp_failed(batch, exc)
        return
    finally:
        vario.close()
    now = timezone.localtime()
    pricing = vtex_pricing_client_for(channel, recorder=timeline)
    sent: dict[int, dict] = {}
    route_wait: RetryableError | None = None
    try:
        for item, mapping in mapped:
            sku = mapping.vtex_sku_id
            # 5.
            target = price_plan(article_id=item.vario_article_id, prices=prices, rrps=rrps, rules=rules, now=now)
            if isinstance(target, PriceInvalid):
                batch.end(item, ItemEnd(State.FAILED, target.code, target.message))
                continue
            for warning in target.warnings:
                timeline.add(vario_article_id=item.vario_article_id, vtex_sku_id=sku, kind=Kind.PROBLEM, title=warning)
            if not target.changed(mapping.last_price_sent, force=batch.force):
                batch.end(item, DONE_UNCHANGED)
                continue
            if route_wait is not None:
                batch.end(item, _route_wait_end(route_wait))
                continue
            timeline.for_articles([(item.vario_article_id, sku)])
            try:
                pricing.update_price(
                    sku, base_price=target.base_price, list_price=target.list_price, fixed_prices=target.fixed_prices
                )
            except RetryableError as exc:
                end = _retryable_end(exc)
                if end.reason == ROUTE_WAIT:
                    route_wait = exc
                batch.end(item, end)
                continue
            except NotFoundError as exc:
                batch.end(item, _sku_gone(batch, mapping, exc))
                continue
            except RejectedError as exc:
                batch.end(item, _rejected_end(exc))
                if isinstance(exc, AuthError):
                    _end_all(batch, _rejected_end(exc))  # the same credentials fail every other SKU too
                    return
                continue
            except ValueError as exc:
                batch.end(item, ItemEnd(State.FAILED, VTEX_REJECTED, str(exc)))
                continue
            body = target.body()
            sent[sku] = body
            batch.sent += 1
            timeline.add(
                vario_article_id=item.vario_article_id,
                vtex_sku_id=sku,
                kind=Kind.ACTION,
                title=f"Price sent: {body['basePrice']}"
                + (f" (list {body['listPrice']})" if "listPrice" in body else "")
                + (f", {len(body['fixedPrices'])} fixed" if body["fixedPrices"] else ""),
            )
            batch.end(item, ItemEnd(State.DONE, message="Price sent."))
    finally:
        pricing.close()
        if sent and not batch.dry_run:
            services.sku_mappings_price_sent_record(channel=channel, sent=sent, at=timezone.now())


# --- 6. errors -----------------------------------------------------------------------------------------------


def _erp_failed(batch: Batch, exc: RemoteError) -> None:
    """The ERP read failed for the whole batch: a retryable error retries every item, any other fails them."""
    if isinstance(exc, RetryableError):
        _end_all(batch, ItemEnd(RETRY, ERP_UNAVAILABLE, str(exc), delay=exc.retry_after))
    else:
        _end_all(batch, ItemEnd(State.FAILED, ERP_ERROR, str(exc)))


def _is_route_wait(exc: RetryableError) -> bool:
    """A 429 (the client has blocked the route for everyone) or the limiter's window too full to wait for
    (raised before sending, so it carries no method): the route is closed for a while, not the SKU's problem."""
    return exc.status == 429 or not exc.method


def _retryable_end(exc: RetryableError) -> ItemEnd:
    if exc.status == 423:
        # VTEX discarded it: another update of the pair came within milliseconds (§1.4.2). Again after 3 s,
        # from a fresh ERP read (the whole item runs again).
        return ItemEnd(RETRY, INVENTORY_LOCKED, str(exc), delay=exc.retry_after or 3.0, exact_delay=True)
    if _is_route_wait(exc):
        # Not applied (§1.6: a Retry-After means "not processed"): sent again once the route opens. VTEX's pacing,
        # not the SKU's failure, so no try is counted (§3.7 #7: every item ends done).
        return ItemEnd(RETRY, ROUTE_WAIT, str(exc), delay=exc.retry_after, counts_try=False, exact_delay=True)
    return ItemEnd(RETRY, VTEX_UNAVAILABLE, str(exc), delay=exc.retry_after)


def _route_error(end: ItemEnd) -> RetryableError:
    return RetryableError(end.message, retry_after=end.delay, remote="vtex", status=429)


def _route_wait_end(exc: RetryableError) -> ItemEnd:
    """An item behind a closed route: it waits the route's wait out and has not been tried."""
    return ItemEnd(
        RETRY,
        ROUTE_WAIT,
        f"Not sent: the VTEX route waits ({exc.message}).",
        delay=exc.retry_after,
        counts_try=False,
        exact_delay=True,
    )


def _rejected_end(exc: RejectedError) -> ItemEnd:
    """400/403 (and a 404 that is neither SKU nor warehouse): failed with VTEX's body (§3.5 step 5)."""
    body = f" VTEX answered: {exc.body_excerpt}" if exc.body_excerpt else ""
    return ItemEnd(State.FAILED, VTEX_FORBIDDEN if isinstance(exc, AuthError) else VTEX_REJECTED, f"{exc}.{body}")


def _sku_gone(batch: Batch, mapping: SkuMapping, exc: NotFoundError) -> ItemEnd:
    """VTEX does not know the SKU (§3.5 step 5): the mapping is unmapped, the article matched again, and its
    work parked until the mapping is back (the release then runs it)."""
    channel = batch.channel
    message = f"VTEX does not know SKU {mapping.vtex_sku_id} any more ({exc.message}); matching it again."
    services.sku_mapping_unmap(channel=channel, vtex_sku_id=mapping.vtex_sku_id, message=message)
    catalog_work_request(
        channel=channel, topic=Topic.MATCH, vario_article_id=mapping.vario_article_id, debounce=MATCH_DEBOUNCE_SECONDS
    )
    return ItemEnd(State.PARKED, UNMAPPED, message)


_SEVERITY = {State.FAILED: 3, State.PARKED: 2, RETRY: 1}


def _worst(ends: Sequence[ItemEnd]) -> ItemEnd | None:
    """One item's end from its warehouses' ends: failed over parked over retry (a failed warehouse says what a
    person must fix; the next event retries the others)."""
    return max(ends, key=lambda e: _SEVERITY.get(e.state, 0)) if ends else None


# --- 1. and 7.: claiming and ending items --------------------------------------------------------------------


def _claim(*, channel_id: int, topic: str, now: datetime) -> Batch | None:
    token = uuid.uuid4().hex
    with transaction.atomic():
        eligible = (
            CatalogWork.objects.select_for_update(skip_locked=True)
            .filter(channel_id=channel_id, topic=topic, state=State.QUEUED, eligible_at__lte=now)
            .order_by("eligible_at", "id")
            .values_list("pk", flat=True)[: max(1, min(settings.CATALOG_BATCH_SIZE, 500))]
        )
        ids = list(eligible)
        if not ids:
            return None
        CatalogWork.objects.filter(pk__in=ids, state=State.QUEUED).update(
            state=State.RUNNING, run_token=token, started_at=now, updated_at=now
        )
        items = list(CatalogWork.objects.select_related("channel").filter(pk__in=ids, run_token=token).order_by("id"))
    if not items:
        return None
    return Batch(
        channel=items[0].channel,
        topic=topic,
        token=token,
        items=items,
        generations={item.pk: item.generation for item in items},
        timeline=CatalogTimeline(channel_id=channel_id, topic=topic),
    )


def _finish(batch: Batch) -> None:
    """End every item of the batch in one transaction (the rows as they are now: events may have come)."""
    now = timezone.now()
    debounce = debounce_seconds(channel=batch.channel, topic=batch.topic)
    fields = [
        "state",
        "done_generation",
        "finished_at",
        "attempts",
        "eligible_at",
        "queued_at",
        "reason",
        "message",
        "run_token",
        "updated_at",
    ]
    with transaction.atomic():
        rows = list(CatalogWork.objects.select_for_update().filter(pk__in=[i.pk for i in batch.items]))
        changed = []
        for row in rows:
            if row.run_token != batch.token or row.state != State.RUNNING:
                continue  # the sweep gave it to another batch meanwhile
            end = batch.ends.get(row.pk) or ItemEnd(RETRY, UNEXPECTED, "The batch ended before this item.")
            _apply_end(row, end, generation=batch.generations[row.pk], debounce=debounce, now=now)
            row.updated_at = now
            changed.append(row)
            kind = Kind.ATTEMPT if row.state in (State.DONE, State.SKIPPED) else Kind.PROBLEM
            title = f"{row.get_state_display()}: {end.summary}" if end.summary else row.get_state_display()
            if row.state == State.QUEUED and end.state == RETRY:
                title = f"Again in {(row.eligible_at - now).total_seconds():.1f}s ({row.attempts} tries): {end.summary}"
            batch.timeline.add(vario_article_id=row.vario_article_id, kind=kind, title=title, detail=end.message)
        CatalogWork.objects.bulk_update(changed, fields, batch_size=500)


def _apply_end(row: CatalogWork, end: ItemEnd, *, generation: int, debounce: float, now: datetime) -> None:
    row.done_generation = generation
    row.finished_at = now
    row.run_token = ""
    row.reason, row.message = end.reason, end.message[:5000]
    if end.state == RETRY:
        delay = end.delay or 0.0
        if end.counts_try:
            retry = next_try(kind=Try.RETRY, count=row.attempts, reason=end.summary, retry_after=end.delay)
            if retry.gave_up:
                row.state, row.message, row.attempts = State.FAILED, retry.message[:5000], retry.count - 1
                return
            row.attempts = retry.count
            delay = end.delay if end.exact_delay and end.delay else retry.delay
        row.state, row.eligible_at = State.QUEUED, now + timedelta(seconds=delay)
        row.queued_at = row.queued_at or now
        return
    row.state = end.state
    if end.state in (State.DONE, State.SKIPPED):
        row.attempts = 0
    if row.generation > generation and end.state != State.PARKED:
        # Events came while it ran: once more, from a fresh read (§3.5 step 4: the newest read wins).
        last = row.last_event_at or now
        row.state, row.queued_at = State.QUEUED, now
        row.eligible_at = max(now, last + timedelta(seconds=debounce))
        row.attempts = 0 if end.state == State.DONE else row.attempts


def _queue_next(*, channel_id: int, topic: str) -> None:
    """The next batch of this channel and topic, when its earliest queued item is eligible."""
    earliest = (
        CatalogWork.objects.filter(channel_id=channel_id, topic=topic, state=State.QUEUED)
        .order_by("eligible_at")
        .values_list("eligible_at", flat=True)
        .first()
    )
    if earliest is None:
        return
    delay = max((earliest - timezone.now()).total_seconds(), 0.0)
    transaction.on_commit(lambda: catalog_push_enqueue(channel_id=channel_id, topic=topic, delay=delay))


# --- the sweep -----------------------------------------------------------------------------------------------


def _run_alive(token: str) -> bool:
    """Whether the batch ``token`` still holds its lock (``sync.locks.order_lock``'s key: a killed worker's lock
    expires one lease after it)."""
    try:
        return bool(redis_connection().exists(f"portal:lock:{RUN_LOCK.format(token=token)}"))
    except RedisError:
        return True  # cannot tell: leave it for the next sweep


def catalog_sweep(*, now: datetime | None = None) -> dict[str, int]:
    """Rescue work left behind (design §2.1): items left running by a batch whose worker died go back to the
    queue (the try is not counted: nothing says the remote saw it, and every write is an absolute value), and
    every channel and topic with items overdue by ``SYNC_SWEEP_AFTER_SECONDS`` and no job waiting gets one."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.SYNC_SWEEP_AFTER_SECONDS)
    counts = {"rescued": 0, "jobs": 0}
    running = CatalogWork.objects.filter(state=State.RUNNING, started_at__lt=cutoff).values_list("pk", "run_token")
    dead = {token for _, token in running[:1000] if not _run_alive(token)}
    wanted: set[tuple[int, str]] = set()
    if dead:
        rescued = CatalogWork.objects.filter(state=State.RUNNING, run_token__in=dead)
        wanted.update(rescued.values_list("channel_id", "topic").distinct())
        counts["rescued"] = rescued.update(
            state=State.QUEUED, run_token="", eligible_at=now, message="Its batch stopped (worker lost): queued again."
        )
    overdue = (
        CatalogWork.objects.filter(state=State.QUEUED, eligible_at__lt=cutoff)
        .values_list("channel_id", "topic")
        .distinct()
    )
    wanted.update(overdue[:1000])
    for channel_id, topic in sorted(wanted):
        # A job may wait that is due much later (a long back-off of another item): the enqueue helper adds one
        # due now unless one due now waits already.
        waiting = catalog_push_queued(channel_id=channel_id, topic=topic)
        if catalog_push_enqueue(channel_id=channel_id, topic=topic) and not waiting:
            counts["jobs"] += 1
    if any(counts.values()):
        logger.info("catalog sweep: %(rescued)d items rescued, %(jobs)d batch jobs queued", counts)
    return counts
