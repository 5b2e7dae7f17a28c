"""VTEX → ERP: bring a VTEX order into VARIO ERP, exactly once, and tell VTEX the ERP has it.

``order_import`` is what the job, the admin's retry and the sweep end in. Like the outbound sync it is
level-triggered (design §2.2): it ignores what the feed event said and acts on the order's *current*
VTEX status. Duplicate, late or reordered feed events, a hook and a feed reporting the same change,
or a worker killed half-way are harmless because every step first looks at what already exists:

1. the order link, then VARIO itself (VQL by external id), before creating an ERP order; a create
   whose answer was lost (timeout, 5xx) is written down before it is sent, and until the order shows
   in VARIO (either external-id field) or a person retries, it is not sent again;
2. the VTEX status before start-handling (only from ``ready-for-handling``; OMS003 after a re-read
   means someone else, or our previous run, already did it).

The feed poller (``sync.feed``) and the hook receiver (``sync.hooks``) only store events; the inbox
turns them into a request for this work (``sync.inbox._process_vtex_order_event``).
"""

from __future__ import annotations

import contextlib

from django.conf import settings
from django.utils import timezone
from redis.exceptions import RedisError

from mappings import selectors
from mappings.models import SalesChannel, SyncType
from mappings.services import order_link_record
from portal.redis import redis_connection
from sync.clients.dtos import ErpDocument, VtexItem, VtexOrder
from sync.clients.errors import PayloadError, RejectedError, RetryableError
from sync.clients.vario import EXTERNAL_ID_FIELDS, VarioClient
from sync.clients.vtex import VtexClient
from sync.locks import lock_confirm
from sync.models import OrderSync, TimelineEntry
from sync.outcomes import Conflict, Done, Failed, NotYet, Outcome, Parked, Skipped
from sync.remotes import vario_client, vtex_client_for
from sync.runner import order_sync_request, order_sync_run
from sync.timeline import TimelineRecorder, timeline_add
from sync.transforms import ErpImportConfig, OrderImportError, erp_order_request_from_vtex_order

# VTEX statuses in which an order belongs in the ERP (reference/vtex.md §8.2). Earlier statuses are
# not paid/approved yet; the feed reports ready-for-handling when they are.
IMPORT_STATUSES = frozenset({"ready-for-handling", "start-handling", "handling"})
# Invoiced orders were fulfilled elsewhere: importing them would ship them twice.
TOO_LATE_STATUSES = frozenset({"invoice", "invoiced"})
CANCEL_STATUSES = frozenset({"cancellation-requested", "cancel", "canceled"})
ALREADY_HANDLED_CODES = frozenset({"OMS003"})
# VARIO's answer to a create that conflicts with an existing document, e.g. the same external id if
# the tenant enforces it (reference §4.6 leaves that open): the order may exist, so it is looked up.
DUPLICATE_STATUS = 409
ARTICLE_CACHE_KEY = "portal:vario:article:{kind}:{key}"


def order_import(*, order_sync_id: int) -> None:
    order_sync_run(order_sync_id=order_sync_id, work=order_import_work)


# --- articles ----------------------------------------------------------------------------------------


def _cached_lookup(kind: str, key: str, lookup) -> str | None:
    """Article ids by number/EAN, cached in Redis: 34 articles should not cost a VQL call per order line.

    Only hits are cached, so an article added in the ERP is found on the very next run.
    """
    cache_key = ARTICLE_CACHE_KEY.format(kind=kind, key=key)
    try:
        cached = redis_connection().get(cache_key)
    except RedisError:
        cached = None
    if cached:
        return cached.decode()
    try:
        article_id = lookup(key)
    except ValueError:  # characters VQL literals cannot carry: not an article key
        return None
    if article_id:
        with contextlib.suppress(RedisError):
            redis_connection().set(cache_key, article_id, ex=int(settings.VARIO_ARTICLE_CACHE_SECONDS))
    return article_id


def _article_id(vario: VarioClient, item: VtexItem) -> str | None:
    """refId (the ERP article number by convention), then EAN, then the VTEX SKU id as article number."""
    candidates = [("number", item.ref_id), ("ean", item.ean), ("number", item.sku_id)]
    lookups = {"number": vario.find_article_id, "ean": vario.find_article_id_by_ean}
    for kind, key in candidates:
        key = (key or "").strip()
        if key and (article_id := _cached_lookup(kind, key, lookups[kind])):
            return article_id
    return None


def _article_ids(vario: VarioClient, order: VtexOrder) -> dict[int, str] | Parked:
    ids: dict[int, str] = {}
    for item in order.items:
        if item.quantity <= 0:
            continue
        article_id = _article_id(vario, item)
        if article_id is None:
            sku = item.ref_id or item.sku_id
            return Parked(
                f"sku:{sku}",
                f"SKU {sku} (VTEX item {item.index + 1} '{item.name}', SKU id {item.sku_id}, EAN {item.ean or '—'}) "
                "has no article in VARIO ERP (looked up by refId, EAN and SKU id). Add the article, then retry.",
            )
        ids[item.index] = article_id
    return ids


# --- steps ---------------------------------------------------------------------------------------------


def _import_config(channel: SalesChannel) -> ErpImportConfig:
    return ErpImportConfig(
        order_type_id=channel.vario_order_type_id,
        account_id=channel.vario_account_id,
        sales_channel_id=channel.vario_sales_channel_id,
        delivery_method_id=channel.vario_delivery_method_id,
        payment_method_id=channel.vario_payment_method_id,
    )


def _erp_order_ref(vario: VarioClient, sync: OrderSync, order_id: str) -> tuple[str, str] | None:
    link = selectors.order_link_get(channel=sync.channel, vtex_order_id=order_id)
    if link is not None and link.erp_order_id:
        return link.erp_order_id, link.erp_order_number
    if sync.erp_order_id:  # created by an earlier run that stopped before it linked the order
        return sync.erp_order_id, sync.erp_order_number
    # After a create with no clear answer, both fields the create writes are searched (§4.2).
    fields = EXTERNAL_ID_FIELDS if sync.erp_create_sent_at else EXTERNAL_ID_FIELDS[:1]
    for field in fields:
        ref = vario.find_order_ref_by_external_id(
            sales_channel_id=sync.channel.vario_sales_channel_id, external_id=order_id, field=field
        )
        if ref is not None:
            return ref
    return None


def _remember_erp_order(sync: OrderSync, erp_id: str, erp_number: str) -> None:
    sync.erp_order_id, sync.erp_order_number, sync.erp_create_sent_at = erp_id, erp_number, None
    if sync.pk is None:  # a dry run's unsaved copy (sync.dry_run): kept in memory only
        return
    # The runner's finish keeps the number and the link; the id is written here.
    OrderSync.objects.filter(pk=sync.pk).update(
        erp_order_id=erp_id, erp_order_number=erp_number, erp_create_sent_at=None
    )


def _create_sent(sync: OrderSync, at) -> None:
    sync.erp_create_sent_at = at
    if sync.pk is not None:  # not for a dry run's unsaved copy: it created nothing
        OrderSync.objects.filter(pk=sync.pk).update(erp_create_sent_at=at)


def _link_record(sync: OrderSync, **fields) -> None:
    """The order link learns what the run saw. A dry run's unsaved copy of the row records nothing: a
    later real run reads the link (it is how the import knows the order is in the ERP)."""
    if sync.pk is None:
        return
    link = order_link_record(channel=sync.channel, vtex_order_id=sync.vtex_order_id, **fields)
    sync.order_link_id = link.pk


def _erp_order_create(vario: VarioClient, sync: OrderSync, request: dict) -> ErpDocument:
    """Written down before it is sent: a create whose answer is lost may have made the order, and
    sending it again would make a twin (reference/vario-erp.md §4.6: VARIO does not promise to refuse
    a second order with the same external id; keep an idempotency record of your own)."""
    _create_sent(sync, timezone.now())
    try:
        return vario.create_document(request)
    except RetryableError as exc:
        if not exc.may_have_applied:
            _create_sent(sync, None)
        raise
    except RejectedError as exc:
        if exc.status != DUPLICATE_STATUS:
            _create_sent(sync, None)
        raise


def _unclear_create(sync: OrderSync, order_id: str) -> Outcome:
    sent_at = sync.erp_create_sent_at
    if (timezone.now() - sent_at).total_seconds() < settings.ERP_CREATE_CONFIRM_SECONDS:
        return NotYet(
            f"The ERP order create sent at {sent_at:%Y-%m-%d %H:%M:%S} UTC got no clear answer; looking for the "
            "order in VARIO before creating it again"
        )
    return Conflict(
        f"The ERP order create sent at {sent_at:%Y-%m-%d %H:%M} UTC got no clear answer, and no ERP order with "
        f"external id {order_id} shows in VARIO ({' or '.join(EXTERNAL_ID_FIELDS)}). Check VARIO: a retry "
        "creates the order again."
    )


def _start_handling(vtex: VtexClient, sync: OrderSync, order: VtexOrder) -> Outcome | str:
    """Start-handling once, only from ready-for-handling. Returns the VTEX status after it, or an outcome."""
    if order.status != "ready-for-handling":
        return order.status
    try:
        vtex.start_handling(order.order_id)
    except RejectedError as exc:
        if exc.code not in ALREADY_HANDLED_CODES:
            raise
        current = vtex.get_order(order.order_id)
        if current.status == "ready-for-handling":  # refused although it is ready: VTEX is not there yet
            return NotYet(f"VTEX refused start-handling ({exc.code}) while the order is ready-for-handling")
        timeline_add(
            order_sync=sync,
            kind=TimelineEntry.Kind.ACTION,
            title=f"Start handling: VTEX says the order already left ready-for-handling ({current.status})",
        )
        return current.status
    timeline_add(order_sync=sync, kind=TimelineEntry.Kind.ACTION, title="Start handling sent")
    return "handling"


def _import(vtex: VtexClient, vario: VarioClient, sync: OrderSync, order: VtexOrder, lock) -> Outcome:
    channel = sync.channel
    ref = _erp_order_ref(vario, sync, order.order_id)
    if ref is None and sync.erp_create_sent_at is not None:
        return _unclear_create(sync, order.order_id)
    if ref is None and not (channel.vario_order_type_id and channel.vario_account_id):
        return Failed(
            f"Sales channel {channel.code} has no VARIO order document type id or collective account id: set "
            "both (the tenant's CUSTOMER_ORDER type and its marketplace account) in the channel's order import "
            "settings, then retry"
        )
    if ref is None:
        other = selectors.order_link_of_another_channel(channel=channel, vtex_order_id=order.order_id)
        if other is not None:
            return Conflict(
                f"VTEX order {order.order_id} is already in the ERP as {other.erp_order_number or other.erp_order_id}, "
                f"imported by sales channel {other.channel.code} of the same VTEX account. Give the channels "
                "disjoint VTEX trade policies so that one of them imports each order."
            )
        article_ids = _article_ids(vario, order)
        if isinstance(article_ids, Parked):
            return article_ids
        try:
            request = erp_order_request_from_vtex_order(order, article_ids=article_ids, config=_import_config(channel))
        except OrderImportError as exc:
            return Conflict(str(exc))
        lock_confirm(lock)  # a second writer holding the order now would create a twin
        try:
            document = _erp_order_create(vario, sync, request)
        except RejectedError as exc:
            if exc.status != DUPLICATE_STATUS:
                raise
            return NotYet(f"VARIO refused the ERP order create as a conflict ({exc.message}); looking for the order")
        except PayloadError as exc:  # a 2xx: the order exists, its answer is unreadable
            return NotYet(f"VARIO created the ERP order but its answer is unreadable ({exc.message}); looking for it")
        if document.category and document.category != "CUSTOMER_ORDER":
            # The record of the create stays: later runs must not make one more such document, and the
            # lookup (customer orders only) will not find this one. A person's retry clears it.
            return Conflict(
                f"VARIO created document {document.number or document.id} as a {document.category}, not a customer "
                f"order: document type {channel.vario_order_type_id} of sales channel {channel.code} is not a "
                "CUSTOMER_ORDER type. Fix the channel, settle that document in VARIO, then retry."
            )
        ref = (document.id, document.number)
        lines = sum(1 for line in request["document"]["lines"] if line["lineType"] == "ARTICLE_LINE")
        timeline_add(
            order_sync=sync,
            kind=TimelineEntry.Kind.ACTION,
            title=f"ERP order {document.number} (id {document.id}) created with {lines} article line(s)",
        )
        created = True
    else:
        created = False
    erp_id, erp_number = ref
    _remember_erp_order(sync, erp_id, erp_number)
    _link_record(
        sync,
        erp_order_id=erp_id,
        erp_order_number=erp_number,
        marketplace_order_id=order.marketplace_order_id,
        vtex_status=order.status,
    )
    status = _start_handling(vtex, sync, order)
    if not isinstance(status, str):
        return status
    _link_record(sync, vtex_status=status)
    verb = "imported as" if created else "already in the ERP as"
    return Done(f"VTEX order {order.order_id} {verb} {erp_number}; VTEX {status}")


def _status_sync_request(sync: OrderSync, *, erp_order: ErpDocument, vtex_order_id: str) -> None:
    if sync.pk is None:
        # A dry run requests nothing (it would queue real work); its report says what would be asked for.
        timeline_add(
            order_sync=sync,
            kind=TimelineEntry.Kind.ACTION,
            title=f"ERP → VTEX sync of ERP order {erp_order.number} requested, to accept the cancellation in VTEX",
        )
        return
    order_sync_request(
        kind=OrderSync.Kind.STATUS,
        channel=sync.channel,
        key=erp_order.id,
        erp_order_id=erp_order.id,
        erp_order_number=erp_order.number,
        vtex_order_id=vtex_order_id,
        erp_dissolved=True,
    )


def _cancel(vtex: VtexClient, vario: VarioClient, sync: OrderSync, order: VtexOrder) -> Outcome:
    """VTEX cancelled, or the customer asked to: dissolve the ERP order unless something is shipped."""
    channel = sync.channel
    ref = _erp_order_ref(vario, sync, order.order_id)
    if ref is None and sync.erp_create_sent_at is not None:
        # The order may be in the ERP already: telling VTEX it never was could let a cancelled order ship.
        return _unclear_create(sync, order.order_id)
    if ref is None:
        if order.status == "cancellation-requested":
            # Nothing to undo in the ERP: accepting the request is cancelling it in VTEX.
            vtex.cancel_order(order.order_id, reason="Cancellation request accepted: the order was never in the ERP")
            timeline_add(order_sync=sync, kind=TimelineEntry.Kind.ACTION, title="Order cancelled in VTEX")
            return Done("Cancellation request accepted: the order never reached the ERP")
        return Done(f"VTEX order is {order.status} and never reached the ERP: nothing to do")
    erp_order: ErpDocument = vario.get_document(ref[0])
    _remember_erp_order(sync, erp_order.id, erp_order.number)
    _link_record(
        sync,
        erp_order_id=erp_order.id,
        erp_order_number=erp_order.number,
        vtex_status=order.status,
        erp_state=erp_order.state_key,
    )
    if erp_order.state_key not in set(channel.erp_cancelled_state_keys):
        if any(line.quantity_committed > 0 for line in erp_order.article_lines):
            return Conflict(
                f"VTEX order {order.order_id} is {order.status}, but ERP order {erp_order.number} has already "
                "shipped goods and cannot be dissolved. Deny the cancellation request in VTEX or settle it by hand."
            )
        try:
            erp_order = vario.run_transition(erp_order.id, "dissolve")
        except RejectedError as exc:
            if exc.status in (409, 422):
                return Conflict(f"VARIO refused to dissolve ERP order {erp_order.number}: {exc.message}")
            raise
        timeline_add(
            order_sync=sync,
            kind=TimelineEntry.Kind.ACTION,
            title=f"ERP order {erp_order.number} dissolved (VTEX: {order.status})",
        )
        _link_record(sync, erp_state=erp_order.state_key)
    if order.status == "cancellation-requested":
        # The outbound sync accepts the request by cancelling in VTEX (sync.transforms). No VARIO webhook
        # will ask for it: the dissolve went out with x-vario-suppress-own-webhooks.
        _status_sync_request(sync, erp_order=erp_order, vtex_order_id=order.order_id)
    return Done(f"ERP order {erp_order.number} cancelled; VTEX {order.status}")


# --- the work ------------------------------------------------------------------------------------------


def order_import_work(sync: OrderSync, recorder: TimelineRecorder, lock, *, vtex: VtexClient | None = None) -> Outcome:
    """Bring one VTEX order (``sync.key``) into the ERP, or its cancellation; steps in the module's docstring.

    ``vtex``: the VTEX client to use instead of the channel's; a dry run (``sync.dry_run``) passes its own
    and an unsaved copy of the order's row, so that the run stores nothing: no order link, no request.
    """
    channel = sync.channel
    if not channel.active:
        return Skipped(f"sales channel {channel.code} is inactive")
    if not selectors.transfer_enabled(channel=channel, sync_type=SyncType.ORDER_DOWNLOAD):
        return Skipped(f"order download is switched off for {channel.code}")

    vtex = vtex if vtex is not None else vtex_client_for(channel, recorder=recorder)
    order = vtex.get_order(sync.key)
    sync.vtex_order_id = order.order_id
    if not channel.imports_trade_policy(order.sales_channel):
        # Every app key's feed reports every order of the account: another channel imports this one.
        return Skipped(
            f"VTEX order {order.order_id} is of trade policy '{order.sales_channel}'; sales channel {channel.code} "
            f"imports {', '.join(channel.vtex_trade_policies)}"
        )
    if order.status in CANCEL_STATUSES:
        return _cancel(vtex, vario_client(recorder=recorder), sync, order)
    if order.status in TOO_LATE_STATUSES:
        link = selectors.order_link_get(channel=channel, vtex_order_id=order.order_id)
        if link is not None:
            _link_record(sync, vtex_status=order.status)
            return Done(f"VTEX order is {order.status}; already linked to {link.erp_order_number}")
        return Skipped(f"VTEX order is already {order.status}; it is not imported into the ERP any more")
    if order.status not in IMPORT_STATUSES:
        return Skipped(f"VTEX order is {order.status or 'without status'}; it is imported once ready-for-handling")
    return _import(vtex, vario_client(recorder=recorder), sync, order, lock)
