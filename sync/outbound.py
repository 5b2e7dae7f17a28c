"""ERP → VTEX: bring a VTEX order up to date with what VARIO says about its order now.

``order_status_sync`` is the service the job, the admin's retry and the sweep all end in. It fetches
the ERP order with its delivery notes, shipments and returns, reads the channel's mappings, and
then alternates "read the VTEX order → plan the difference → push it" until nothing is missing.
Reading VTEX before every push is what makes duplicate, late or replayed events harmless and a
killed worker safe (design §2.2): what VTEX already shows is never sent again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from django.conf import settings
from django.utils import timezone

from mappings import selectors
from mappings.models import SalesChannel, SyncType
from mappings.services import order_link_record
from sync.clients.dtos import ChannelOrderResult, ErpDocument, VtexOrder
from sync.clients.errors import AuthError, NotFoundError, RejectedError, RemoteError
from sync.clients.vario import VarioClient
from sync.clients.vtex import VtexClient
from sync.locks import lock_confirm
from sync.models import OrderSync, TimelineEntry
from sync.outcomes import Conflict, Done, Failed, NotYet, Outcome, Parked, Skipped
from sync.pending import pending_cancel, pending_facts, pending_removal, pending_settle, pending_tracking
from sync.plan import (
    BARRIERS,
    Action,
    CancelOrder,
    OutboundFacts,
    PatchTracking,
    PostInvoice,
    PutTrackingEvents,
    RemoveItems,
    StartHandling,
    missing_carriers,
    outbound_plan,
)
from sync.remotes import vario_client, vtex_client_for
from sync.runner import order_sync_run
from sync.timeline import TimelineRecorder, timeline_add
from sync.transforms import CarrierInfo, erp_fulfilment_state_from

DELIVERY_NOTE, GOODS_RETURN = "CUSTOMER_DELIVERY_DOCUMENT", "CUSTOMER_GOODS_RETURN"
MAX_ROUNDS = 6  # read → plan → push rounds per run; a plan that never empties means VTEX lags behind
ALREADY_HANDLED_CODES = frozenset({"OMS003"})  # start-handling when the order left ready-for-handling


def order_status_sync(*, order_sync_id: int) -> None:
    order_sync_run(order_sync_id=order_sync_id, work=order_status_work)


# --- fetching ------------------------------------------------------------------------------------------


def _known(fetch, ids) -> list:
    """Each id fetched; one VARIO no longer knows is left out."""
    found = []
    for known_id in ids:
        try:
            found.append(fetch(known_id))
        except NotFoundError:
            continue
    return found


def _follow_up_documents(
    vario: VarioClient, order: ErpDocument, known_ids: list[str]
) -> tuple[list[ErpDocument], list[ErpDocument]]:
    """The order's delivery notes and goods returns: what VARIO's query finds, and the documents its
    events named, which a query index may not show yet."""
    ids = vario.find_follow_up_ids(order_number=order.number, categories=(DELIVERY_NOTE, GOODS_RETURN))
    documents = [vario.get_document(document_id) for document_id in ids]
    extra = [i for i in dict.fromkeys(known_ids) if i not in ids and i != order.id]
    documents += [d for d in _known(vario.get_document, extra) if d.category in (DELIVERY_NOTE, GOODS_RETURN)]
    # Only documents whose lines point at this order (or that carry no line references at all).
    ours = [
        d
        for d in documents
        if not any(line.order_line for line in d.lines)
        or any(line.order_line and line.order_line.document_id == order.id for line in d.lines)
    ]
    return [d for d in ours if d.category == DELIVERY_NOTE], [d for d in ours if d.category == GOODS_RETURN]


def _shipments(vario: VarioClient, notes: list[ErpDocument], known_ids: list[str]) -> dict:
    """The delivery notes' shipments: those VARIO's events named, and those a shipment query finds.

    The query source (``vds.queryShipments``) is not confirmed (reference/vario-erp.md §1.7, §4.5: for
    reconciliation; the live path is the parcel event): a tenant refusing it costs nothing but the
    shipments no event named.
    """
    shipments: dict[str, list] = {note.id: [] for note in notes}
    if not notes:
        return shipments
    try:
        ids = vario.find_shipment_ids(document_ids=[note.id for note in notes])
    except AuthError:
        raise
    except RejectedError:
        ids = []
    ids += [i for i in dict.fromkeys(known_ids) if i not in ids]
    for shipment in _known(vario.get_shipment, ids):
        if shipment.document_id in shipments:
            shipments[shipment.document_id].append(shipment)
    return shipments


# --- pushing -------------------------------------------------------------------------------------------


def _money(cents: int | str) -> str:
    return f"{int(cents) / 100:.2f}"


def _done(order_sync: OrderSync, title: str, detail: str = "") -> None:
    timeline_add(order_sync=order_sync, kind=TimelineEntry.Kind.ACTION, title=title, detail=detail)


def _start_handling_send(action: StartHandling, *, vtex: VtexClient, order_sync: OrderSync) -> None:
    try:
        vtex.start_handling(order_sync.vtex_order_id)
    except RejectedError as exc:
        if exc.code not in ALREADY_HANDLED_CODES:
            raise
        _done(order_sync, "Start handling: VTEX says the order already left ready-for-handling")
        return
    _done(order_sync, "Start handling sent")


def _items_remove_send(action: RemoveItems, *, vtex: VtexClient, order_sync: OrderSync) -> None:
    with pending_removal(order_sync=order_sync, targets=action.targets):
        vtex.create_order_changes(order_sync.vtex_order_id, action.changes)
    removed = ", ".join(f"{r['quantity']} × SKU {r['id']}" for r in action.changes["remove"]["items"])
    _done(order_sync, f"Removed from the VTEX order: {removed}")


def _invoice_send(action: PostInvoice, *, vtex: VtexClient, order_sync: OrderSync) -> None:
    invoice = action.invoice
    vtex.notify_invoice(order_sync.vtex_order_id, invoice)
    kind = "Return invoice" if invoice["type"] == "Input" else "Invoice"
    count = sum(item["quantity"] for item in invoice["items"])
    tracking = f", tracking {invoice['trackingNumber']}" if invoice.get("trackingNumber") else ""
    value = _money(invoice["invoiceValue"])
    _done(order_sync, f"{kind} {invoice['invoiceNumber']} sent: {count} item(s), {value}{tracking}")


def _tracking_patch_send(action: PatchTracking, *, vtex: VtexClient, order_sync: OrderSync) -> None:
    vtex.update_invoice_tracking(
        order_sync.vtex_order_id,
        action.invoice_number,
        tracking_number=action.tracking_number,
        tracking_url=action.tracking_url,
        courier=action.courier,
        dispatched_date=action.dispatched_date,
    )
    _done(order_sync, f"Tracking {action.tracking_number} ({action.courier}) added to invoice {action.invoice_number}")


def _tracking_events_send(action: PutTrackingEvents, *, vtex: VtexClient, order_sync: OrderSync) -> None:
    with pending_tracking(order_sync=order_sync, action=action):
        vtex.update_tracking_status(order_sync.vtex_order_id, action.invoice_number, action.status)
    delivered = " — delivered" if action.status["isDelivered"] else ""
    count = len(action.status["events"])
    _done(order_sync, f"{count} tracking event(s) sent for invoice {action.invoice_number}{delivered}")


def _cancel_send(action: CancelOrder, *, vtex: VtexClient, order_sync: OrderSync) -> None:
    with pending_cancel(order_sync=order_sync):
        vtex.cancel_order(order_sync.vtex_order_id, reason=action.reason)
    _done(order_sync, "Order cancelled in VTEX", detail=action.reason)
    try:
        vtex.create_note(order_sync.vtex_order_id, action.note)
    except RemoteError as exc:
        # The cancel stands and is not sent again, so neither is its note: worth a look, not a failure.
        timeline_add(
            order_sync=order_sync, kind=TimelineEntry.Kind.PROBLEM, title="Timeline note not added", detail=str(exc)
        )


# One sender per action the plan returns (its verdicts, Conflict and NotYet, are not sent: they end the run).
SENDERS: dict[type, Callable[..., None]] = {
    StartHandling: _start_handling_send,
    RemoveItems: _items_remove_send,
    PostInvoice: _invoice_send,
    PatchTracking: _tracking_patch_send,
    PutTrackingEvents: _tracking_events_send,
    CancelOrder: _cancel_send,
}
# Sent only while this run still holds the order's lock: a second writer could send them too, and VTEX
# applies both (reference/vtex.md §3.2, §13).
ONE_WRITER_ONLY = (RemoveItems, CancelOrder)
# Written down in vtex_pending when sent (sync.pending): the plan's facts are read again after them.
WRITTEN_DOWN = (RemoveItems, CancelOrder, PutTrackingEvents)


def vtex_action_send(*, action: Action, vtex: VtexClient, order_sync: OrderSync) -> None:
    """Send one of the plan's actions to VTEX with the sender its type has; each notes on the order's
    timeline what it did."""
    SENDERS[type(action)](action, vtex=vtex, order_sync=order_sync)


# VTEX statuses of a channel order that still waits for the connector's approval (reference §7, §8.2).
AWAITING_APPROVAL = frozenset(
    {
        "order-created",
        "order-accepted",
        "on-order-completed",
        "on-order-completed-ffm",
        "waiting-for-authorization",
        "waiting-for-manual-authorization",
        "waiting-ffmt-authorization",
        "payment-pending",
    }
)


def _marketplace_approval(*, vtex: VtexClient, sync: OrderSync, vtex_order: VtexOrder, status: str) -> Outcome | None:
    """External-marketplace channels: approve the channel order through the Channel Order API.

    VTEX answers SOI003 ("enqueued") at once and the real result later, at the connector endpoint
    (``sync.webhooks.channel_order_notification``): SOI002 requests this sync again, EOI008/009/011
    ("not yet") defer it, bounded. Until then the run waits.
    """
    if not status or vtex_order.status not in AWAITING_APPROVAL:
        return None
    if sync.marketplace_status_sent == status:
        return NotYet(f"waiting for VTEX's answer to the Channel Order API status '{status}'")
    channel = sync.channel
    marketplace_order_id = vtex_order.marketplace_order_id
    if not marketplace_order_id:
        return Failed(f"VTEX order {vtex_order.order_id} has no marketplaceOrderId for the Channel Order API")
    # The connector secret goes out inside connectorEndpoint: never to a path the portal does not serve
    # (a row saved before the endpoint rules, or written around the admin's form).
    endpoint_problem = channel.connector_endpoint_problem()
    if endpoint_problem:
        return Failed(f"Connector endpoint of sales channel {channel.code} refused: {endpoint_problem}")
    try:
        result = vtex.update_channel_order_status(
            marketplace_order_id=marketplace_order_id,
            status=status,
            connector_name=channel.connector_name,
            connector_endpoint=channel.connector_notification_endpoint,
        )
    except RejectedError as exc:
        if exc.code in ChannelOrderResult.NOT_YET_CODES:
            return NotYet(f"Channel Order API {exc.code}: {exc.message}")
        raise
    if result.not_yet:
        return NotYet(f"Channel Order API {result.code}: {result.message}")
    if not result.success:
        return Failed(f"Channel Order API {result.code}: {result.message} {'; '.join(result.errors)}".strip())
    sync.marketplace_status_sent = status
    timeline_add(
        order_sync=sync,
        kind=TimelineEntry.Kind.ACTION,
        title=f"Channel Order API: status '{status}' sent ({result.code}: {result.message})",
    )
    return NotYet(f"Channel Order API status '{status}' enqueued by VTEX; waiting for its result")


# --- the work ----------------------------------------------------------------------------------------


def order_status_work(sync: OrderSync, recorder: TimelineRecorder, lock, *, vtex: VtexClient | None = None) -> Outcome:
    """Bring one VTEX order up to date with its ERP order (``order_sync_run`` holds the order's lock).

    ``vtex``: the VTEX client to use instead of the channel's (a dry run's, ``sync.dry_run``, which reads
    the order back as its held writes would have left it). A dry run also passes an unsaved copy of the
    order's row: what the run writes down stays on the copy, and the order link is not touched.

    1. Fetch ERP: the customer order (this channel's, naming its VTEX order), its delivery notes,
       shipments and goods returns, and its fulfilment state read through the channel's status and
       carrier mappings (one missing: parked until it is saved).
    2. Fetch VTEX: the order as VTEX shows it now, recorded on the order link. An external
       marketplace's channel order is approved through the Channel Order API first.
    3. Plan: forget the requests in flight that VTEX now shows (``sync.pending``), then ask the plan
       what VTEX lacks (``sync.plan``, design §2.2). Nothing: done.
    4. Push: send the actions in order; the plan's own verdict (conflict, not yet) ends the run.
       After a barrier (start-handling, item removal) or the last action, VTEX is read again and the
       next round plans anew, at most MAX_ROUNDS rounds.
    5. Record: VTEX's status on the order link; the outcome goes to the runner.
    """
    channel = sync.channel
    enabled = selectors.transfers_enabled(channel=channel)
    if (skipped := _switched_off(channel, enabled=enabled)) is not None:
        return skipped
    vario = vario_client(recorder=recorder)
    vtex = vtex if vtex is not None else vtex_client_for(channel, recorder=recorder)
    read = order_status_read(sync, vario=vario, vtex=vtex, enabled=enabled)  # 1. Fetch ERP, 2. Fetch VTEX
    if not isinstance(read, OrderStatusRead):
        return read
    erp, vtex_order = read.erp, read.vtex_order
    outcome = _marketplace_approval(vtex=vtex, sync=sync, vtex_order=vtex_order, status=erp.marketplace_status)
    if outcome is not None:
        return outcome
    facts = erp.facts
    for _ in range(MAX_ROUNDS):
        # 3. Plan
        facts = pending_settle(facts=replace(facts, vtex_order=vtex_order), order_sync=sync)
        plan = outbound_plan(facts, platform_status=erp.platform_status)
        if not plan:
            done = Done(f"Up to date: ERP {facts.erp_state.replace('_', ' ')}, VTEX {vtex_order.status}")
            return _recorded(done, sync=sync, vtex_order=vtex_order)  # 5. Record
        # 4. Push
        outcome, facts = _push(plan, facts=facts, vtex=vtex, sync=sync, lock=lock)
        if outcome is not None:
            return _recorded(outcome, sync=sync, vtex_order=vtex_order)  # 5. Record
        vtex_order = vtex.get_order(sync.vtex_order_id)
    return NotYet(f"VTEX order {sync.vtex_order_id} still lacks pushed changes after {MAX_ROUNDS} rounds")


@dataclass(frozen=True)
class OrderStatusRead:
    """Both sides of one order as steps 1 and 2 read them: what the plan, a reconciliation (``sync.bulk``)
    and a dry run start from."""

    erp: ErpSide
    vtex_order: VtexOrder


def order_status_read(
    sync: OrderSync, *, vario: VarioClient, vtex: VtexClient, enabled: frozenset[str]
) -> OrderStatusRead | Parked | Failed:
    """Steps 1 and 2 of ``order_status_work``: the ERP side through the channel's mappings, then the
    VTEX order (recorded on the order link). Writes nothing to either remote."""
    order = _erp_order_fetch(vario, sync=sync)  # 1. Fetch ERP
    if isinstance(order, Failed):
        return order
    erp = _erp_side_fetch(vario, order=order, sync=sync, enabled=enabled)
    if isinstance(erp, Parked):
        return erp
    return OrderStatusRead(erp, _vtex_order_fetch(vtex, order=order, sync=sync))  # 2. Fetch VTEX


def _switched_off(channel: SalesChannel, *, enabled: frozenset[str]) -> Skipped | None:
    if not channel.active:
        return Skipped(f"sales channel {channel.code} is inactive")
    if SyncType.ORDER_STATUS_UPLOAD not in enabled:
        return Skipped(f"order status upload is switched off for {channel.code}")
    return None


def _erp_order_fetch(vario: VarioClient, *, sync: OrderSync) -> ErpDocument | Failed:
    """Step 1: the ERP order, if it is a customer order of this channel that names its VTEX order."""
    channel = sync.channel
    order = vario.get_document(sync.key)
    if order.category != "CUSTOMER_ORDER":
        return Failed(f"ERP document {order.number or order.id} is a {order.category}, not a customer order")
    sync.erp_order_number = order.number
    if (
        order.sales_channel_id
        and channel.vario_sales_channel_id
        and order.sales_channel_id != channel.vario_sales_channel_id
    ):
        # The inbox takes the channel from the event's delivery note or shipment without reading the order.
        return Failed(
            f"ERP order {order.number} belongs to VARIO sales channel {order.sales_channel_id}, "
            f"not to {channel.vario_sales_channel_id} of sales channel {channel.code}"
        )
    if not order.external_order_id:
        return Failed(f"ERP order {order.number} carries no VTEX order id (custom.vtexportal.externalOrderId)")
    sync.vtex_order_id = order.external_order_id
    return order


@dataclass(frozen=True)
class ErpSide:
    """What step 1 found: the plan's facts (with no VTEX order yet) and the channel's mapping of them."""

    facts: OutboundFacts
    platform_status: str
    marketplace_status: str  # what the Channel Order API is to be told; "" when the channel sends none


def _erp_side_fetch(
    vario: VarioClient, *, order: ErpDocument, sync: OrderSync, enabled: frozenset[str]
) -> ErpSide | Parked:
    """Step 1: the order's follow-up documents and shipments, read through the channel's mappings."""
    channel = sync.channel
    refs = sync.erp_refs or {}
    notes, returns = _follow_up_documents(vario, order, refs.get("documents") or [])
    shipments = _shipments(vario, notes, refs.get("shipments") or [])
    erp_state = erp_fulfilment_state_from(
        order, cancelled_state_keys=channel.erp_cancelled_state_keys, returns=returns, dissolved=sync.erp_dissolved
    )
    mapping = selectors.status_mapping_get(channel=channel, erp_state=erp_state)
    if mapping is None:
        return Parked(
            f"status:{erp_state}", f"channel {channel.code} has no status mapping for ERP state '{erp_state}'"
        )
    carriers = {
        c.erp_carrier_key: CarrierInfo(c.vtex_courier_name, c.tracking_url_template, c.integrated_with_vtex_tracking)
        for c in selectors.carrier_codes_for(channel=channel)
    }
    push_tracking = SyncType.TRACKING_UPLOAD in enabled
    facts = OutboundFacts(
        order=order,
        vtex_order=VtexOrder(order_id=order.external_order_id, status="", value=0, items=()),
        delivery_notes=notes,
        shipments=shipments,
        returns=returns,
        erp_state=erp_state,
        carriers=carriers,
        now=timezone.now(),
        push_tracking=push_tracking,
        push_cancellation=SyncType.CANCELLATION_UPLOAD in enabled,
        push_returns=SyncType.RETURNS_UPLOAD in enabled,
        confirm_seconds=settings.VTEX_CHANGE_CONFIRM_SECONDS,
        **pending_facts(order_sync=sync),
    )
    if push_tracking and (unmapped := missing_carriers(facts)):
        return Parked(
            f"carrier:{unmapped[0]}", f"channel {channel.code} has no carrier mapping for ERP carrier '{unmapped[0]}'"
        )
    approves = channel.is_external_marketplace and SyncType.MARKETPLACE_STATUS in enabled
    return ErpSide(facts, mapping.platform_status, mapping.marketplace_status if approves else "")


def _vtex_order_fetch(vtex: VtexClient, *, order: ErpDocument, sync: OrderSync) -> VtexOrder:
    """Step 2: the VTEX order as it is now; the order link learns both sides' ids and states."""
    vtex_order = vtex.get_order(sync.vtex_order_id)
    _link_record(
        sync,
        erp_order_id=order.id,
        erp_order_number=order.number,
        marketplace_order_id=vtex_order.marketplace_order_id,
        vtex_status=vtex_order.status,
        erp_state=order.state_key,
    )
    return vtex_order


def _link_record(sync: OrderSync, **fields) -> None:
    """The order link learns what the run saw. A dry run's unsaved copy of the row records nothing: a
    later real run reads the link."""
    if sync.pk is None:
        return
    link = order_link_record(channel=sync.channel, vtex_order_id=sync.vtex_order_id, **fields)
    sync.order_link_id = link.pk


def _push(
    plan: list[Action], *, facts: OutboundFacts, vtex: VtexClient, sync: OrderSync, lock
) -> tuple[Outcome | None, OutboundFacts]:
    """Step 4: send the plan's actions in order, up to its first barrier; its verdict ends the run.
    Returns that verdict (None: go on) and the facts with what was written down meanwhile."""
    for action in plan:
        if isinstance(action, Conflict | NotYet):
            return action, facts
        if isinstance(action, ONE_WRITER_ONLY):
            lock_confirm(lock)  # a second writer holding the order now could send it too
        vtex_action_send(action=action, vtex=vtex, order_sync=sync)
        if isinstance(action, WRITTEN_DOWN):
            facts = replace(facts, **pending_facts(order_sync=sync))
        if isinstance(action, BARRIERS):
            break
    return None, facts


def _recorded(outcome: Outcome, *, sync: OrderSync, vtex_order: VtexOrder) -> Outcome:
    """Step 5: the order link shows the VTEX status the run ended with."""
    _link_record(sync, vtex_status=vtex_order.status)
    return outcome
