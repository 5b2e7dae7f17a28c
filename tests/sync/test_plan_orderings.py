"""Orderings and duplications of one order's VARIO webhooks all end in the same VTEX state (issue #13, item 4).

Pure: the outbound plan (``sync.plan.outbound_plan``) run against a model of the VTEX order,
no database and no HTTP. Hypothesis draws

- an ERP history of one order: deliveries (with or without a tracking number), late tracking,
  carrier scans, cancelled lines, the rest closed, a dissolve, goods returns, each step firing the
  webhooks VARIO fires for it (docs/sandbox-vario.md, "Webhook delivery");
- orderings of those webhooks: shuffled, duplicated, late (a run reads the ERP as it is when the
  webhook arrives, never older than the webhook's cause), collapsed (several webhooks, one run), with
  VTEX applying its asynchronous steps (start-handling, cancel, item removal) at arbitrary moments.

Each webhook's run does what ``sync.outbound.order_status_work`` does: read VTEX, settle what VTEX now
shows, plan, execute one round at a time until the plan is empty. The VTEX model refuses what the
sandbox (and VTEX) would refuse: an invoice number twice, more than was ordered or is left, a cancel or
a change in the wrong status. Then every run goes on until VTEX is at rest, and the final VTEX order
must equal the one the same history gives when every webhook arrives once, in order, on time.

Two ways VARIO's follow-up documents reach a run (sync/outbound.py ``_follow_up_documents``):
``query`` — VARIO's queries show every document that exists (the usual case); ``named`` — its query
index lags and a run sees only the documents and shipments the webhooks delivered so far named.
With ``named`` a later delivery note can be invoiced before an earlier one, so which invoice carries
the freight may differ; the test then compares everything but how the order value is split between
the sale invoices (their sum still must match).

Every example checks ORDERINGS_PER_HISTORY orderings of its history: with HISTORIES examples that is
at least 1,000 orderings per run.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from mappings.services import DEFAULT_STATUS_MAPPINGS
from sync.clients.dtos import (
    ErpDocument,
    ErpLine,
    ErpLineRef,
    ErpParcel,
    ErpShipment,
    ErpTrackingEvent,
    VtexItem,
    VtexOrder,
    VtexPackage,
    VtexPackageItem,
)
from sync.outbound import ALREADY_HANDLED_CODES, MAX_ROUNDS
from sync.outcomes import Conflict, NotYet
from sync.plan import (
    BARRIERS,
    CANCELLED_IN_VTEX,
    MODIFIABLE,
    CancelOrder,
    OutboundFacts,
    PatchTracking,
    PostInvoice,
    PutTrackingEvents,
    RemoveItems,
    StartHandling,
    outbound_plan,
    removal_state,
    tracking_sent_after,
)
from sync.transforms import CarrierInfo, erp_fulfilment_state_from, invoice_number_from

HISTORIES = 400
ORDERINGS_PER_HISTORY = 4
assert HISTORIES * ORDERINGS_PER_HISTORY >= 1000

NOW = datetime(2026, 3, 20, 12, tzinfo=UTC)
ORDER_ID, VTEX_ORDER_ID = "1042", "1-01"
CARRIERS = {
    "DHL": CarrierInfo("DHL", "https://dhl.example/t?id={tracking_number}", integrated_with_vtex=False),
    "UPS": CarrierInfo("UPS", "https://ups.example/t/{tracking_number}", integrated_with_vtex=True),
}
SCANS = [("Leipzig", "SN", "Im Paketzentrum"), ("Berlin", "BE", "In Zustellung"), ("Leipzig", "SN", "Im Paketzentrum")]
SETTLE_RUNS = 12  # runs after the last webhook: VTEX's asynchronous steps and the runner's "not yet" retries


# --- the ERP side: a history of states, and the webhooks each step fires ------------------------------


@dataclass(frozen=True)
class Webhook:
    step: int  # the ERP state it was fired in (a run it causes reads that state or a later one)
    kind: str  # "document" (a delivery note or return), "shipment", "order", "dissolve"
    ref: str  # the id it names

    def __str__(self) -> str:
        return f"{self.kind}:{self.ref}@{self.step}"


@dataclass(frozen=True)
class ErpState:
    order: ErpDocument
    notes: tuple[ErpDocument, ...]
    shipments: dict  # note id → (ErpShipment, ...)
    returns: tuple[ErpDocument, ...]


@dataclass
class _Erp:
    """The ERP while a history is drawn: what VARIO allows next (docs/sandbox-vario.md, control rules)."""

    quantities: list[int]
    committed: list[int] = field(default_factory=list)
    returned: list[int] = field(default_factory=list)
    closed: bool = False
    cancelled: bool = False
    notes: list[tuple[str, dict[int, int]]] = field(default_factory=list)  # id, {line index: quantity}
    shipments: dict[str, tuple[str, str, str, list, bool]] = field(default_factory=dict)  # note id → parcel
    returns: list[tuple[str, dict[int, int]]] = field(default_factory=list)
    next_id: int = 5000

    def __post_init__(self) -> None:
        self.committed = [0] * len(self.quantities)
        self.returned = [0] * len(self.quantities)

    def new_id(self) -> str:
        self.next_id += 1
        return str(self.next_id)

    def open_lines(self) -> list[int]:
        if self.closed or self.cancelled:
            return []
        return [i for i, q in enumerate(self.quantities) if q - self.committed[i] > 0]

    def snapshot(self) -> ErpState:
        lines = tuple(
            ErpLine(
                id=str(9001 + i),
                position=i + 1,
                line_type="ARTICLE_LINE",
                article_number=f"SKU-{i}",
                name=f"Line {i + 1}",
                quantity=q,
                quantity_committed=self.committed[i],
                complete=self.closed,
                external_item_id=f"U{i}",
            )
            for i, q in enumerate(self.quantities)
        )
        if self.cancelled:
            state = "CANCELLED"
        elif self.closed:
            state = "CLOSED"
        else:
            state = (
                "DELIVERED" if all(c >= q for c, q in zip(self.committed, self.quantities, strict=True)) else "SAVED"
            )
        order = ErpDocument(
            id=ORDER_ID,
            number="AU-1",
            category="CUSTOMER_ORDER",
            state_key=state,
            lines=lines,
            external_identifier=VTEX_ORDER_ID,
        )
        notes = tuple(_follow_up(d, q, "CUSTOMER_DELIVERY_DOCUMENT", n) for n, (d, q) in enumerate(self.notes))
        returns = tuple(_follow_up(d, q, "CUSTOMER_GOODS_RETURN", n) for n, (d, q) in enumerate(self.returns))
        shipments = {}
        for note_id, (shipment_id, carrier, tracking, scans, delivered) in self.shipments.items():
            parcel = ErpParcel(
                id=f"P{shipment_id}",
                tracking_number=tracking,
                events=tuple(ErpTrackingEvent(f"2026-03-{10 + k:02d}", *scan) for k, scan in enumerate(scans)),
                delivered_at="2026-03-19T10:15:00+01:00" if delivered else "",
            )
            shipments[note_id] = (
                ErpShipment(id=shipment_id, document_id=note_id, carrier_key=carrier, parcels=(parcel,)),
            )
        return ErpState(order=order, notes=notes, shipments=shipments, returns=returns)


def _follow_up(document_id: str, quantities: dict[int, int], category: str, n: int) -> ErpDocument:
    prefix = "LS" if category == "CUSTOMER_DELIVERY_DOCUMENT" else "RE"
    date = f"2026-03-{n + 1:02d}"
    lines = tuple(
        ErpLine(
            id=f"{document_id}-{i}",
            position=k,
            line_type="ARTICLE_LINE",
            article_number=f"SKU-{i}",
            name="",
            quantity=q,
            order_line=ErpLineRef(document_id=ORDER_ID, line_id=str(9001 + i), position=i + 1),
        )
        for k, (i, q) in enumerate(sorted(quantities.items()), start=1)
    )
    return ErpDocument(
        id=document_id,
        number=f"{prefix} {document_id}",
        category=category,
        state_key="SAVED",
        lines=lines,
        document_date=date,
        shipping_date=date,
    )


@dataclass(frozen=True)
class History:
    prices: tuple[int, ...]
    quantities: tuple[int, ...]
    shipping: int
    states: tuple[ErpState, ...]  # states[0]: the order as imported; states[k]: after step k
    webhooks: tuple[Webhook, ...]
    steps: tuple[str, ...]  # what happened, for the failure report


@st.composite
def histories(draw) -> History:
    n_items = draw(st.integers(1, 3))
    quantities = [draw(st.integers(1, 3)) for _ in range(n_items)]
    prices = tuple(draw(st.integers(1, 9000)) for _ in range(n_items))
    erp = _Erp(quantities=list(quantities))
    states, webhooks, steps = [erp.snapshot()], [], []
    for _ in range(draw(st.integers(1, 7))):
        delivered = any(erp.committed)
        choices = []
        if erp.open_lines():
            choices += ["deliver", "deliver", "cancel-lines"]
            choices += ["close-rest", "close-rest"] if delivered else ["dissolve"]
        if erp.shipments:
            choices += ["scan"]
        if any(note_id not in erp.shipments for note_id, _ in erp.notes):
            choices += ["late-tracking"]
        if any(c - r > 0 for c, r in zip(erp.committed, erp.returned, strict=True)):
            choices += ["return"]
        if not choices:
            break
        step, kind = len(states), draw(st.sampled_from(choices))
        if kind == "deliver":
            quantities_now = {}
            for i in erp.open_lines():
                q = draw(st.integers(0, erp.quantities[i] - erp.committed[i]))
                if q:
                    quantities_now[i] = q
            if not quantities_now:
                i = erp.open_lines()[0]
                quantities_now[i] = erp.quantities[i] - erp.committed[i]
            note_id = erp.new_id()
            erp.notes.append((note_id, quantities_now))
            for i, q in quantities_now.items():
                erp.committed[i] += q
            webhooks.append(Webhook(step, "document", note_id))
            carrier = draw(st.sampled_from([None, "DHL", "UPS"]))
            if carrier:
                shipment_id = erp.new_id()
                erp.shipments[note_id] = (shipment_id, carrier, f"T{shipment_id}", [], False)
                webhooks.append(Webhook(step, "shipment", shipment_id))
            steps.append(f"deliver {quantities_now} as {note_id}" + (f" with {carrier}" if carrier else ""))
        elif kind == "late-tracking":
            note_id = draw(st.sampled_from([n for n, _ in erp.notes if n not in erp.shipments]))
            carrier, shipment_id = draw(st.sampled_from(["DHL", "UPS"])), erp.new_id()
            erp.shipments[note_id] = (shipment_id, carrier, f"T{shipment_id}", [], False)
            webhooks.append(Webhook(step, "shipment", shipment_id))
            steps.append(f"late tracking {carrier} on {note_id}")
        elif kind == "scan":
            note_id = draw(st.sampled_from(sorted(erp.shipments)))
            shipment_id, carrier, tracking, scans, delivered_flag = erp.shipments[note_id]
            if delivered_flag:
                continue  # a delivered parcel gets no more scans
            done = draw(st.booleans())
            erp.shipments[note_id] = (shipment_id, carrier, tracking, [*scans, SCANS[len(scans) % 3]], done)
            webhooks.append(Webhook(step, "shipment", shipment_id))
            steps.append(f"scan on {note_id}" + (" (delivered)" if done else ""))
        elif kind == "cancel-lines":
            i = draw(st.sampled_from(erp.open_lines()))
            cut = draw(st.integers(1, erp.quantities[i] - erp.committed[i]))
            erp.quantities[i] -= cut
            webhooks.append(Webhook(step, "order", ORDER_ID))
            steps.append(f"cancel {cut} of line {i}")
        elif kind == "close-rest":
            erp.closed = True
            webhooks.append(Webhook(step, "order", ORDER_ID))
            steps.append("close the rest")
        elif kind == "dissolve":
            erp.cancelled = True
            webhooks.append(Webhook(step, "dissolve", ORDER_ID))
            steps.append("dissolve")
        else:  # return
            returnable = {i: c - r for i, (c, r) in enumerate(zip(erp.committed, erp.returned, strict=True)) if c > r}
            quantities_now = {i: draw(st.integers(1, q)) for i, q in returnable.items() if draw(st.booleans())}
            quantities_now = quantities_now or {min(returnable): returnable[min(returnable)]}
            return_id = erp.new_id()
            erp.returns.append((return_id, quantities_now))
            for i, q in quantities_now.items():
                erp.returned[i] += q
            webhooks.append(Webhook(step, "document", return_id))
            steps.append(f"return {quantities_now} as {return_id}")
        states.append(erp.snapshot())
    return History(prices, tuple(quantities), draw(st.integers(0, 990)), tuple(states), tuple(webhooks), tuple(steps))


# --- the VTEX side: the order as VTEX keeps it, refusing what VTEX refuses ----------------------------


class Refused(AssertionError):
    """VTEX would answer 4xx: the plan asked for something it must never ask for."""


@dataclass
class VtexModel:
    prices: tuple[int, ...]
    quantities: list[int]
    shipping: int
    status: str = "ready-for-handling"
    packages: list[dict] = field(default_factory=list)
    notes: int = 0
    removed: Counter = field(default_factory=Counter)
    asynchronous: list[tuple] = field(default_factory=list)  # accepted, not applied yet (reference §3.2, §13)

    @property
    def value(self) -> int:
        return sum(p * q for p, q in zip(self.prices, self.quantities, strict=True)) + self.shipping

    def invoiced(self, type_: str) -> Counter:
        return sum((Counter(p["items"]) for p in self.packages if p["type"] == type_), Counter())

    def order(self) -> VtexOrder:
        return VtexOrder(
            order_id=VTEX_ORDER_ID,
            status=self.status,
            value=self.value,
            items=tuple(
                VtexItem(
                    index=i,
                    unique_id=f"U{i}",
                    sku_id=str(100 + i),
                    name="",
                    quantity=q,
                    price=p,
                    selling_price=p,
                    ref_id=f"SKU-{i}",
                )
                for i, (p, q) in enumerate(zip(self.prices, self.quantities, strict=True))
            ),
            packages=tuple(
                VtexPackage(
                    type=p["type"],
                    invoice_number=p["number"],
                    invoice_value=p["value"],
                    items=tuple(VtexPackageItem(i, q, self.prices[i]) for i, q in sorted(p["items"].items())),
                    courier=p["courier"],
                    tracking_number=p["tracking"],
                    tracking_url=p["url"],
                    delivered=p["delivered"],
                    tracking_events=len(p["events"]),
                    tracking_event_contents=tuple(p["events"]),
                )
                for p in self.packages
            ),
            totals={"Items": self.value - self.shipping, "Shipping": self.shipping},
        )

    def _package(self, number: str) -> dict:
        found = [p for p in self.packages if p["number"] == number]
        if not found:
            raise Refused(f"invoice {number} not found")
        return found[0]

    def _invoiced_check(self) -> None:
        outputs = sum(p["value"] for p in self.packages if p["type"] == "Output")
        if self.status == "invoice" and outputs >= self.value:
            self.status = "invoiced"

    def start_handling(self) -> str:
        if self.status != "ready-for-handling":
            return "OMS003"
        self.status = "start-handling"
        self.asynchronous.append(("handling",))
        return ""

    def invoice(self, body: dict) -> None:
        number, value, type_ = body["invoiceNumber"], int(body["invoiceValue"]), body["type"]
        if any(p["number"] == number for p in self.packages):
            raise Refused(f"invoice {number} twice")
        if value <= 0:
            raise Refused(f"invoice {number} of value {value}")
        items = Counter()
        for line in body["items"]:
            index = int(line["id"]) - 100
            if line["price"] != self.prices[index]:
                raise Refused(f"invoice {number}: price {line['price']} of item {index}")
            items[index] += line["quantity"]
        if type_ == "Output":
            if self.status not in ("handling", "invoice"):
                raise Refused(f"invoice {number} in status {self.status}")
            already = self.invoiced("Output")
            if any(already[i] + q > self.quantities[i] for i, q in items.items()):
                raise Refused(f"invoice {number} exceeds the ordered quantities")
            if value > self.value - sum(p["value"] for p in self.packages if p["type"] == "Output"):
                raise Refused(f"invoice {number}: value {value} exceeds what is left to invoice")
        else:
            if self.status != "invoiced":
                raise Refused(f"return invoice {number} in status {self.status}")
            sold, returned = self.invoiced("Output"), self.invoiced("Input")
            if any(returned[i] + q > sold[i] for i, q in items.items()):
                raise Refused(f"return invoice {number} exceeds the invoiced quantities")
            refundable = sum(p["value"] for p in self.packages if p["type"] == "Output") - sum(
                p["value"] for p in self.packages if p["type"] == "Input"
            )
            if value > refundable:
                raise Refused(f"return invoice {number} exceeds the amount not yet refunded")
        self.packages.append(
            {
                "type": type_,
                "number": number,
                "value": value,
                "items": dict(items),
                "courier": body["courier"],
                "tracking": body["trackingNumber"],
                "url": body["trackingUrl"],
                "dispatched": body["dispatchedDate"],
                "issued": body["issuanceDate"],
                "events": [],
                "delivered": False,
            }
        )
        if type_ == "Output":
            if self.status == "handling":
                self.status = "invoice"
            self._invoiced_check()

    def patch_tracking(self, action: PatchTracking) -> None:
        package = self._package(action.invoice_number)
        package.update(
            courier=action.courier,
            tracking=action.tracking_number,
            url=action.tracking_url,
            dispatched=action.dispatched_date,
        )

    def put_tracking(self, action: PutTrackingEvents) -> None:
        package = self._package(action.invoice_number)
        if not package["tracking"]:
            raise Refused(f"tracking events on invoice {action.invoice_number} without a tracking number")
        package["events"] += [(e["city"], e["state"], e["description"]) for e in action.status["events"]]
        package["delivered"] = package["delivered"] or action.status["isDelivered"]

    def cancel(self) -> None:
        if self.invoiced("Output") or self.status in ("invoiced", *CANCELLED_IN_VTEX):
            raise Refused(f"cancel in status {self.status} with invoices {self.packages}")
        self.asynchronous.append(("cancel",))

    def change(self, changes: dict) -> None:
        invoiced = self.invoiced("Output")
        if self.status not in MODIFIABLE:
            raise Refused(f"item removal in status {self.status}")
        removal = Counter()
        for line in changes["remove"]["items"]:
            index = int(line["uniqueId"][1:])
            removal[index] += line["quantity"]
        if any(self.quantities[i] - q < invoiced[i] for i, q in removal.items()):
            raise Refused(f"item removal {dict(removal)} takes away invoiced units")
        self.asynchronous.append(("remove", removal))

    def tick(self) -> None:
        """VTEX applies what it accepted (an order modification is checked again when applied)."""
        for step in self.asynchronous:
            if step[0] == "handling" and self.status == "start-handling":
                self.status = "handling"
            elif step[0] == "cancel":
                self.status = "canceled"
            elif step[0] == "remove":
                for i, q in step[1].items():
                    self.quantities[i] -= q
                    self.removed[i] += q
                    assert self.quantities[i] >= 0, "removed more units than the line has"
                self._invoiced_check()
        self.asynchronous = []

    def seen(self, *, split_values: bool = True) -> dict:
        """The VTEX order as a person (or the final comparison) sees it."""
        packages = [
            {k: v for k, v in p.items() if split_values or k != "value"}
            for p in sorted(self.packages, key=lambda p: (p["type"], p["number"]))
        ]
        values = {t: sum(p["value"] for p in self.packages if p["type"] == t) for t in ("Output", "Input")}
        return {
            "status": self.status,
            "quantities": list(self.quantities),
            "removed": dict(self.removed),
            "notes": self.notes,
            "packages": packages,
            "invoiced values": values,
            "not applied yet": list(self.asynchronous),
        }


# --- the portal: one run per webhook, as sync/outbound.py runs it ----------------------------------


@dataclass
class Portal:
    """What the OrderSync keeps between runs (erp_refs, erp_dissolved, vtex_pending)."""

    documents: set = field(default_factory=set)
    shipments: set = field(default_factory=set)
    dissolved: bool = False
    cancel_at: datetime | None = None
    removal: dict | None = None
    tracking: dict = field(default_factory=dict)
    conflicts: list = field(default_factory=list)

    def note(self, webhook: Webhook, state: ErpState) -> None:
        """The inbox stores the webhook's ids on the order's sync (sync.inbox._process_vario_event)."""
        if webhook.kind == "document":
            self.documents.add(webhook.ref)
        elif webhook.kind == "shipment":
            self.shipments.add(webhook.ref)
            self.documents.update(note for note, (s,) in state.shipments.items() if s.id == webhook.ref)
        elif webhook.kind == "dissolve":
            self.dissolved = True

    def pending_facts(self) -> dict:
        return {
            "cancel_sent_at": self.cancel_at,
            "removal_sent_at": self.removal["at"] if self.removal else None,
            "removal_targets": dict(self.removal["targets"]) if self.removal else {},
            "tracking_sent": self.tracking,
        }

    def facts(self, state: ErpState, vtex: VtexModel, *, visibility: str) -> OutboundFacts:
        notes, returns, shipments = state.notes, state.returns, state.shipments
        if visibility == "named":
            notes = tuple(n for n in notes if n.id in self.documents)
            returns = tuple(r for r in returns if r.id in self.documents)
            shipments = {n.id: tuple(s for s in state.shipments.get(n.id, ()) if s.id in self.shipments) for n in notes}
        return OutboundFacts(
            order=state.order,
            vtex_order=vtex.order(),
            delivery_notes=notes,
            shipments=shipments,
            returns=returns,
            erp_state=erp_fulfilment_state_from(
                state.order, cancelled_state_keys=["CANCELLED"], returns=returns, dissolved=self.dissolved
            ),
            carriers=CARRIERS,
            now=NOW,
            **self.pending_facts(),
        )

    def run(self, state: ErpState, vtex: VtexModel, *, visibility: str) -> str:
        """One run of order_status_work: "done", "wait" or "conflict"."""
        facts = self.facts(state, vtex, visibility=visibility)
        platform_status = DEFAULT_STATUS_MAPPINGS[facts.erp_state]
        for _ in range(MAX_ROUNDS):
            facts = replace(facts, vtex_order=vtex.order(), **self.pending_facts())
            if removal_state(facts) == "applied":  # sync.pending.pending_settle
                self.removal = None
            if self.cancel_at is not None and facts.vtex_order.status in CANCELLED_IN_VTEX:
                self.cancel_at = None
            facts = replace(facts, **self.pending_facts())
            plan = outbound_plan(facts, platform_status=platform_status)
            if not plan:
                return "done"
            for action in plan:
                if isinstance(action, NotYet):
                    return "wait"
                if isinstance(action, Conflict):
                    self.conflicts.append(action.message)
                    return "conflict"
                self.execute(action, vtex)
                if isinstance(action, BARRIERS):
                    break
        return "wait"

    def execute(self, action, vtex: VtexModel) -> None:
        """sync.outbound.vtex_action_send: asynchronous requests and tracking PUTs are written down first."""
        if isinstance(action, StartHandling):
            assert vtex.start_handling() in ("", *ALREADY_HANDLED_CODES)
        elif isinstance(action, RemoveItems):
            self.removal = {"at": NOW, "targets": dict(action.targets)}
            vtex.change(action.changes)
        elif isinstance(action, PostInvoice):
            vtex.invoice(action.invoice)
        elif isinstance(action, PatchTracking):
            vtex.patch_tracking(action)
        elif isinstance(action, PutTrackingEvents):
            self.tracking = tracking_sent_after({"tracking": self.tracking}, action)
            vtex.put_tracking(action)
        elif isinstance(action, CancelOrder):
            self.cancel_at = NOW
            vtex.cancel()
            vtex.notes += 1
        else:  # pragma: no cover
            raise TypeError(action)


@dataclass(frozen=True)
class Delivery:
    webhook: Webhook
    lag: int  # ERP steps that happened between the webhook's cause and its run
    vtex_first: bool  # VTEX applied its asynchronous steps before this run
    collapsed: bool  # the run waits for the next webhook (a burst collapses into one run)


def play(history: History, deliveries: list[Delivery], *, visibility: str) -> tuple[VtexModel, Portal]:
    vtex = VtexModel(prices=history.prices, quantities=list(history.quantities), shipping=history.shipping)
    portal, last = Portal(), len(history.states) - 1
    time = 0
    for position, delivery in enumerate(deliveries):
        time = min(last, max(time, delivery.webhook.step + delivery.lag))  # the ERP only moves forward
        portal.note(delivery.webhook, history.states[time])
        if delivery.vtex_first:
            vtex.tick()
        if delivery.collapsed and position < len(deliveries) - 1:
            continue
        portal.run(history.states[time], vtex, visibility=visibility)
    for _ in range(SETTLE_RUNS):  # every webhook is in: "not yet" retries until VTEX is at rest
        vtex.tick()
        if portal.run(history.states[last], vtex, visibility=visibility) != "wait" and not vtex.asynchronous:
            break
    return vtex, portal


def on_time(history: History) -> list[Delivery]:
    return [Delivery(w, lag=0, vtex_first=True, collapsed=False) for w in history.webhooks]


@st.composite
def orderings(draw, history: History) -> list[Delivery]:
    webhooks = list(history.webhooks)
    extra = draw(st.lists(st.sampled_from(webhooks), max_size=len(webhooks) + 2)) if webhooks else []
    shuffled = draw(st.permutations(webhooks + extra))
    steps = len(history.states)
    return [
        Delivery(w, lag=draw(st.integers(0, steps)), vtex_first=draw(st.booleans()), collapsed=draw(st.booleans()))
        for w in shuffled
    ]


def report(history: History, deliveries: list[Delivery]) -> str:
    played = [(str(d.webhook), d.lag, d.vtex_first, d.collapsed) for d in deliveries]
    return f"ERP steps {list(history.steps)}; deliveries (webhook, lag, VTEX first, collapsed) {played}"


@settings(max_examples=HISTORIES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), history=histories(), visibility=st.sampled_from(["query", "named"]))
def test_any_ordering_and_duplication_of_an_orders_webhooks_ends_in_the_same_vtex_state(data, history, visibility):
    expected_vtex, expected_portal = play(history, on_time(history), visibility=visibility)
    assert not expected_vtex.asynchronous, "VTEX never came to rest"
    event(f"VTEX ends {expected_vtex.status}")  # --hypothesis-show-statistics: what the histories covered
    for step in {s.split()[0] for s in history.steps}:
        event(f"ERP: {step}")
    split_values = visibility == "query"
    for _ in range(ORDERINGS_PER_HISTORY):
        deliveries = data.draw(orderings(history))
        vtex, portal = play(history, deliveries, visibility=visibility)
        seen, expected = vtex.seen(split_values=split_values), expected_vtex.seen(split_values=split_values)
        assert seen == expected, f"{report(history, deliveries)}\ngot      {seen}\nexpected {expected}"
        assert portal.conflicts == expected_portal.conflicts, report(history, deliveries)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(history=histories())
def test_on_time_webhooks_bring_vtex_to_what_the_erp_shows(history):
    """The reference the orderings are compared with is itself right: VTEX ends with what the ERP did."""
    vtex, portal = play(history, on_time(history), visibility="query")
    final = history.states[-1]
    assert portal.conflicts == []
    if final.order.state_key == "CANCELLED":
        assert (vtex.status, vtex.notes, vtex.packages) == ("canceled", 1, [])
        return
    assert vtex.notes == 0
    numbers = {invoice_number_from(d.number) for d in (*final.notes, *final.returns)}
    assert {p["number"] for p in vtex.packages} <= numbers
    shipped = Counter()
    for note in final.notes:
        for line in note.lines:
            shipped[line.order_line.position - 1] += int(line.quantity)
    assert vtex.invoiced("Output") == +shipped  # every delivered unit is invoiced, and nothing else
    for package in vtex.packages:
        note = next((n for n in final.notes if invoice_number_from(n.number) == package["number"]), None)
        (shipment,) = final.shipments.get(note.id, (None,)) if note else (None,)
        if shipment is not None:
            (parcel,) = shipment.parcels
            assert package["tracking"] == parcel.tracking_number
            if shipment.carrier_key == "DHL":  # not tracked by VTEX itself: the portal puts each scan once
                assert package["events"] == [(e.city, e.state, e.description) for e in parcel.events]
                assert package["delivered"] == bool(parcel.delivered_at)
