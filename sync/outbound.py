"""ERP → VTEX: bring a VTEX order up to date with what VARIO says about its order now.

``order_status_sync`` is the service the job, the admin's retry and the sweep all end in. It fetches
the ERP order with its delivery notes, shipments and returns, reads the channel's mappings, and
then alternates "read the VTEX order → plan the difference → push it" until nothing is missing.
Reading VTEX before every push is what makes duplicate, late or replayed events harmless and a
killed worker safe (design §2.2): what VTEX already shows is never sent again.
"""

from __future__ import annotations

from dataclasses import replace

from django.conf import settings
from django.utils import timezone

from mappings import selectors
from mappings.models import SyncType
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


def vtex_action_send(*, action, vtex: VtexClient, order_sync: OrderSync) -> Outcome | None:
    """Send one action; an Outcome ends the run, None goes on."""
    sync, order_id = order_sync, order_sync.vtex_order_id
    if isinstance(action, Conflict | NotYet):
        return action  # the plan's own verdict ends the run
    if isinstance(action, StartHandling):
        try:
            vtex.start_handling(order_id)
        except RejectedError as exc:
            if exc.code not in ALREADY_HANDLED_CODES:
                raise
            title = "Start handling: VTEX says the order already left ready-for-handling"
        else:
            title = "Start handling sent"
    elif isinstance(action, RemoveItems):
        with pending_removal(order_sync=sync, targets=action.targets):
            vtex.create_order_changes(order_id, action.changes)
        removed = ", ".join(f"{r['quantity']} × SKU {r['id']}" for r in action.changes["remove"]["items"])
        title = f"Removed from the VTEX order: {removed}"
    elif isinstance(action, PostInvoice):
        invoice = action.invoice
        vtex.notify_invoice(order_id, invoice)
        kind = "Return invoice" if invoice["type"] == "Input" else "Invoice"
        count = sum(item["quantity"] for item in invoice["items"])
        tracking = f", tracking {invoice['trackingNumber']}" if invoice.get("trackingNumber") else ""
        title = f"{kind} {invoice['invoiceNumber']} sent: {count} item(s), {_money(invoice['invoiceValue'])}{tracking}"
    elif isinstance(action, PatchTracking):
        vtex.update_invoice_tracking(
            order_id,
            action.invoice_number,
            tracking_number=action.tracking_number,
            tracking_url=action.tracking_url,
            courier=action.courier,
            dispatched_date=action.dispatched_date,
        )
        title = f"Tracking {action.tracking_number} ({action.courier}) added to invoice {action.invoice_number}"
    elif isinstance(action, PutTrackingEvents):
        with pending_tracking(order_sync=sync, action=action):
            vtex.update_tracking_status(order_id, action.invoice_number, action.status)
        delivered = " — delivered" if action.status["isDelivered"] else ""
        title = f"{len(action.status['events'])} tracking event(s) sent for invoice {action.invoice_number}{delivered}"
    elif isinstance(action, CancelOrder):
        with pending_cancel(order_sync=sync):
            vtex.cancel_order(order_id, reason=action.reason)
        timeline_add(
            order_sync=sync, kind=TimelineEntry.Kind.ACTION, title="Order cancelled in VTEX", detail=action.reason
        )
        try:
            vtex.create_note(order_id, action.note)
        except RemoteError as exc:
            # The cancel stands and is not sent again, so neither is its note: worth a look, not a failure.
            timeline_add(
                order_sync=sync, kind=TimelineEntry.Kind.PROBLEM, title="Timeline note not added", detail=str(exc)
            )
        return None
    else:  # pragma: no cover - the plan has no other actions
        raise TypeError(f"unknown action {action!r}")
    timeline_add(order_sync=sync, kind=TimelineEntry.Kind.ACTION, title=title)
    return None


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


def order_status_work(sync: OrderSync, recorder: TimelineRecorder, lock) -> Outcome:
    channel = sync.channel
    if not channel.active:
        return Skipped(f"sales channel {channel.code} is inactive")
    enabled = selectors.transfers_enabled(channel=channel)
    if SyncType.ORDER_STATUS_UPLOAD not in enabled:
        return Skipped(f"order status upload is switched off for {channel.code}")

    vario = vario_client(recorder=recorder)
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
    vtex_order_id = order.external_order_id
    if not vtex_order_id:
        return Failed(f"ERP order {order.number} carries no VTEX order id (custom.vtexportal.externalOrderId)")
    sync.vtex_order_id = vtex_order_id
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
        vtex_order=VtexOrder(order_id=vtex_order_id, status="", value=0, items=()),
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

    vtex = vtex_client_for(channel, recorder=recorder)
    vtex_order = vtex.get_order(vtex_order_id)
    link = order_link_record(
        channel=channel,
        vtex_order_id=vtex_order_id,
        erp_order_id=order.id,
        erp_order_number=order.number,
        marketplace_order_id=vtex_order.marketplace_order_id,
        vtex_status=vtex_order.status,
        erp_state=order.state_key,
    )
    sync.order_link_id = link.pk
    if channel.is_external_marketplace and SyncType.MARKETPLACE_STATUS in enabled:
        outcome = _marketplace_approval(vtex=vtex, sync=sync, vtex_order=vtex_order, status=mapping.marketplace_status)
        if outcome is not None:
            return outcome
    for _ in range(MAX_ROUNDS):
        facts = replace(facts, vtex_order=vtex_order)
        facts = pending_settle(facts=facts, order_sync=sync)
        plan = outbound_plan(facts, platform_status=mapping.platform_status)
        if not plan:
            break
        for action in plan:
            if isinstance(action, RemoveItems | CancelOrder):
                lock_confirm(lock)  # a second writer holding the order now could send it too
            outcome = vtex_action_send(action=action, vtex=vtex, order_sync=sync)
            if outcome is not None:
                order_link_record(channel=channel, vtex_order_id=vtex_order_id, vtex_status=vtex_order.status)
                return outcome
            if isinstance(action, RemoveItems | CancelOrder | PutTrackingEvents):
                facts = replace(facts, **pending_facts(order_sync=sync))
            if isinstance(action, BARRIERS):
                break
        vtex_order = vtex.get_order(vtex_order_id)
    else:
        return NotYet(f"VTEX order {vtex_order_id} still lacks pushed changes after {MAX_ROUNDS} rounds")

    order_link_record(channel=channel, vtex_order_id=vtex_order_id, vtex_status=vtex_order.status)
    return Done(f"Up to date: ERP {erp_state.replace('_', ' ')}, VTEX {vtex_order.status}")
