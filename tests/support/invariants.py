"""The fault matrix's final check (issue #13 item 4): every accepted event is applied or visibly failed,
and VTEX and VARIO show nothing twice.

``assert_nothing_lost_nothing_doubled(sim)`` reads the sandbox (VTEX orders with their invoices, tracking,
changes and notes; VARIO's orders and its webhook log; the request log of writes) and the portal's
database (InboxEvent, OrderSync), after the test waited for the work to settle. It knows nothing of the
scenario, so any end-to-end fault test can end with it.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict

from sandbox.harness import Sim
from sync.models import InboxEvent, OrderSync

# VTEX writes the portal may make once per order; a second accepted one is a double.
ONCE_PER_ORDER = {
    "start-handling": re.compile(r"^/api/oms/pvt/orders/(?P<order>[^/]+)/start-handling$"),
    "cancel": re.compile(r"^/api/oms/pvt/orders/(?P<order>[^/]+)/cancel$"),
}


def _problems_in_the_portal() -> list[str]:
    problems = []
    for event in InboxEvent.objects.exclude(status__in=(InboxEvent.Status.PROCESSED, InboxEvent.Status.IGNORED)):
        if event.status == InboxEvent.Status.PENDING:
            problems.append(f"inbox event {event.pk} ({event.event} {event.entity_id}) is still pending")
        elif not event.last_error:
            problems.append(f"inbox event {event.pk} failed without saying why")
    for sync in OrderSync.objects.all():
        if sync.status in OrderSync.OPEN:
            problems.append(f"order sync {sync.pk} ({sync.key}) is still {sync.status}")
        elif sync.status in (OrderSync.Status.DONE, OrderSync.Status.SKIPPED):
            if sync.done_generation != sync.generation:
                problems.append(f"order sync {sync.pk} ({sync.key}) ended before request {sync.generation} ran")
        elif not sync.message:
            problems.append(f"order sync {sync.pk} ({sync.key}) is {sync.status} without saying why")
    return problems


def _accepted_vario_webhooks_stored(sim: Sim) -> list[str]:
    """Each webhook the portal answered 2xx (the sandbox's VARIO delivered it) has its stored row."""
    delivered = Counter(
        entry["event"]
        for entry in sim.get("vario/webhook-log")
        if 200 <= ((entry.get("response") or {}).get("status") or 0) < 300
    )
    stored = Counter(InboxEvent.objects.filter(source=InboxEvent.Source.VARIO_WEBHOOK).values_list("event", flat=True))
    return [
        f"VARIO had {count} {event} webhook(s) accepted, the portal stored {stored[event]}"
        for event, count in delivered.items()
        if stored[event] < count
    ]


def _doubles_in_vtex_order(state: dict) -> list[str]:
    order, order_id = state["order"], state["order"]["orderId"]
    problems = []
    ordered = {index: item["quantity"] for index, item in enumerate(order["items"])}
    numbers = Counter(invoice["invoiceNumber"] for invoice in state["invoices"])
    problems += [f"{order_id}: invoice {n} is there {c} times" for n, c in numbers.items() if c > 1]
    invoiced: dict[str, Counter] = defaultdict(Counter)
    for invoice in state["invoices"]:
        for item in invoice["items"]:
            invoiced[invoice["type"]][item["itemIndex"]] += item["quantity"]
        events = [json.dumps(e, sort_keys=True) for e in ((invoice.get("courierStatus") or {}).get("data") or [])]
        problems += [
            f"{order_id}: invoice {invoice['invoiceNumber']} shows tracking event {e} {c} times"
            for e, c in Counter(events).items()
            if c > 1
        ]
    removed: Counter = Counter()
    for change in state["changes"]:
        for item in (change.get("remove") or {}).get("items") or []:
            removed[item["id"]] += item["quantity"]
    for index, quantity in ordered.items():
        if invoiced["Output"][index] > quantity:
            problems.append(f"{order_id}: item {index} invoiced {invoiced['Output'][index]} times, ordered {quantity}")
        if invoiced["Input"][index] > invoiced["Output"][index]:
            problems.append(f"{order_id}: item {index} returned more often than invoiced")
    # VTEX's items show what is left after the removals: what was ordered is that plus what was removed.
    left = Counter()
    for item in order["items"]:
        left[item["id"]] += item["quantity"]
    problems += [
        f"{order_id}: SKU {sku} removed {count} times, ordered {left[sku] + count}"
        for sku, count in removed.items()
        if left[sku] < 0
    ]
    notes = Counter(note.get("description") for note in state["notes"])
    problems += [f"{order_id}: timeline note {d!r} is there {c} times" for d, c in notes.items() if c > 1]
    return problems


INVOICE_POST = re.compile(r"^/api/oms/pvt/orders/(?P<order>[^/]+)/invoice$")


def _doubled_writes(sim: Sim, invoices: dict[str, int]) -> list[str]:
    """Writes VTEX accepted more often than their result shows (``invoices``: invoices per order)."""
    counts: Counter = Counter()
    posted: Counter = Counter()
    for entry in sim.get("requests", remote="vtex", method="POST"):
        if not 200 <= entry["status"] < 300:
            continue
        if match := INVOICE_POST.match(entry["path"]):
            posted[match["order"]] += 1
        for name, pattern in ONCE_PER_ORDER.items():
            if match := pattern.match(entry["path"]):
                counts[(name, match["order"])] += 1
    problems = [f"{order}: {name} accepted {count} times" for (name, order), count in counts.items() if count > 1]
    return problems + [
        f"{order}: {count} invoice notifications accepted for {invoices.get(order, 0)} invoice(s)"
        for order, count in posted.items()
        if count > invoices.get(order, 0)
    ]


def _doubles_in_vario(sim: Sim) -> list[str]:
    external = Counter(order["externalIdentifier"] for order in sim.get("vario/orders") if order["externalIdentifier"])
    return [f"VARIO has {c} orders for VTEX order {e}" for e, c in external.items() if c > 1]


def assert_nothing_lost_nothing_doubled(sim: Sim) -> None:
    """Every accepted event applied or visibly failed; no invoice, item, tracking event, removal, cancel,
    note, start-handling or ERP order twice."""
    problems = _problems_in_the_portal() + _accepted_vario_webhooks_stored(sim)
    invoices = {}
    for summary in sim.get("vtex/orders"):
        state = sim.vtex_order(summary["orderId"])
        invoices[summary["orderId"]] = len(state["invoices"])
        problems += _doubles_in_vtex_order(state)
    problems += _doubled_writes(sim, invoices) + _doubles_in_vario(sim)
    assert not problems, "nothing lost, nothing doubled:\n" + "\n".join(problems)
