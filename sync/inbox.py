"""The durable inbox: store every trigger first, resolve it to an order, sweep what was left behind."""

from __future__ import annotations

import logging
from contextlib import closing
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, IntegrityError, connections, transaction
from django.db.models import Q
from django.utils import timezone
from redis.exceptions import RedisError
from rq.timeouts import JobTimeoutException

from mappings import selectors
from mappings.models import SalesChannel
from sync.catalog.events import catalog_event_of
from sync.catalog.intake import catalog_event_intake
from sync.clients.dtos import ChannelOrderResult, ErpDocument, ErpShipment
from sync.clients.errors import NotFoundError, PayloadError, RejectedError, RetryableError
from sync.models import InboxEvent, OrderSync, TimelineEntry
from sync.queue import (
    event_marker,
    inbox_drain_enqueue,
    inbox_event_process_enqueue,
    inbox_event_touch,
    inbox_events_done,
    inbox_events_hand_off,
    inbox_events_signal,
    inbox_events_take,
    inbox_events_waiting,
    inbox_ready_count,
    inbox_taken_prune,
    is_queued,
    order_sync_enqueue,
    order_sync_marker,
    scheduled_jobs_rescue,
)
from sync.remotes import NotConfigured, vario_client
from sync.runner import Try, next_try, order_sync_defer, order_sync_request
from sync.timeline import timeline_add

logger = logging.getLogger(__name__)

# VARIO events the portal registers (reference/vario-erp.md §4.4) and what their id points at.
VARIO_EVENTS: dict[str, str] = {
    "document.customer_delivery_document.order_to_delivery": "document",
    "shipment.parcel.completed": "shipment",
    "document.customer_order.dissolve": "document",
    "document.customer_order.order_close_remaining": "document",
    "document.customer_goods_return.create": "document",
    # Editing an order (e.g. cancelling some of its lines) ends with this transition.
    "document.customer_order.end_editing": "document",
    # The generic seed endpoint POST /webhooks/order-status-change carries a document id.
    "order-status-change": "document",
}
DISSOLVE_EVENTS = frozenset({"document.customer_order.dissolve"})


class InboxEventInvalid(ValueError):
    """An event that cannot be stored as given; the message says why."""


def inbox_event_store(
    *,
    source: str,
    event: str,
    entity_id: str,
    payload: dict,
    channel: SalesChannel | None = None,
    dedup_key: str | None = None,
    ignored_reason: str = "",
) -> tuple[InboxEvent, bool]:
    """Store one trigger and enqueue its processing once committed. Returns (event, created).

    A repeated ``dedup_key`` (an event id VTEX sent twice) returns the stored event unchanged.
    """
    for label, value, field in (("event name", event, "event"), ("entity id", entity_id, "entity_id")):
        limit = InboxEvent._meta.get_field(field).max_length
        if len(value) > limit:
            raise InboxEventInvalid(f"The {label} is longer than {limit} characters.")
        if "\x00" in value:  # e.g. %00 in a webhook URL: PostgreSQL's text refuses it (SQLite would not)
            raise InboxEventInvalid(f"The {label} contains a NUL character.")
    status = InboxEvent.Status.IGNORED if ignored_reason else InboxEvent.Status.PENDING
    fields = {
        "source": source,
        "event": event,
        "entity_id": entity_id,
        "payload": payload,
        "channel": channel,
        "dedup_key": dedup_key,
        "status": status,
        "last_error": ignored_reason,
        "processed_at": timezone.now() if ignored_reason else None,
    }
    if dedup_key is None:
        # One INSERT: outside a transaction it is committed when it returns (no BEGIN/SAVEPOINT trips).
        stored = _insert(InboxEvent(**fields))
    else:
        try:
            with transaction.atomic():
                stored = InboxEvent.objects.create(**fields)
        except IntegrityError:
            existing = InboxEvent.objects.filter(dedup_key=dedup_key).first()
            if existing is None:  # refused for another reason than the duplicate
                raise
            return existing, False
    if status == InboxEvent.Status.PENDING:
        transaction.on_commit(lambda: inbox_events_hand_off(event_ids=[stored.pk]))
    return stored, True


@lru_cache(maxsize=4)
def _insert_sql(vendor: str) -> tuple[str, tuple]:
    quote = connections[DEFAULT_DB_ALIAS].ops.quote_name
    fields = tuple(f for f in InboxEvent._meta.concrete_fields if not f.primary_key)
    columns = ", ".join(quote(f.column) for f in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    table, pk = quote(InboxEvent._meta.db_table), quote(InboxEvent._meta.pk.column)
    # Identifiers from the model's own metadata, quoted; values only ever as parameters.
    return f"INSERT INTO {table} ({columns}) VALUES ({placeholders}) RETURNING {pk}", fields  # noqa: S608


def _insert(event: InboxEvent) -> InboxEvent:
    """``event.save()`` for a new row, as one prepared INSERT … RETURNING.

    Every webhook is one of these, and the ORM's save (signals, query compilation per call) cost a
    third of the insert. Each value still goes through its field's own preparation, so JSON and
    time zones are stored exactly as save() stores them. InboxEvent has no save signals to skip.
    """
    connection = connections[DEFAULT_DB_ALIAS]
    sql, fields = _insert_sql(connection.vendor)
    params = [field.get_db_prep_save(field.pre_save(event, True), connection) for field in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        event.pk = cursor.fetchone()[0]
    event._state.adding, event._state.db = False, DEFAULT_DB_ALIAS
    return event


def _mark(
    event: InboxEvent,
    status: str,
    *,
    error: str = "",
    order_sync: OrderSync | None = None,
    channel: SalesChannel | None = None,
) -> None:
    """Settle the event: its outcome, its order and (once known) its channel, in one UPDATE."""
    InboxEvent.objects.filter(pk=event.pk).update(
        status=status,
        last_error=error[:2000],
        processed_at=timezone.now(),
        order_sync=order_sync,
        attempts=event.attempts + 1,
        **({"channel": channel} if channel is not None else {}),
    )


@dataclass(frozen=True)
class ErpOrderRef:
    """What the inbox needs of a customer order to ask for its sync; the sync reads the rest itself."""

    id: str
    number: str
    sales_channel_id: str
    external_order_id: str = ""

    @classmethod
    def of(cls, order: ErpDocument) -> ErpOrderRef:
        return cls(order.id, order.number, order.sales_channel_id, order.external_order_id)


class ErpOrders:
    """Resolves VARIO events to their customer order (reference §4.2), for one batch of events.

    One client for the batch, and each document or shipment fetched once: a delivery note's event
    and its parcel's event usually arrive together and point at the same note and order, and VARIO
    allows 40 calls per 6 seconds for everything the portal does. Which order a document belongs to
    never changes, so nothing read here goes stale within a batch.
    """

    def __init__(self) -> None:
        self._vario = None
        self._documents: dict[str, ErpDocument] = {}
        self._shipments: dict[str, ErpShipment] = {}

    @property
    def vario(self):
        if self._vario is None:
            self._vario = vario_client()
        return self._vario

    def document(self, document_id: str) -> ErpDocument:
        if document_id not in self._documents:
            self._documents[document_id] = self.vario.get_document(document_id)
        return self._documents[document_id]

    def shipment(self, shipment_id: str) -> ErpShipment:
        if shipment_id not in self._shipments:
            self._shipments[shipment_id] = self.vario.get_shipment(shipment_id)
        return self._shipments[shipment_id]

    def resolve(self, event: InboxEvent) -> ErpOrderRef | None:
        """The order an event is about: line references first, then the order number, then the VTEX id."""
        if VARIO_EVENTS.get(event.event) == "shipment":
            document = self.document(self.shipment(event.entity_id).document_id)
        else:
            document = self.document(event.entity_id)
        if document.category == "CUSTOMER_ORDER":
            return ErpOrderRef.of(document)
        for line in document.lines:
            if line.order_line is not None:
                if document.sales_channel_id:
                    # A follow-up document carries its order's sales channel: no need to fetch the
                    # order here, the sync reads it anyway (and fails if the channels disagree).
                    ref = line.order_line
                    return ErpOrderRef(ref.document_id, ref.document_number, document.sales_channel_id)
                return ErpOrderRef.of(self.document(line.order_line.document_id))
        if document.referenced_order_number:
            order = self.vario.find_order_by_number(document.referenced_order_number)
            if order is not None:
                self._documents[order.id] = order
                return ErpOrderRef.of(order)
        if document.external_order_id:
            order = self.vario.find_order_by_external_id(
                sales_channel_id=document.sales_channel_id, external_id=document.external_order_id
            )
            return ErpOrderRef.of(order) if order is not None else None
        return None

    def close(self) -> None:
        if self._vario is not None:
            self._vario.close()


def inbox_events_drain(*, batch_size: int | None = None) -> int:
    """Process a batch of handed-over events (``inbox_drain_job``). Returns how many were taken.

    The database or Redis failing stops the batch with its events still pending: the sweep hands
    them over again once their lease has run out. Any other error fails that one event visibly and
    the batch goes on: one bad event must not hold back the others, nor come back forever.
    """
    event_ids = inbox_events_take(count=batch_size or settings.INBOX_DRAIN_BATCH_SIZE)
    erp_orders = ErpOrders()
    try:
        for event_id in event_ids:
            inbox_event_touch(event_id)
            try:
                inbox_event_process(event_id=event_id, erp_orders=erp_orders)
            except (DatabaseError, RedisError, JobTimeoutException):
                logger.warning("inbox drain stopped at event %s; the sweep hands the rest over again", event_id)
                raise
            except Exception as exc:
                logger.exception("inbox event %s failed unexpectedly", event_id)
                InboxEvent.objects.filter(pk=event_id, status=InboxEvent.Status.PENDING).update(
                    status=InboxEvent.Status.FAILED,
                    last_error=f"Unexpected error: {type(exc).__name__}: {exc}"[:2000],
                    processed_at=timezone.now(),
                )
    finally:
        erp_orders.close()
    inbox_events_done(event_ids)
    return len(event_ids)


def inbox_event_process(*, event_id: int, erp_orders: ErpOrders | None = None) -> None:
    """Turn a stored event into a request for its order's sync (``erp_orders``: a batch's resolver)."""
    event = InboxEvent.objects.filter(pk=event_id, status=InboxEvent.Status.PENDING).first()
    if event is None:
        return  # processed already (a duplicate job or the sweep)
    if event.source == InboxEvent.Source.MARKETPLACE:
        _process_channel_order_notification(event)
    elif event.source in (InboxEvent.Source.VTEX_FEED, InboxEvent.Source.VTEX_HOOK):
        _process_vtex_order_event(event)
    elif catalog_event_of(event.event) is not None:
        _process_catalog_event(event)
    elif erp_orders is not None:
        _process_vario_event(event, erp_orders)
    else:
        with closing(ErpOrders()) as own:
            _process_vario_event(event, own)


def _process_catalog_event(event: InboxEvent) -> None:
    """A VARIO stock, price or listing change: coalesced work items, no remote call (sync.catalog.intake)."""
    result = catalog_event_intake(event=event)
    _mark(event, result.status, error="" if result.status == InboxEvent.Status.PROCESSED else result.message)


def _process_channel_order_notification(event: InboxEvent) -> None:
    """VTEX's asynchronous Channel Order API result (reference §7) for an order's status update."""
    code = str(event.payload.get("code") or "")
    message = str(event.payload.get("message") or "")
    sync = (
        OrderSync.objects.filter(
            kind=OrderSync.Kind.STATUS, channel=event.channel, order_link__marketplace_order_id=event.entity_id
        )
        .select_related("channel")
        .first()
    )
    if sync is None:
        _mark(
            event,
            InboxEvent.Status.FAILED,
            error=f"No order with marketplaceOrderId {event.entity_id} on channel {event.channel}",
        )
        return
    timeline_add(order_sync=sync, kind=TimelineEntry.Kind.EVENT, title=f"Channel Order API result {code}: {message}")
    if code.startswith("SOI"):
        order_sync_request(kind=sync.kind, channel=sync.channel, key=sync.key)
    elif code in ChannelOrderResult.NOT_YET_CODES:
        # Send the status again later: VTEX was not ready (not integrated, not approvable, price divergence).
        order_sync_defer(order_sync=sync, message=f"Channel Order API {code}: {message}", marketplace_status_sent="")
    else:
        # Not only a hint: VTEX's asynchronous result is the only place an EOI error of the Channel Order
        # API arrives (reference §7); the VTEX order just stays unapproved, so no run could tell. The
        # notification is authenticated (connector secret) and fails the sync with VTEX's message; the
        # status counts as unsent again, so a retry sends it instead of waiting for an answer that came.
        OrderSync.objects.filter(pk=sync.pk).update(
            status=OrderSync.Status.FAILED, message=f"Channel Order API {code}: {message}", marketplace_status_sent=""
        )
    _mark(event, InboxEvent.Status.PROCESSED, order_sync=sync)


def _process_vtex_order_event(event: InboxEvent) -> None:
    """A VTEX feed item or hook notification: ask for the order's import (it acts on the current status)."""
    channel = event.channel
    if channel is None:
        _mark(event, InboxEvent.Status.FAILED, error="VTEX order event without a sales channel")
        return
    sync = order_sync_request(
        kind=OrderSync.Kind.IMPORT, channel=channel, key=event.entity_id, vtex_order_id=event.entity_id
    )
    _mark(event, InboxEvent.Status.PROCESSED, order_sync=sync)
    timeline_add(
        order_sync=sync,
        kind=TimelineEntry.Kind.EVENT,
        title=f"VTEX {event.get_source_display()}: {event.event} ({event.entity_id})",
    )


def _process_vario_event(event: InboxEvent, erp_orders: ErpOrders) -> None:
    try:
        order = erp_orders.resolve(event)
    except RetryableError as exc:
        retry = next_try(kind=Try.RETRY, count=event.attempts, reason=str(exc), retry_after=exc.retry_after)
        if retry.gave_up:
            _mark(event, InboxEvent.Status.FAILED, error=retry.message)
            return
        InboxEvent.objects.filter(pk=event.pk).update(attempts=retry.count, last_error=str(exc)[:2000])
        inbox_event_process_enqueue(event_id=event.pk, delay=retry.delay)
        return
    except NotFoundError as exc:
        _mark(event, InboxEvent.Status.FAILED, error=f"The ERP does not know {event.entity_id}: {exc}")
        return
    except (RejectedError, PayloadError, NotConfigured, ValueError) as exc:
        _mark(event, InboxEvent.Status.FAILED, error=str(exc))
        return
    if order is None:
        _mark(event, InboxEvent.Status.FAILED, error=f"No customer order found for document {event.entity_id}")
        return
    channels = selectors.sales_channels_of_vario(vario_sales_channel_id=order.sales_channel_id)
    if len(channels) > 1:
        _mark(
            event,
            InboxEvent.Status.FAILED,
            error=f"ERP order {order.number or order.id} belongs to VARIO sales channel "
            f"{order.sales_channel_id or '(none)'}, which several portal sales channels are linked to "
            f"({', '.join(c.code for c in channels)}): give each its own VARIO sales channel id",
        )
        return
    channel = channels[0] if channels else None
    if channel is None:
        _mark(
            event,
            InboxEvent.Status.IGNORED,
            error=f"ERP order {order.number or order.id} belongs to VARIO sales channel "
            f"{order.sales_channel_id or '(none)'}, "
            "which no portal sales channel is linked to",
        )
        return
    is_shipment = VARIO_EVENTS.get(event.event) == "shipment"
    document_id = erp_orders.shipment(event.entity_id).document_id if is_shipment else event.entity_id
    sync = order_sync_request(
        kind=OrderSync.Kind.STATUS,
        channel=channel,
        key=order.id,
        erp_order_id=order.id,
        erp_order_number=order.number,
        vtex_order_id=order.external_order_id,
        erp_dissolved=event.event in DISSOLVE_EVENTS,
        # The run reads these even when VARIO's queries do not show them (yet).
        erp_document_id=document_id if document_id != order.id else "",
        erp_shipment_id=event.entity_id if is_shipment else "",
    )
    _mark(event, InboxEvent.Status.PROCESSED, order_sync=sync, channel=channel)
    timeline_add(order_sync=sync, kind=TimelineEntry.Kind.EVENT, title=f"VARIO: {event.event} ({event.entity_id})")


def inbox_sweep() -> dict[str, int]:
    """Re-enqueue what was left behind (Redis restarted, an enqueue failed, a worker was killed).

    Work counts as left behind when it is still open after SYNC_SWEEP_AFTER_SECONDS and no queued
    marker says a job for it is waiting in Redis; a run whose worker died is found by its lock lease.
    Scheduled jobs (back-offs, "not yet" waits) that long overdue have a marker but no scheduler to
    move them: they are enqueued first, so an order waits for its next try at most that much longer.
    """
    now = timezone.now()
    cutoff = now - timedelta(seconds=settings.SYNC_SWEEP_AFTER_SECONDS)
    counts = {
        "events": 0,
        "orders": 0,
        "scheduled": scheduled_jobs_rescue(overdue_seconds=settings.SYNC_SWEEP_AFTER_SECONDS),
    }
    pending_events = InboxEvent.objects.filter(status=InboxEvent.Status.PENDING, received_at__lt=cutoff)
    pending_ids = list(pending_events.values_list("pk", flat=True)[:1000])
    inbox_taken_prune(lease_seconds=settings.SYNC_LOCK_SECONDS)
    waiting = inbox_events_waiting(pending_ids, lease_seconds=settings.SYNC_LOCK_SECONDS)
    lost = [pk for pk in pending_ids if pk not in waiting and not is_queued(event_marker(pk))]
    if lost:
        counts["events"] = len(lost) if inbox_events_signal(event_ids=lost) else 0
    if inbox_ready_count():
        # The drain flag may outlive its job (Redis lost the job, or its enqueue failed, not the flag):
        # one more drain costs nothing when another is already waiting.
        inbox_drain_enqueue()
    stale = OrderSync.objects.filter(
        Q(status=OrderSync.Status.PENDING, requested_at__lt=cutoff)
        | Q(status=OrderSync.Status.WAITING, next_attempt_at__lt=cutoff)
        | Q(status=OrderSync.Status.RUNNING, started_at__lt=now - timedelta(seconds=settings.SYNC_LOCK_SECONDS))
    ).values_list("pk", "kind", "status")[:1000]
    for pk, kind, status in stale:
        if status == OrderSync.Status.RUNNING or not is_queued(order_sync_marker(pk)):
            counts["orders"] += order_sync_enqueue(order_sync_id=pk, kind=kind)
    if any(counts.values()):
        logger.info("sweep re-enqueued %(events)d events, %(orders)d orders and %(scheduled)d overdue jobs", counts)
    return counts


def inbox_event_retry(*, event: InboxEvent) -> bool:
    """An operator's retry of a failed event: back to pending, processed again."""
    if event.status != InboxEvent.Status.FAILED:
        return False
    InboxEvent.objects.filter(pk=event.pk).update(status=InboxEvent.Status.PENDING, attempts=0, processed_at=None)
    transaction.on_commit(lambda: inbox_events_signal(event_ids=[event.pk]))
    return True
