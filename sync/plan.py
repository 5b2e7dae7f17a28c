"""The outbound plan: the facts of both sides in, the actions VTEX lacks out, in the order to send them.

Pure: nothing here does I/O, reads the database or imports Django, so every rule is table- and
property-tested (tests/sync/test_plan.py, test_plan_orderings.py). The plan is *level-triggered*
(design §2.2): it compares what the ERP says now with what the VTEX order shows now and returns only
the difference, so running it twice, late or after a crash never pushes anything twice. The payloads
it puts into its actions come from ``sync.transforms``; ``sync.outbound`` fetches the facts and sends
the actions.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from sync.clients.dtos import ErpDocument, ErpShipment, VtexItem, VtexOrder, VtexPackage, VtexPackageItem
from sync.outcomes import Conflict, NotYet
from sync.transforms import (
    CANCELLED,
    CONFIRMED,
    CarrierInfo,
    invoice_lines_from,
    invoice_number_from,
    invoiced_quantities,
    issuance_date_from,
    tracking_event_content,
    vtex_invoice_from_lines,
    vtex_item_for_line,
    vtex_tracking_status_from,
)

# --- Actions ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StartHandling:
    pass


@dataclass(frozen=True)
class RemoveItems:
    changes: dict
    targets: Mapping[str, int] = field(default_factory=dict)  # item key → quantity VTEX should end at


@dataclass(frozen=True)
class PostInvoice:
    invoice: dict
    source_document: str


@dataclass(frozen=True)
class PatchTracking:
    invoice_number: str
    tracking_number: str
    tracking_url: str
    courier: str
    dispatched_date: str | None


@dataclass(frozen=True)
class PutTrackingEvents:
    invoice_number: str
    status: dict


@dataclass(frozen=True)
class CancelOrder:
    reason: str
    note: str


# The plan's own verdicts are outcomes of the run (sync.outcomes): Conflict when only a person can take
# the order further, NotYet when VTEX is not ready for the next step.
Action = StartHandling | RemoveItems | PostInvoice | PatchTracking | PutTrackingEvents | CancelOrder | Conflict | NotYet

# Statuses in which VTEX accepts what the plan sends (reference/vtex.md §8.3, §13). "invoice" is
# the partially invoiced stage: VTEX's cancel documentation says such orders cannot be cancelled
# but can be changed to remove items — which is how the shipped part of an order gets completed.
INVOICEABLE = frozenset({"handling", "invoice"})
MODIFIABLE = frozenset({"handling", "invoice", "waiting-for-fulfillment", "ready-for-invoicing"})
CANCELLED_IN_VTEX = frozenset({"cancel", "canceled"})
# Statuses VTEX moves through by itself and in which it accepts no cancellation (reference/vtex.md
# §3.2): wait for the next one instead of failing on VTEX's 400. (An incomplete order, status null,
# never moves on: a conflict.)
NOT_CANCELLABLE_YET = frozenset({"order-created", "start-handling", "invoice"})
# The customer asked to cancel: the ERP decides (inbound cancels the ERP order, or a person refuses).
CANCELLATION_REQUESTED = "cancellation-requested"

# Actions after which the VTEX order has changed in a way the rest of the plan depends on (status,
# quantities, total): the service executes them, reads the order again and plans anew.
BARRIERS = (StartHandling, RemoveItems)


# --- Facts ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OutboundFacts:
    """Everything the plan looks at, fetched fresh for every run."""

    order: ErpDocument
    vtex_order: VtexOrder
    delivery_notes: Sequence[ErpDocument] = ()
    shipments: Mapping[str, Sequence[ErpShipment]] = field(default_factory=dict)  # by delivery note id
    returns: Sequence[ErpDocument] = ()
    erp_state: str = CONFIRMED
    carriers: Mapping[str, CarrierInfo] = field(default_factory=dict)
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    push_tracking: bool = True
    push_cancellation: bool = True
    push_returns: bool = True
    # Asynchronous requests already sent (VTEX answers 202/200 and applies them later, §3.2, §13):
    # until they show, or ``confirm_seconds`` pass, the plan waits rather than sending them again.
    cancel_sent_at: datetime | None = None
    removal_sent_at: datetime | None = None
    removal_targets: Mapping[str, int] = field(default_factory=dict)
    confirm_seconds: float = 900.0
    # Invoice number → what the portal's PUTs carried so far: {"events": [[city, state, description], …],
    # "delivered": bool}, for a VTEX that does not echo them (a digest string as kept before 2026-11-23).
    tracking_sent: Mapping[str, Mapping | str] = field(default_factory=dict)


def tracking_of(note: ErpDocument, shipments: Mapping[str, Sequence[ErpShipment]]) -> tuple[str, str] | None:
    """(carrier key, tracking number) of a delivery note's first parcel that has a number."""
    for shipment in shipments.get(note.id, ()):
        for parcel in shipment.parcels:
            if parcel.tracking_number:
                return shipment.carrier_key, parcel.tracking_number
    return None


def missing_carriers(facts: OutboundFacts) -> list[str]:
    """Carrier keys of shipments with tracking numbers that the channel has no mapping for."""
    used = {
        key
        for note in facts.delivery_notes
        if (tracked := tracking_of(note, facts.shipments)) is not None
        for key in [tracked[0]]
    }
    return sorted(used - set(facts.carriers))


def erp_quantities_to_ship(facts: OutboundFacts) -> dict[int, int]:
    """VTEX item index → quantity the ERP still means to deliver in total.

    A closed line (``complete``, or the whole order closed after a partial delivery) ends at what
    was delivered; an open line at its quantity less what was cancelled on it.
    """
    totals: dict[int, int] = defaultdict(int)
    for line in facts.order.article_lines:
        item = vtex_item_for_line(line, order=facts.order, vtex_order=facts.vtex_order)
        if line.complete:
            quantity = line.quantity_committed
        else:
            quantity = line.quantity - line.cancelled_quantity
        totals[item.index] += int(max(quantity, 0))
    return dict(totals)


def item_key(item: VtexItem) -> str:
    """A VTEX order line's identity across item removals (its index may shift; uniqueId does not)."""
    return item.unique_id or f"{item.sku_id}#{item.index}"


def removal_state(facts: OutboundFacts) -> str:
    """Where the last item removal sent stands: none, applied, waiting (VTEX has not applied it yet)
    or expired (not applied within ``confirm_seconds``: a person must look)."""
    if not facts.removal_targets or facts.removal_sent_at is None:
        return "none"
    quantities = {item_key(item): item.quantity for item in facts.vtex_order.items}
    if all(quantities.get(key, 0) <= target for key, target in facts.removal_targets.items()):
        return "applied"
    if (facts.now - facts.removal_sent_at).total_seconds() < facts.confirm_seconds:
        return "waiting"
    return "expired"


# --- What VTEX lacks, part by part ---------------------------------------------------------------------------


def _removals(facts: OutboundFacts) -> tuple[list[dict], dict[str, int]]:
    """The removal request's items and, per line, the quantity VTEX should show once it is applied."""
    vtex = facts.vtex_order
    invoiced = invoiced_quantities(vtex)
    to_ship = erp_quantities_to_ship(facts)
    removals, targets = [], {}
    for item in vtex.items:
        # Never remove what is already invoiced, whatever the ERP says now.
        target = max(to_ship.get(item.index, 0), invoiced.get(item.index, 0))
        if item.quantity > target:
            removals.append(
                {
                    "id": item.sku_id,
                    "quantity": item.quantity - target,
                    "price": item.selling_price,
                    # The line's id, when VTEX gave one (an empty one would name no line).
                    **({"uniqueId": item.unique_id} if item.unique_id else {}),
                }
            )
            targets[item_key(item)] = target
    return removals, targets


def _cancellation_plan(facts: OutboundFacts, platform_status: str) -> list[Action]:
    vtex = facts.vtex_order
    if not facts.push_cancellation or platform_status != "cancelled":
        return []
    if vtex.invoices("Output"):
        return [
            Conflict(
                f"ERP order {facts.order.number} is cancelled, but VTEX order {vtex.order_id} is already "
                "(partly) invoiced and can no longer be cancelled. Settle it with a return invoice or by hand."
            )
        ]
    if not vtex.status:
        return [
            Conflict(
                f"ERP order {facts.order.number} is cancelled, but VTEX order {vtex.order_id} has no status (an "
                "incomplete order), which VTEX cannot cancel. Settle it by hand."
            )
        ]
    if vtex.status in NOT_CANCELLABLE_YET:
        return [NotYet(f"VTEX order {vtex.order_id} is {vtex.status}: VTEX accepts no cancellation now")]
    if facts.cancel_sent_at is not None:
        # VTEX cancels asynchronously (cancel → canceled): a second request would add a second note.
        if (facts.now - facts.cancel_sent_at).total_seconds() < facts.confirm_seconds:
            return [NotYet(f"cancellation of VTEX order {vtex.order_id} sent; waiting for VTEX to apply it")]
        return [
            Conflict(
                f"The cancellation sent at {facts.cancel_sent_at:%Y-%m-%d %H:%M} UTC is still not applied to VTEX "
                f"order {vtex.order_id} ({vtex.status}). Check the order in VTEX, then retry: a retry sends it again."
            )
        ]
    return [
        CancelOrder(
            reason=f"Cancelled in VARIO ERP (order {facts.order.number})",
            note=f"Cancelled by the ERP integration: VARIO order {facts.order.number} was cancelled "
            f"(state {facts.order.state_key or 'unknown'}).",
        )
    ]


def _invoice_plan(facts: OutboundFacts) -> list[Action]:
    vtex = facts.vtex_order
    actions: list[Action] = []
    known = {p.invoice_number for p in vtex.packages}
    invoiced = invoiced_quantities(vtex)
    remaining = {item.index: item.quantity - invoiced.get(item.index, 0) for item in vtex.items}
    output_sum = sum(p.invoice_value for p in vtex.invoices("Output"))
    first_invoice = not vtex.invoices("Output")
    for note in sorted(
        facts.delivery_notes,
        key=lambda d: (d.shipping_date or d.document_date, int(d.id) if d.id.isdigit() else 0, d.id),
    ):
        number = invoice_number_from(note.number)
        if number in known:
            continue
        lines, _warnings = invoice_lines_from(note, order=facts.order, vtex_order=vtex, remaining=remaining)
        if not lines:
            continue  # nothing of it left to invoice: no reason to wait for VTEX, nor to hold tracking back
        if vtex.status not in INVOICEABLE:
            return [*actions, NotYet(f"VTEX order {vtex.order_id} is {vtex.status}: it cannot be invoiced yet")]
        for line in lines:
            remaining[line.item.index] -= line.quantity
        value = sum(line.item.selling_price * line.quantity for line in lines)
        if first_invoice:
            value += vtex.shipping_total  # freight is billed with the first shipment
        if all(left <= 0 for left in remaining.values()) and vtex.value > output_sum:
            # The last invoice brings the sum to the order total exactly (taxes, order discounts, rounding).
            value = vtex.value - output_sum
        if value <= 0:
            continue  # free items only: VTEX refuses an invoice value of 0 (it must be greater than 0)
        courier = tracking_number = tracking_url = ""
        dispatched_date = None
        issued = issuance_date_from(note.shipping_date or note.document_date, fallback=facts.now)
        tracked = tracking_of(note, facts.shipments) if facts.push_tracking else None
        if tracked is not None:
            carrier = facts.carriers[tracked[0]]
            courier, tracking_number, tracking_url = carrier.courier, tracked[1], carrier.tracking_url(tracked[1])
            # What a later PATCH of the tracking sends too (_tracking_plan): the invoice ends the same
            # whether its tracking number came with it or after it.
            dispatched_date = issued
        actions.append(
            PostInvoice(
                invoice=vtex_invoice_from_lines(
                    type_="Output",
                    number=number,
                    issuance_date=issued,
                    value=value,
                    lines=lines,
                    courier=courier,
                    tracking_number=tracking_number,
                    tracking_url=tracking_url,
                    dispatched_date=dispatched_date,
                ),
                source_document=note.id,
            )
        )
        output_sum += value
        first_invoice = False
    return actions


def _tracking_plan(facts: OutboundFacts) -> list[Action]:
    actions: list[Action] = []
    for note in facts.delivery_notes:
        package = facts.vtex_order.invoice(invoice_number_from(note.number))
        tracked = tracking_of(note, facts.shipments)
        if package is None or tracked is None or package.tracking_number:
            continue
        carrier = facts.carriers[tracked[0]]
        actions.append(
            PatchTracking(
                invoice_number=package.invoice_number,
                tracking_number=tracked[1],
                tracking_url=carrier.tracking_url(tracked[1]),
                courier=carrier.courier,
                dispatched_date=issuance_date_from(note.shipping_date or note.document_date, fallback=facts.now),
            )
        )
    return actions


def tracking_events_missing(parcel, *, shown: Sequence[tuple], sent: Sequence[Sequence]) -> list:
    """The parcel's events VTEX does not have yet, oldest first.

    VTEX appends what a PUT carries (reference §8.3), so only these may be sent. Told by content and
    count: an event is known when VTEX shows, or the portal already sent, as many events with its city,
    state and description as the parcel has up to it (a carrier may repeat a scan on another day).
    """
    known = Counter(shown)
    for key, count in Counter(tuple(item) for item in sent).items():
        known[key] = max(known[key], count)
    seen: Counter = Counter()
    missing = []
    for event in parcel.events:
        key = tracking_event_content(event)
        seen[key] += 1
        if seen[key] > known[key]:
            missing.append(event)
    return missing


def tracking_sent_after(pending: dict | None, action: PutTrackingEvents) -> dict:
    """``vtex_pending["tracking"]`` once ``action`` was accepted: its events added to what the invoice's
    earlier PUTs carried (VTEX appends, so that is what it should show)."""
    tracking = dict((pending or {}).get("tracking") or {})
    before = tracking.get(action.invoice_number)
    before = before if isinstance(before, dict) else {}
    events = [
        *(before.get("events") or []),
        *([e["city"], e["state"], e["description"]] for e in action.status["events"]),
    ]
    delivered = bool(before.get("delivered")) or bool(action.status["isDelivered"])
    return {**tracking, action.invoice_number: {"events": events, "delivered": delivered}}


def _tracking_sent_record(stored, parcel) -> Mapping:
    """What ``vtex_pending["tracking"]`` says was sent for an invoice. Before 2026-11-23 it held a digest
    of the whole body last sent (all of the parcel's events then): when it matches the parcel as it is,
    every event and the delivery were sent already."""
    if isinstance(stored, Mapping):
        return stored
    if isinstance(stored, str) and stored == _legacy_tracking_digest(parcel):
        return {
            "events": [list(tracking_event_content(e)) for e in parcel.events],
            "delivered": bool(parcel.delivered_at),
        }
    return {}


def _legacy_tracking_digest(parcel) -> str:
    delivered = parcel.delivered_at[:16].replace("T", " ") if parcel.delivered_at else ""
    body = {
        "isDelivered": bool(parcel.delivered_at),
        "deliveredDate": delivered or None,
        "events": [
            {"city": e.city, "state": e.state, "description": e.description[:5000], "date": e.date}
            for e in parcel.events
        ],
    }
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:16]


def _tracking_events_plan(facts: OutboundFacts) -> list[Action]:
    """Carriers VTEX does not track itself: push the ERP's tracking events once the invoice has a number."""
    actions: list[Action] = []
    for note in facts.delivery_notes:
        package = facts.vtex_order.invoice(invoice_number_from(note.number))
        if package is None or not package.tracking_number:
            continue
        for shipment in facts.shipments.get(note.id, ()):
            carrier = facts.carriers.get(shipment.carrier_key)
            if carrier is None or carrier.integrated_with_vtex:
                continue
            parcel = next((p for p in shipment.parcels if p.tracking_number == package.tracking_number), None)
            if parcel is None or not (parcel.events or parcel.delivered_at):
                continue
            sent = _tracking_sent_record(facts.tracking_sent.get(package.invoice_number), parcel)
            missing = tracking_events_missing(
                parcel, shown=package.tracking_event_contents, sent=sent.get("events") or ()
            )
            status = vtex_tracking_status_from(parcel, events=missing)
            newly_delivered = status["isDelivered"] and not package.delivered and not sent.get("delivered")
            if missing or newly_delivered:
                actions.append(PutTrackingEvents(package.invoice_number, status))
    return actions


def _return_plan(facts: OutboundFacts) -> list[Action]:
    vtex = facts.vtex_order
    actions: list[Action] = []
    known = {p.invoice_number for p in vtex.packages}
    output = invoiced_quantities(vtex, "Output")
    already_returned = invoiced_quantities(vtex, "Input")
    returnable = {item.index: output.get(item.index, 0) - already_returned.get(item.index, 0) for item in vtex.items}
    for document in sorted(facts.returns, key=lambda d: (d.document_date, d.id)):
        number = invoice_number_from(document.number)
        if number in known:
            continue
        lines, _warnings = invoice_lines_from(document, order=facts.order, vtex_order=vtex, remaining=returnable)
        if not lines:
            continue
        if vtex.status != "invoiced":
            return [*actions, NotYet(f"return {document.number}: VTEX order {vtex.order_id} is not invoiced yet")]
        for line in lines:
            returnable[line.item.index] -= line.quantity
        value = sum(line.item.selling_price * line.quantity for line in lines)
        if value <= 0:
            continue  # free items only: nothing to refund, and VTEX refuses an invoice value of 0
        actions.append(
            PostInvoice(
                invoice=vtex_invoice_from_lines(
                    type_="Input",
                    number=number,
                    issuance_date=issuance_date_from(document.document_date, fallback=facts.now),
                    value=value,
                    lines=lines,
                ),
                source_document=document.id,
            )
        )
    return actions


# --- The plan ------------------------------------------------------------------------------------------------


def outbound_plan(facts: OutboundFacts, *, platform_status: str) -> list[Action]:
    """What VTEX lacks, in the order it must be sent. ``platform_status`` comes from the mapping.

    A barrier action (start-handling, item removal) is returned alone: it changes the order, so the
    caller executes it, reads the order again and asks for the next plan.
    """
    vtex = facts.vtex_order
    if platform_status == "ignored" or vtex.status in CANCELLED_IN_VTEX:
        return []
    if facts.erp_state == CANCELLED:
        # Also answers a customer's cancellation request: cancelling is how the seller accepts it.
        return _cancellation_plan(facts, platform_status)
    if vtex.status == CANCELLATION_REQUESTED:
        return []
    if vtex.status == "ready-for-handling":
        return [StartHandling()]
    if vtex.status == "start-handling":
        return [NotYet(f"VTEX order {vtex.order_id} is still in start-handling")]
    if platform_status == "processing":
        return []

    state = removal_state(facts)
    if state == "waiting":
        # Modifications are applied asynchronously (202, §13); invoices depend on the new quantities.
        return [NotYet(f"item removal sent to VTEX order {vtex.order_id}; waiting for VTEX to apply it")]
    if state == "expired":
        # Sending it again could remove shipped units if VTEX is only slow: a person looks first.
        return [
            Conflict(
                f"The item removal sent at {facts.removal_sent_at:%Y-%m-%d %H:%M} UTC is still not applied to VTEX "
                f"order {vtex.order_id}. Check the order's changes in VTEX, then retry: a retry sends what is "
                "still missing."
            )
        ]
    removals, targets = _removals(facts)
    if removals:
        if vtex.status not in MODIFIABLE:
            return [NotYet(f"VTEX order {vtex.order_id} is {vtex.status}: items can be removed only while handling")]
        reason = f"Not delivered: closed or cancelled in VARIO ERP order {facts.order.number}"
        # Shape per the spec's description: `remove` is the `from` object of a replace: {"items": [...]}.
        return [RemoveItems({"reason": reason, "remove": {"items": removals}}, targets=targets)]

    actions = _invoice_plan(facts)
    if facts.push_tracking:
        actions += _tracking_plan(facts)
        actions += _tracking_events_plan(facts)
    if facts.push_returns and platform_status == "refunded":
        actions += _return_plan(facts)
    if not actions and vtex.status == "invoice" and _nothing_left_to_invoice(facts):
        # Everything the ERP ships is invoiced, yet VTEX still verifies the invoices ("invoice"): it
        # may be on its way to "invoiced", or the invoices do not add up to the order's total (after an
        # item removal, with taxes or discounts). Bounded waits, then visible, not "done".
        return [
            NotYet(
                f"VTEX order {vtex.order_id} stays in 'invoice' although everything VARIO ERP ships is invoiced "
                f"(invoices {sum(p.invoice_value for p in vtex.invoices('Output'))}, order value {vtex.value})"
            )
        ]
    return actions


def _nothing_left_to_invoice(facts: OutboundFacts) -> bool:
    invoiced = invoiced_quantities(facts.vtex_order)
    to_ship = erp_quantities_to_ship(facts)
    return all(invoiced.get(index, 0) >= quantity for index, quantity in to_ship.items())


# --- The VTEX order after an action (what a dry run reads back) ----------------------------------------------


def vtex_order_after(order: VtexOrder, action: Action) -> VtexOrder:
    """The VTEX order as VTEX shows it once it has applied ``action``, by the rules of reference/vtex.md
    §3, §4, §5, §8.3 and §13; the plan's verdicts (Conflict, NotYet) are not sent and change nothing.

    A dry run (``sync.dry_run``) reads this instead of the real order after each write it held back, so
    the run plans its next round as it would after the real write. It assumes VTEX has moved on at once
    (start-handling straight to handling, a removal applied): a real run may have to wait for that, and
    then sends the same calls in a later run.
    """
    match action:
        case StartHandling():
            # §3.1: only from ready-for-handling; start-handling, then handling by itself.
            return replace(order, status="handling") if order.status == "ready-for-handling" else order
        case PostInvoice(invoice=invoice):
            return _after_invoice(order, invoice)
        case PatchTracking():
            return _package_changed(
                order,
                action.invoice_number,
                courier=action.courier,
                tracking_number=action.tracking_number,
                tracking_url=action.tracking_url,
            )
        case PutTrackingEvents(invoice_number=number, status=status):
            package = order.invoice(number)
            if package is None:
                return order
            # §5.2: the events are appended (a resent one shows twice); isDelivered finishes the package.
            events = tuple((e["city"], e["state"], e["description"]) for e in status["events"])
            return _package_changed(
                order,
                number,
                tracking_event_contents=(*package.tracking_event_contents, *events),
                tracking_events=package.tracking_events + len(events),
                delivered=package.delivered or bool(status["isDelivered"]),
            )
        case RemoveItems(changes=changes):
            return _after_removal(order, changes["remove"]["items"])
        case CancelOrder():
            # §3.2: asynchronous, cancel ("Canceling") first, then canceled.
            return replace(order, status="cancel")
    return order


def _package_changed(order: VtexOrder, number: str, **changes) -> VtexOrder:
    packages = tuple(replace(p, **changes) if p.invoice_number == number else p for p in order.packages)
    return replace(order, packages=packages)


def _invoiced_in_full(order: VtexOrder) -> VtexOrder:
    """§4, §8.3: once the sale invoices add up to the order's value, a partly invoiced order is invoiced."""
    outputs = order.invoices("Output")
    if order.status == "invoice" and outputs and sum(p.invoice_value for p in outputs) >= order.value:
        return replace(order, status="invoiced")
    return order


def _after_invoice(order: VtexOrder, invoice: Mapping) -> VtexOrder:
    """§4: the invoice becomes a package; its items are put on the order's lines of each SKU, first line
    first, as VTEX infers them from the SKU ids (the body names no line)."""
    type_ = invoice["type"]
    taken = defaultdict(int, invoiced_quantities(order, type_))
    items = []
    for sent in invoice["items"]:
        left = int(sent["quantity"])
        for line in order.items:
            share = min(left, line.quantity - taken[line.index]) if line.sku_id == str(sent["id"]) else 0
            if share <= 0:
                continue
            taken[line.index] += share
            left -= share
            items.append(VtexPackageItem(item_index=line.index, quantity=share, price=int(sent["price"])))
        if left > 0:  # more than the lines hold (VTEX would refuse it): kept on no line
            items.append(VtexPackageItem(item_index=None, quantity=left, price=int(sent["price"])))
    package = VtexPackage(
        type=type_,
        invoice_number=invoice["invoiceNumber"],
        invoice_value=int(invoice["invoiceValue"]),
        items=tuple(items),
        courier=invoice.get("courier") or "",
        tracking_number=invoice.get("trackingNumber") or "",
        tracking_url=invoice.get("trackingUrl") or "",
        issuance_date=invoice.get("issuanceDate") or "",
    )
    order = replace(order, packages=(*order.packages, package))
    if type_ != "Output":
        return order  # a return invoice leaves the status as it is (§8.2)
    if order.status == "handling":
        order = replace(order, status="invoice")
    return _invoiced_in_full(order)


def _after_removal(order: VtexOrder, removed: Sequence[Mapping]) -> VtexOrder:
    """§13: the lines shrink (by uniqueId, else the SKU's first line with units left), the order's value
    with them; an order whose invoices now cover its value is invoiced."""
    quantities = {item.index: item.quantity for item in order.items}
    value = order.value
    for sent in removed:
        left = int(sent["quantity"])
        for line in order.items:
            if line.sku_id != str(sent["id"]) or (sent.get("uniqueId") and line.unique_id != sent["uniqueId"]):
                continue
            share = min(left, quantities[line.index])
            quantities[line.index] -= share
            left -= share
            value -= share * int(sent.get("price") if sent.get("price") is not None else line.selling_price)
            if not left:
                break
    items = tuple(replace(item, quantity=quantities[item.index]) for item in order.items)
    return _invoiced_in_full(replace(order, items=items, value=value))
