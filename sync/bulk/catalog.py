"""Stock and price as bulk runs (issue #16 item 5; reference/catalog-sync.md §3.6): the initial sync of every
mapped SKU of a channel, and the reconciliation of VTEX's stock and prices with the ERP's.

Two initial-sync kinds, one per topic (stock, price), rather than one kind with a topic in its scope: each
topic has its own toggle and its own VTEX route (inventory, pricing), so a person starts, pauses or repeats
one without the other, and the two may run side by side (one active run per kind and channel).

One item is one mapped SKU (the run's counts, failures and dry-run calls are per SKU), but the work is done a
page at a time: the page's first item still to do pushes the rest of its page as ONE batch of the incremental
push (``sync.catalog.push.catalog_skus_push``: one ERP query for the page, the same plan, pacing and failure
classes), and the page's other items read their end from the step's cache. Pages are read by mapping id
(keyset, ``Item.after``): a resumed run pushes what follows the last SKU it recorded. Only what VTEX was not
last told is sent (a re-run sends nothing new), so a worker killed mid-page sends again at most the page
in hand's SKUs whose success it had not yet recorded.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils import timezone

from mappings import selectors
from mappings.models import SalesChannel, SkuMapping
from sync.bulk.kinds import BulkKind, Item, ItemResult, Page, Preview, Scope, StepContext
from sync.bulk.models import BulkRun, BulkRunItem
from sync.catalog.batch import DONE_UNCHANGED, ERP_UNAVAILABLE, RETRY, ROUTE_WAIT, ItemEnd
from sync.catalog.intake import catalog_work_request, topic_enabled
from sync.catalog.models import CatalogWork
from sync.catalog.plan import PriceInvalid, price_plan, stock_plan
from sync.catalog.push import catalog_skus_push, price_rules_of, stock_rules_of
from sync.clients.errors import RetryableError
from sync.clients.http import PlannedCall, reads_cached, writes_held
from sync.clients.vtex_pricing import fixed_price_body, money
from sync.dry_run import remote_answer
from sync.remotes import NotConfigured, vario_client, vtex_logistics_client_for, vtex_pricing_client_for

Topic = CatalogWork.Topic
State = CatalogWork.State
# The SKU a held VTEX write is for: its path names it (reference/vtex.md: inventory and pricing paths).
_SKU_IN_PATH = re.compile(r"/inventory/skus/(\d+)/|/pricing/prices/(\d+)")


def page_size() -> int:
    """A page is one push batch: at most CATALOG_BATCH_SIZE (≤ 50, §3.5 step 3) and BULK_PAGE_SIZE."""
    return max(1, min(settings.BULK_PAGE_SIZE, settings.CATALOG_BATCH_SIZE, 50))


@dataclass(frozen=True)
class SkuItem:
    """An item's data: its mapping, and the page's mappings from it on (what one push covers)."""

    mapping: SkuMapping
    rest: tuple[SkuMapping, ...]


class _MappedSkus(BulkKind):
    """Every mapped SKU of the channel, by mapping id."""

    scope_fields = ()

    def preview(self, *, channel: SalesChannel, scope: Scope) -> Preview:
        return Preview(selectors.sku_mappings_count(channel=channel), "mapped SKUs")

    def pages(self, run: BulkRun, *, start: Mapping[str, Any]) -> Iterator[Page]:
        after = int(start.get("after_id") or 0)
        while True:
            mappings = selectors.sku_mappings_page(channel=run.channel, after_id=after, limit=page_size())
            if not mappings:
                return
            after = mappings[-1].pk
            items = tuple(
                Item(
                    str(m.pk),
                    f"{m.vario_article_id} → SKU {m.vtex_sku_id}",
                    SkuItem(m, tuple(mappings[index:])),
                    after={"after_id": m.pk},
                )
                for index, m in enumerate(mappings)
            )
            yield Page(items, {"after_id": after})


class _InitialSync(_MappedSkus):
    topic: str
    scope_fields = ("force",)

    def process(self, run: BulkRun, item: Item, context: StepContext) -> ItemResult:
        """1. The page's push, once per page: the first item still to do pushes itself and the rest of its page.
        2. This SKU's end as the run's outcome (``item_result``)."""
        data: SkuItem = item.data
        cache = context.cache.setdefault(self.topic, {})
        if data.mapping.vario_article_id not in cache:  # 1.
            cache.clear()
            cache.update(
                skus_push(
                    run=run,
                    topic=self.topic,
                    mappings=data.rest,
                    force=Scope.of(run.scope).force,  # only when the run asks for it
                    label=f"bulk run #{run.pk}",
                )
            )
        end, calls = cache.pop(data.mapping.vario_article_id)
        return item_result(run=run, topic=self.topic, mapping=data.mapping, end=end, calls=calls)  # 2.


class StockInitialSync(_InitialSync):
    kind = BulkRun.Kind.STOCK_INITIAL
    topic = Topic.STOCK


class PriceInitialSync(_InitialSync):
    kind = BulkRun.Kind.PRICE_INITIAL
    topic = Topic.PRICE


def skus_push(
    *, run: BulkRun, topic: str, mappings: tuple[SkuMapping, ...], force: bool, label: str
) -> dict[str, tuple[ItemEnd, tuple[dict, ...]]]:
    """Push ``mappings`` as one batch (``catalog_skus_push``); in a dry run, with its writes held and each held
    call given to the SKU its path names. Returns each article's (end, planned calls)."""
    if not run.dry_run:
        ends = catalog_skus_push(channel=run.channel, topic=topic, mappings=mappings, force=force, label=label)
        return {article: (end, ()) for article, end in ends.items()}
    held: list[PlannedCall] = []

    def tap(call: PlannedCall) -> tuple[int, Any]:
        held.append(call)
        return remote_answer(call)

    with writes_held(tap):
        ends = catalog_skus_push(
            channel=run.channel, topic=topic, mappings=mappings, force=force, dry_run=True, label=label
        )
    by_sku: dict[str, list[dict]] = {}
    for call in held:
        found = _SKU_IN_PATH.search(call.path)
        sku = next((group for group in found.groups() if group), "") if found else ""
        by_sku.setdefault(sku, []).append(
            {"remote": call.remote, "method": call.method, "path": call.path, "body": call.body}
        )
    return {m.vario_article_id: (ends[m.vario_article_id], tuple(by_sku.get(str(m.vtex_sku_id), ()))) for m in mappings}


def item_result(
    *, run: BulkRun, topic: str, mapping: SkuMapping, end: ItemEnd, calls: tuple[dict, ...] = ()
) -> ItemResult:
    """An item end of the push as a run's outcome.

    1. The route or the ERP says wait: raised, so the whole step waits and this SKU runs again (nothing was
       sent for it, §1.6).
    2. Another retry (423, 5xx): handed to the incremental queue (its retries and back-off), deferred; a dry
       run hands nothing on.
    3. Done: changed when something was (or would be) sent, else unchanged; skipped stays skipped; parked and
       failed are failures with their reason.
    """
    if end.state == RETRY:
        if end.reason in (ROUTE_WAIT, ERP_UNAVAILABLE):  # 1.
            remote = "vtex" if end.reason == ROUTE_WAIT else "vario"
            raise RetryableError(end.message, retry_after=end.delay, remote=remote)
        if not run.dry_run:  # 2.
            # Eligible after the wait the end names (a 423's 3 s, §3.5 step 5), then the queue's back-off.
            catalog_work_request(
                channel=run.channel,
                topic=topic,
                vario_article_id=mapping.vario_article_id,
                debounce=end.delay or 0.0,
                mapping=mapping,
            )
        return ItemResult(BulkRunItem.Outcome.DEFERRED, end.summary, calls=calls)
    if end.state == State.DONE:  # 3.
        unchanged = end is DONE_UNCHANGED or end == DONE_UNCHANGED
        outcome = BulkRunItem.Outcome.UNCHANGED if unchanged and not calls else BulkRunItem.Outcome.CHANGED
        return ItemResult(outcome, "" if unchanged else end.summary, calls=calls)
    if end.state == State.SKIPPED:
        return ItemResult(BulkRunItem.Outcome.SKIPPED, end.summary, calls=calls)
    return ItemResult(BulkRunItem.Outcome.FAILED, end.summary, calls=calls)


# --- reconciliation ------------------------------------------------------------------------------------------


class CatalogReconciliation(_MappedSkus):
    """For each mapped SKU: read VTEX's inventory per warehouse and its price, compare with what the ERP says
    VTEX should show (``sync.catalog.plan``), record each difference by kind (``stock`` per warehouse,
    ``base_price``, ``list_price``, ``fixed_prices``); a real run repairs by pushing the SKU's topic with
    differences (forced: VTEX shows something else than it was last told), a dry run reports the calls that
    repair would send. Only the topics whose upload is switched on are compared."""

    kind = BulkRun.Kind.CATALOG_RECONCILIATION

    def process(self, run: BulkRun, item: Item, context: StepContext) -> ItemResult:
        """1. The ERP's figures for the whole page, read once per page (cached in the step).
        2. VTEX's inventory and price of this SKU, each read once (``reads_cached``).
        3. The differences, per topic.
        4. None: unchanged. A real run repairs each topic with a difference, a dry run records its calls."""
        data: SkuItem = item.data
        mapping = data.mapping
        desired = _desired_for_page(run, data, context)  # 1.
        topics = desired["topics"]
        if not topics:
            return ItemResult(BulkRunItem.Outcome.SKIPPED, "Stock and price upload are switched off.")
        differences: list[dict] = []
        invalid = ""
        with reads_cached():
            if Topic.STOCK in topics:  # 2. 3.
                inventory = _client(context, "logistics", lambda: vtex_logistics_client_for(run.channel)).get_inventory(
                    mapping.vtex_sku_id
                )
                differences += stock_differences(desired["stock"][mapping.vario_article_id], inventory)
            if Topic.PRICE in topics:
                target = desired["price"][mapping.vario_article_id]
                if isinstance(target, PriceInvalid):  # nothing to compare: the push would fail it too
                    invalid = f"{target.code}: {target.message}"
                else:
                    price = _client(context, "pricing", lambda: vtex_pricing_client_for(run.channel)).get_price(
                        mapping.vtex_sku_id
                    )
                    differences += price_differences(target, price)
        if not differences:  # 4.
            if invalid:
                return ItemResult(BulkRunItem.Outcome.FAILED, invalid)
            return ItemResult(BulkRunItem.Outcome.UNCHANGED)
        titles = "; ".join(d["title"] for d in differences)
        results, calls = [], []
        for topic in (Topic.STOCK, Topic.PRICE):
            if any(d["topic"] == topic for d in differences):
                ends = skus_push(
                    run=run, topic=topic, mappings=(mapping,), force=True, label=f"repair by bulk run #{run.pk}"
                )
                end, held = ends[mapping.vario_article_id]
                results.append(item_result(run=run, topic=topic, mapping=mapping, end=end, calls=held))
                calls += held
        failed = [r for r in results if r.outcome == BulkRunItem.Outcome.FAILED] or invalid
        outcome = BulkRunItem.Outcome.FAILED if failed else BulkRunItem.Outcome.CHANGED
        repair = "; ".join([*(r.detail for r in results if r.detail), *([invalid] if invalid else [])])
        detail = titles if run.dry_run else f"{titles}. Repair: {repair or 'sent'}"
        return ItemResult(outcome, detail, calls=tuple(calls), differences=tuple(differences), repaired=not run.dry_run)


def _client(context: StepContext, name: str, build):
    if name not in context.clients:
        context.clients[name] = build()
    return context.clients[name]


def _desired_for_page(run: BulkRun, data: SkuItem, context: StepContext) -> dict:
    """What VTEX should show for every SKU of the page from ``data`` on: one ERP read per topic for the page."""
    cache = context.cache.get("desired")
    if cache is not None and data.mapping.vario_article_id in cache["articles"]:
        return cache
    channel = run.channel
    enabled = selectors.transfers_enabled(channel=channel)
    config = selectors.catalog_config_get(channel=channel)
    topics = {t for t in (Topic.STOCK, Topic.PRICE) if topic_enabled(topic=t, enabled=enabled)}
    problems = [
        *(config.stock_problems() if Topic.STOCK in topics else ()),
        *(config.price_problems() if Topic.PRICE in topics else ()),
    ]
    if problems:
        raise NotConfigured(" ".join(problems))
    articles = [m.vario_article_id for m in data.rest]
    result: dict[str, Any] = {"articles": set(articles), "topics": topics, "stock": {}, "price": {}}
    vario = vario_client()
    try:
        if Topic.STOCK in topics:
            rules = stock_rules_of(config)
            stock = vario.get_stock(articles)
            sellable: dict[str, bool] = {}
            if rules.unlimited_when_sellable_without_stock:
                listings = vario.get_listings(sales_channel_id=channel.vario_sales_channel_id, article_ids=articles)
                sellable = {listing.article_id: listing.sellable_without_stock for listing in listings}
            for article in articles:
                without = sellable.get(article, False)
                result["stock"][article] = stock_plan(
                    article_id=article, rows=stock.rows, rules=rules, sellable_without_stock=without
                )
        if Topic.PRICE in topics:
            rules = price_rules_of(config, channel)
            prices = vario.get_sales_prices(articles)
            rrps = vario.get_recommended_retail_prices(articles) if rules.list_price_source == "rrp" else ()
            now = timezone.localtime()
            for article in articles:
                result["price"][article] = price_plan(
                    article_id=article, prices=prices, rrps=rrps, rules=rules, now=now
                )
    finally:
        vario.close()
    context.cache["desired"] = result
    return result


def stock_differences(plan, inventory) -> list[dict]:
    """One difference per warehouse whose VTEX balance says other than the plan (total quantity, unlimited,
    lead time; the reservations are VTEX's own, §3.5)."""
    found = []
    for target in plan.targets:
        balance = inventory.balance_in(target.warehouse_id)
        vtex = None
        if balance is not None:
            vtex = {
                "quantity": balance.total_quantity,
                "unlimitedQuantity": balance.unlimited,
                "leadTime": balance.lead_time,
            }
        want = target.body()
        same = vtex is not None and ((want["unlimitedQuantity"] and vtex["unlimitedQuantity"]) or (vtex == want))
        if not same:
            shown = "nothing" if vtex is None else _stock_words(vtex)
            found.append(
                {
                    "kind": "stock",
                    "topic": Topic.STOCK,
                    "warehouse": target.warehouse_id,
                    "title": f"Stock in {target.warehouse_id}: VTEX shows {shown}, the ERP says {_stock_words(want)}",
                    "vtex": vtex,
                    "erp": want,
                }
            )
    return found


def _stock_words(body: Mapping) -> str:
    if body.get("unlimitedQuantity"):
        return "unlimited"
    return f"{body.get('quantity')} (lead time {body.get('leadTime')})"


def price_differences(target, price) -> list[dict]:
    """Base price, list price and the fixed prices (as one set: the PUT replaces them all, §1.5.2)."""
    want = target.body()
    if price is None:
        return [_price_difference("base_price", "VTEX has no price", None, want["basePrice"])]
    found = []
    vtex_base = money(price.base_price, "basePrice") if price.base_price and price.base_price > 0 else None
    if vtex_base != want["basePrice"]:
        found.append(_price_difference("base_price", "Base price", vtex_base, want["basePrice"]))
    vtex_list = money(price.list_price, "listPrice") if price.list_price and price.list_price > 0 else None
    if vtex_list != want.get("listPrice"):
        found.append(_price_difference("list_price", "List price", vtex_list, want.get("listPrice")))
    vtex_fixed = sorted(_fixed_key(fixed) for fixed in price.fixed_prices)
    want_fixed = sorted(json.dumps(body, sort_keys=True) for body in want["fixedPrices"])
    if vtex_fixed != want_fixed:
        found.append(
            _price_difference(
                "fixed_prices", "Fixed prices", [json.loads(f) for f in vtex_fixed], [json.loads(f) for f in want_fixed]
            )
        )
    return found


def _fixed_key(fixed) -> str:
    try:
        return json.dumps(fixed_price_body(fixed), sort_keys=True)
    except ValueError:  # VTEX shows one the portal would never send (a zero value): a difference
        return json.dumps({"tradePolicyId": fixed.trade_policy_id, "value": str(fixed.value)}, sort_keys=True)


def _price_difference(kind: str, what: str, vtex: Any, erp: Any) -> dict:
    return {
        "kind": kind,
        "topic": Topic.PRICE,
        "title": f"{what}: VTEX shows {vtex}, the ERP says {erp}" if what != "VTEX has no price" else what,
        "vtex": vtex,
        "erp": erp,
    }
