"""Reconciliation of one order: what the ERP and VTEX disagree on, each difference by kind, and whether
the normal sync repairs it.

Pure: no I/O, no models, no Django; the facts are the outbound plan's (``sync.plan.OutboundFacts``, with
the VTEX order as read now), so a reconciliation compares exactly what a sync run would look at.

Whether a difference is *repairable* is not a second copy of the plan's rules. The plan is asked what
VTEX lacks (``outbound_plan``), round after round as ``sync.outbound`` sends it, and each action is
applied to the VTEX order the way VTEX applies it (``sync.plan.vtex_order_after``, which the dry run
reads back too; reference/vtex.md §4, §5, §8.3, §13); the order is then compared again. A difference
that is gone is repairable, one that is still there is not, and its title says why (a transfer toggle
off, the status mapping, the plan's conflict or "not yet", or what the difference itself says the
portal never changes) and what a person checks.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from enum import StrEnum

from sync.clients.dtos import ErpDocument, VtexOrder, VtexPackage
from sync.outcomes import Conflict, NotYet
from sync.plan import (
    BARRIERS,
    CANCELLATION_REQUESTED,
    CANCELLED_IN_VTEX,
    OutboundFacts,
    erp_quantities_to_ship,
    item_key,
    outbound_plan,
    tracking_of,
    vtex_order_after,
)
from sync.transforms import (
    CANCELLED,
    UnmatchedLineError,
    invoice_lines_from,
    invoice_number_from,
    invoiced_quantities,
)


class DifferenceKind(StrEnum):
    STATUS = "status"
    INVOICE_MISSING = "invoice_missing"  # an ERP delivery note VTEX has no invoice for
    INVOICE_UNKNOWN = "invoice_unknown"  # a VTEX invoice no ERP delivery note or goods return has the number of
    INVOICE_MISMATCH = "invoice_mismatch"  # same number, other items, value or type
    ITEMS = "items"  # a VTEX item's quantity vs what the ERP order delivers of it
    TRACKING = "tracking"  # a missing or different tracking number or courier on an invoice
    CANCELLATION = "cancellation"  # cancelled on one side only
    RETURN_INVOICE = "return_invoice"  # an ERP goods return VTEX has no return invoice for


@dataclass(frozen=True)
class Difference:
    kind: str  # a DifferenceKind
    title: str  # what differs; when not repairable, also why and what a person checks
    erp: str  # what the ERP shows
    vtex: str  # what VTEX shows
    repairable: bool  # the normal sync (a repair) removes it
    subject: str = ""  # what it is about: an invoice number, a VTEX item's key; "" for the order as a whole


# What VTEX shows once the sync has done what a platform status asks for (mappings.models.PlatformStatus;
# reference/vtex.md §8.2): handled, partly invoiced, invoiced. A return leaves the status as it is (§8.2).
# "cancelled" is the cancellation kind's, "ignored" asks for nothing.
_HANDLED = frozenset({"start-handling", "handling", "ready-for-invoicing", "waiting-for-fulfillment"})
EXPECTED_VTEX_STATUSES: dict[str, frozenset[str]] = {
    "processing": _HANDLED,
    "partially_fulfilled": frozenset({"invoice"}),
    "fulfilled": frozenset({"invoiced"}),
    "refunded": frozenset({"invoice", "invoiced"}),
}
# How far along VTEX's workflow a status is (§8.2), to tell VTEX showing more than the ERP.
_STAGE = {"ready-for-handling": 1, **dict.fromkeys(_HANDLED, 2), "invoice": 3, "invoiced": 4}

# Rounds of plan → send → read again the comparison looks ahead: sync.outbound's MAX_ROUNDS per run, and
# the runs the runner's bounded "not yet" retries add when a round made progress.
ROUNDS = 24

# The channel's transfer toggle each kind depends on (OutboundFacts carries them; mappings.models.SyncType).
_TOGGLES = {
    DifferenceKind.TRACKING: ("push_tracking", "tracking"),
    DifferenceKind.CANCELLATION: ("push_cancellation", "cancellations"),
    DifferenceKind.RETURN_INVOICE: ("push_returns", "return invoices"),
}

# Why the sync leaves a difference, when neither the difference itself, a toggle, the mapping nor the plan's
# verdict says it: the plan's quiet skips (sync.plan: nothing left to invoice, a value of 0).
_LEFT_ALONE = {
    DifferenceKind.STATUS: "The sync sends nothing that moves VTEX on: check the order in VTEX (a status VTEX "
    "leaves only by itself, or invoices that do not add up to the order value).",
    DifferenceKind.INVOICE_MISSING: "The sync sends no invoice for it: nothing of it is left to invoice in VTEX "
    "(its items are invoiced under other numbers) or it holds free items only. Check whether it is a replacement "
    "shipment or a duplicate.",
    DifferenceKind.RETURN_INVOICE: "The sync sends no return invoice for it: nothing of it is left to return in "
    "VTEX (returned already, or never invoiced) or it holds free items only. Check the goods return in the ERP.",
    DifferenceKind.ITEMS: "The sync removes nothing here: check the ERP order's lines and the order in VTEX.",
    DifferenceKind.TRACKING: "The sync adds no tracking here: check the parcel and the carrier mapping.",
    DifferenceKind.CANCELLATION: "The sync does not cancel the VTEX order: check it in VTEX.",
}


@dataclass(frozen=True)
class _Found:
    kind: DifferenceKind
    subject: str
    title: str
    erp: str
    vtex: str
    never: str = ""  # why the portal never changes this, as the difference itself shows (what a person checks)


def order_differences(facts: OutboundFacts, *, platform_status: str) -> list[Difference]:
    """Each difference between the ERP order and the VTEX order, and whether the normal sync repairs it.

    1. Compare the facts: status, cancellation, items, invoices, tracking, return invoices.
    2. Look ahead: the VTEX order as it would be after the sync sent what the plan asks for, and why
       the sync would stop before that.
    3. Compare again: what is gone is repairable; what is left is not, with the reason in its title.
    """
    found = _differences_found(facts, platform_status=platform_status)  # 1.
    if not found:
        return []
    after, stopped = _after_sync(facts, platform_status=platform_status)  # 2.
    left = {(f.kind, f.subject) for f in _differences_found(after, platform_status=platform_status)}  # 3.
    differences = []
    for f in found:
        repairable = (f.kind, f.subject) not in left
        reason = "" if repairable else _why_left(f, facts=facts, platform_status=platform_status, stopped=stopped)
        title = f"{f.title}. {reason}" if reason else f.title
        differences.append(Difference(f.kind.value, title, f.erp, f.vtex, repairable, f.subject))
    return differences


# --- 1. comparing ---------------------------------------------------------------------------------------


def _differences_found(facts: OutboundFacts, *, platform_status: str) -> list[_Found]:
    vtex = facts.vtex_order
    erp_cancelled = facts.erp_state == CANCELLED
    if erp_cancelled or vtex.status in CANCELLED_IN_VTEX or vtex.status == CANCELLATION_REQUESTED:
        # A cancelled order on either side: what else differs follows from that (the ERP ships nothing more,
        # VTEX takes nothing more), so the cancellation is the one difference.
        return _cancellation(facts)
    return [
        *_status(facts, platform_status=platform_status),
        *_items(facts),
        *_invoices(facts),
        *_tracking(facts),
    ]


def _cancellation(facts: OutboundFacts) -> list[_Found]:
    vtex, order = facts.vtex_order, facts.order
    erp = f"{_state(facts.erp_state)} (ERP state {order.state_key or 'unknown'})"
    if facts.erp_state == CANCELLED:
        if vtex.status in CANCELLED_IN_VTEX:
            return []
        return [
            _Found(
                DifferenceKind.CANCELLATION,
                "",
                f"ERP order {order.number} is cancelled, VTEX order {vtex.order_id} is not",
                erp,
                _status_text(vtex),
            )
        ]
    if vtex.status == CANCELLATION_REQUESTED:
        never = (
            "The customer asked to cancel and the ERP order is not cancelled: decide in the ERP (cancelled there, "
            "the sync accepts the request in VTEX) or refuse the request in VTEX."
        )
        title = f"VTEX order {vtex.order_id} has a cancellation request, ERP order {order.number} is not cancelled"
    else:
        never = (
            "The sync never reopens a VTEX order, and cancelling the ERP order is the order import's part: check "
            "why VTEX cancelled it (payment, the customer, a person) and cancel the ERP order or deliver nothing."
        )
        title = f"VTEX order {vtex.order_id} is cancelled, ERP order {order.number} is not"
    return [_Found(DifferenceKind.CANCELLATION, "", title, erp, _status_text(vtex), never)]


def _status(facts: OutboundFacts, *, platform_status: str) -> list[_Found]:
    vtex = facts.vtex_order
    expected = EXPECTED_VTEX_STATUSES.get(platform_status)
    if expected is None or vtex.status in expected:
        return []
    never = ""
    if _STAGE.get(vtex.status, 0) > max(_STAGE.get(s, 0) for s in expected):
        never = (
            "VTEX is further along than the ERP: the sync never takes a VTEX order back. Check the invoices in VTEX "
            "(entered by hand?) and the ERP order's delivery notes."
        )
    wanted = " or ".join(f"'{s}'" for s in sorted(expected, key=lambda s: (_STAGE.get(s, 0), s)))
    return [
        _Found(
            DifferenceKind.STATUS,
            "",
            f"VTEX order {vtex.order_id} is '{vtex.status or 'no status'}', the ERP order is "
            f"{_state(facts.erp_state)} (mapped to '{platform_status}'), which needs {wanted}",
            f"{_state(facts.erp_state)} → {platform_status}",
            _status_text(vtex),
            never,
        )
    ]


def _items(facts: OutboundFacts) -> list[_Found]:
    vtex = facts.vtex_order
    try:
        to_ship = erp_quantities_to_ship(facts)
    except UnmatchedLineError as exc:
        return [
            _Found(
                DifferenceKind.ITEMS,
                "",
                f"An ERP order line matches no VTEX item: {exc}",
                str(exc),
                f"{len(vtex.items)} item(s)",
                "Check the ERP order's lines (article number, the VTEX line id stored at import): the sync cannot "
                "tell which VTEX item they stand for.",
            )
        ]
    invoiced = invoiced_quantities(vtex)
    found = []
    for item in vtex.items:
        erp_quantity = to_ship.get(item.index, 0)
        if item.quantity == erp_quantity:
            continue
        never = ""
        if item.quantity < erp_quantity:
            never = (
                "The ERP order delivers more than VTEX ordered: the portal never adds items to a VTEX order. Check "
                "the ERP order line."
            )
        elif invoiced.get(item.index, 0) > erp_quantity:
            never = (
                f"VTEX has invoiced {invoiced[item.index]} of it, more than the ERP delivers: the portal never removes "
                "invoiced units. Check the delivery notes, or settle it with a goods return."
            )
        found.append(
            _Found(
                DifferenceKind.ITEMS,
                item_key(item),
                f"VTEX item {item.index + 1} (SKU {item.sku_id}{_named(item.name)}): {item.quantity} on the VTEX "
                f"order, the ERP order delivers {erp_quantity}",
                f"{erp_quantity} × SKU {item.sku_id}",
                f"{item.quantity} × SKU {item.sku_id}",
                never,
            )
        )
    return found


def _invoices(facts: OutboundFacts) -> list[_Found]:
    vtex = facts.vtex_order
    packages = {p.invoice_number: p for p in vtex.packages}
    found, numbers = [], set()
    documents = [(note, "Output") for note in facts.delivery_notes] + [(r, "Input") for r in facts.returns]
    for document, type_ in documents:
        number = invoice_number_from(document.number)
        numbers.add(number)
        erp_name = f"{_document_kind(type_)} {document.number}"
        try:
            quantities, value = _document_items(document, facts)
        except UnmatchedLineError as exc:
            quantities, value, unmatched = None, 0, str(exc)
        else:
            unmatched = ""
        erp = f"{erp_name}: {_listed(quantities, vtex)}" if quantities is not None else f"{erp_name}: {unmatched}"
        package = packages.get(number)
        if package is None:
            kind = DifferenceKind.INVOICE_MISSING if type_ == "Output" else DifferenceKind.RETURN_INVOICE
            invoice = "invoice" if type_ == "Output" else "return invoice"
            found.append(
                _Found(kind, number, f"{erp_name} has no {invoice} {number} in VTEX", erp, f"no {invoice} {number}")
            )
            continue
        shown = _package_quantities(package)
        problems = []
        if package.type != type_:
            problems.append(f"VTEX has it as {'a sale' if package.type == 'Output' else 'a return'} invoice")
        if quantities is None:
            problems.append(f"its lines match no VTEX item ({unmatched})")
        elif quantities != shown:
            problems.append("the items differ")
        elif type_ == "Input" and package.invoice_value != value:
            # A return is refunded at the VTEX items' prices (sync.plan's return invoices); a sale invoice's
            # value is the order total split by the plan (freight with the first, the remainder with the
            # last), so only its items are compared; a total that does not add up shows in the status.
            problems.append(f"the value differs ({_money(value)} in the ERP, {_money(package.invoice_value)} in VTEX)")
        if problems:
            found.append(
                _Found(
                    DifferenceKind.INVOICE_MISMATCH,
                    number,
                    f"VTEX invoice {number} and {erp_name} differ: {'; '.join(problems)}",
                    erp,
                    _package_text(package, vtex),
                    "The portal never changes an invoice VTEX has: check which side is right; a wrong VTEX invoice "
                    "is settled in VTEX (or with a return invoice), a wrong ERP document in the ERP.",
                )
            )
    for package in vtex.packages:
        if package.invoice_number in numbers:
            continue
        what = "delivery note" if package.type == "Output" else "goods return"
        found.append(
            _Found(
                DifferenceKind.INVOICE_UNKNOWN,
                package.invoice_number,
                f"VTEX invoice {package.invoice_number} matches no ERP {what}",
                f"no {what} numbered {package.invoice_number}",
                _package_text(package, vtex),
                f"VTEX shows more than the ERP: check whether the invoice was entered in VTEX by hand, or the ERP "
                f"{what} was deleted or renumbered.",
            )
        )
    return found


def _tracking(facts: OutboundFacts) -> list[_Found]:
    vtex = facts.vtex_order
    found = []
    for note in facts.delivery_notes:
        number = invoice_number_from(note.number)
        package = vtex.invoice(number)
        if package is None or package.type != "Output":
            continue  # the missing invoice is the difference (it goes out with its tracking)
        tracked = tracking_of(note, facts.shipments)
        shown = f"{package.courier or 'no courier'} {package.tracking_number}" if package.tracking_number else ""
        if tracked is None:
            if package.tracking_number:
                found.append(
                    _Found(
                        DifferenceKind.TRACKING,
                        number,
                        f"VTEX invoice {number} has tracking {package.tracking_number}, delivery note {note.number} "
                        "has no parcel with a tracking number",
                        "no tracking number",
                        shown,
                        "VTEX shows more than the ERP: check whether the tracking was entered in VTEX by hand, or the "
                        "parcel is missing in the ERP.",
                    )
                )
            continue
        carrier_key, tracking_number = tracked
        carrier = facts.carriers.get(carrier_key)
        courier = carrier.courier if carrier is not None else ""
        erp = f"{carrier_key} {tracking_number}"
        if not package.tracking_number:
            title = f"VTEX invoice {number} has no tracking, delivery note {note.number} has {tracking_number}"
            found.append(_Found(DifferenceKind.TRACKING, number, title, erp, "no tracking"))
        elif package.tracking_number != tracking_number or (courier and package.courier != courier):
            found.append(
                _Found(
                    DifferenceKind.TRACKING,
                    number,
                    f"VTEX invoice {number} has tracking {shown}, delivery note {note.number} has "
                    f"{courier or carrier_key} {tracking_number}",
                    erp,
                    shown,
                    "The portal adds tracking only to an invoice that has none: check which parcel and carrier are "
                    "right, and correct the invoice in VTEX or the shipment in the ERP.",
                )
            )
    return found


def _document_items(document: ErpDocument, facts: OutboundFacts) -> tuple[Counter, int]:
    """The VTEX items (index → quantity) an ERP document stands for, as the invoice payloads read it
    (``transforms.invoice_lines_from``, uncapped), and their value at the VTEX items' prices."""
    uncapped = dict.fromkeys((item.index for item in facts.vtex_order.items), 10**9)
    lines, _warnings = invoice_lines_from(document, order=facts.order, vtex_order=facts.vtex_order, remaining=uncapped)
    quantities = Counter({line.item.index: line.quantity for line in lines})
    return quantities, sum(line.item.selling_price * line.quantity for line in lines)


def _package_quantities(package: VtexPackage) -> Counter:
    quantities: Counter = Counter()
    for item in package.items:
        quantities[-1 if item.item_index is None else item.item_index] += item.quantity
    return +quantities


# --- 2. looking ahead --------------------------------------------------------------------------------


def _after_sync(facts: OutboundFacts, *, platform_status: str) -> tuple[OutboundFacts, str]:
    """The facts with VTEX's order as it would be once the sync sent what the plan asks for, round after
    round as ``sync.outbound`` sends it, and why the sync would stop short ("" when nothing is left to send).

    A round's actions go out up to its first barrier, after which the order is read again; the plan's
    conflict ends the sync (a person's turn); a "not yet" ends it too unless the round sent something
    (the runner tries again, and VTEX then shows what was sent).
    """
    for _ in range(ROUNDS):
        try:
            plan = outbound_plan(facts, platform_status=platform_status)
        except UnmatchedLineError as exc:
            return facts, f"The sync fails on this order: {exc}."
        if not plan:
            return facts, ""
        sent = False
        for action in plan:
            if isinstance(action, Conflict):
                return facts, f"The sync stops with a conflict for a person: {action.message}"
            if isinstance(action, NotYet):
                if not sent:
                    return facts, (
                        f"VTEX is not ready for it: {action.message}. The sync tries again by itself for a while; "
                        "check again later, then in VTEX."
                    )
                break
            facts = replace(facts, vtex_order=vtex_order_after(facts.vtex_order, action))
            sent = True
            if isinstance(action, BARRIERS):
                break
    return facts, f"The sync would still be sending after {ROUNDS} rounds: check the order in VTEX."


# --- 3. what is left, and why ----------------------------------------------------------------------------


def _why_left(found: _Found, *, facts: OutboundFacts, platform_status: str, stopped: str) -> str:
    """Why the sync leaves a difference, the most telling reason first."""
    if found.never:
        return found.never
    toggle = _TOGGLES.get(found.kind)
    if toggle is not None and not getattr(facts, toggle[0]):
        return f"The channel does not sync {toggle[1]} (its transfer toggle is off): settle it in VTEX by hand."
    state = _state(facts.erp_state)
    if platform_status == "ignored":
        return f"The channel's status mapping for ERP state '{state}' is 'ignored': the sync pushes nothing."
    if platform_status == "processing" and found.kind != DifferenceKind.STATUS:
        return (
            f"The channel's status mapping for ERP state '{state}' is 'processing': the sync only starts handling "
            "until the ERP delivers."
        )
    if found.kind == DifferenceKind.RETURN_INVOICE and platform_status != "refunded":
        return (
            f"The channel's status mapping for ERP state '{state}' is '{platform_status}': the sync sends return "
            "invoices only for 'refunded'."
        )
    return stopped or _LEFT_ALONE[found.kind]


# --- texts -----------------------------------------------------------------------------------------------


def _state(erp_state: str) -> str:
    return erp_state.replace("_", " ")


def _status_text(vtex: VtexOrder) -> str:
    return vtex.status or "no status (incomplete order)"


def _named(name: str) -> str:
    return f", {name}" if name else ""


def _document_kind(type_: str) -> str:
    return "delivery note" if type_ == "Output" else "goods return"


def _money(cents: int) -> str:
    return f"{cents / 100:.2f}"


def _listed(quantities: Counter, vtex: VtexOrder) -> str:
    skus = {item.index: item.sku_id for item in vtex.items}
    return ", ".join(f"{q} × SKU {skus.get(i, '?')}" for i, q in sorted(quantities.items())) or "no items"


def _package_text(package: VtexPackage, vtex: VtexOrder) -> str:
    kind = "invoice" if package.type == "Output" else "return invoice"
    items = _listed(_package_quantities(package), vtex)
    return f"{kind} {package.invoice_number}: {items}, {_money(package.invoice_value)}"
