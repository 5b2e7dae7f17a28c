"""A dry run of one order: the write calls the real run would send, computed from the real state of both
remotes, and nothing sent, nothing stored (issue #15, item 3).

It is the real run, not a copy of it (design §2.8): the same recipe (``sync.outbound.order_status_work``,
``sync.inbound.order_import_work``), plan, senders and payload builders run, with three differences:

- every write any client would send is held back by the HTTP layer (``sync.clients.http.writes_held``):
  recorded as a ``PlannedCall`` (method, path, JSON body, secrets masked) and answered as the remote would
  answer it (``remote_answer``). Reads are sent: GETs, VARIO's VQL queries, the OAuth token grant;
- the VTEX client (``DryVtexClient``) reads an order it held writes for back as VTEX would show it after
  them (``sync.plan.vtex_order_after``), so the run plans its next round as it would after the real write;
- the run works on an unsaved copy of the order's row (pk None): what it writes down (requests in flight,
  an ERP create) stays on the copy, its timeline entries too (``sync.timeline.timeline_kept``), and the
  recipes record no order link and request no further work for it. No lock is taken: nothing is written.

A run that ends "not yet" because VTEX has not caught up with the run's own writes (a return invoice
after the sale invoice it just sent) is run once more on the state those writes leave, as the real
portal's next try would; ``MAX_PASSES`` bounds it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from copy import deepcopy
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from redis.exceptions import RedisError

from mappings.models import SalesChannel
from sync.clients.dtos import RemoteCall, VtexOrder, VtexReceipt
from sync.clients.errors import AuthError, RemoteError, RetryableError
from sync.clients.http import PlannedCall, writes_held
from sync.clients.vtex import VtexClient
from sync.inbound import order_import_work
from sync.models import OrderSync
from sync.outbound import order_status_work
from sync.outcomes import Conflict, Done, Failed, NotYet, Outcome, Parked, Skipped
from sync.plan import (
    Action,
    CancelOrder,
    PatchTracking,
    PostInvoice,
    PutTrackingEvents,
    RemoveItems,
    StartHandling,
    vtex_order_after,
)
from sync.remotes import NotConfigured, vtex_client_for
from sync.timeline import timeline_kept
from sync.transforms import UnmatchedLineError

__all__ = [
    "DryRun",
    "PlannedCall",
    "order_import_dry_run",
    "order_status_dry_run",
    "order_sync_dry_run",
    "order_sync_unsaved_copy",
]

logger = logging.getLogger(__name__)

# Runs of one dry run at most: the first, and the tries after a "not yet" its own writes caused.
MAX_PASSES = 3
# What a dry run's predicted ERP order is called until VARIO gives it an id and number.
NEW_ERP_ORDER = "(new ERP order)"
NEW_ERP_NUMBER = "(number VARIO assigns)"

Work = Callable[..., Outcome]


@dataclass(frozen=True)
class DryRun:
    """What the real run of one order would do now: its write calls in order, and how it would end."""

    kind: str  # OrderSync.Kind: "status" (ERP → VTEX) or "import" (VTEX → ERP)
    channel: str  # the sales channel's code
    key: str  # the ERP order id (status) or the VTEX order id (import)
    calls: tuple[PlannedCall, ...]
    outcome: str  # the readable end: "Up to date: …", "would park: …", "would wait: …"
    verdict: str = "Done"  # the outcome's type (sync.outcomes): Done, Skipped, Parked, Conflict, NotYet, Failed
    notes: tuple[str, ...] = ()  # what the real run would note on the order's timeline
    reads: int = 0  # calls sent to read the remotes' state (GETs, VQL queries, token grants)

    @property
    def summary(self) -> str:
        return f"{len(self.calls)} call(s); {self.outcome}"


# --- the services -------------------------------------------------------------------------------------------


def order_status_dry_run(*, channel: SalesChannel, erp_order_id: str, raise_waits: bool = False) -> DryRun:
    """ERP → VTEX for the ERP order ``erp_order_id``: the calls ``order_status_sync`` would send to VTEX now.

    ``raise_waits``: a remote saying "wait" (``RetryableError``) or refusing the credentials
    (``AuthError``) is raised instead of reported, for a bulk run that waits or fails as a whole."""
    return _dry_run(
        kind=OrderSync.Kind.STATUS, channel=channel, key=erp_order_id, work=order_status_work, raise_waits=raise_waits
    )


def order_import_dry_run(*, channel: SalesChannel, vtex_order_id: str, raise_waits: bool = False) -> DryRun:
    """VTEX → ERP for the VTEX order ``vtex_order_id``: the calls ``order_import`` would send to VARIO and VTEX now
    (``raise_waits``: as ``order_status_dry_run``)."""
    return _dry_run(
        kind=OrderSync.Kind.IMPORT, channel=channel, key=vtex_order_id, work=order_import_work, raise_waits=raise_waits
    )


def order_sync_dry_run(*, order_sync: OrderSync) -> DryRun:
    """The dry run of an order sync's order, in its direction (the admin's "Dry run")."""
    if order_sync.kind == OrderSync.Kind.IMPORT:
        return order_import_dry_run(channel=order_sync.channel, vtex_order_id=order_sync.key)
    return order_status_dry_run(channel=order_sync.channel, erp_order_id=order_sync.key)


def _dry_run(*, kind: str, channel: SalesChannel, key: str, work: Work, raise_waits: bool = False) -> DryRun:
    """One order's dry run.

    1. Copy the order's row as the real run would find it (or a new one, as a first request makes it),
       unsaved.
    2. Run the work with the writes held and the dry VTEX client; a "not yet" that the pass's own held
       writes caused is run again on the state they leave, at most MAX_PASSES runs in all.
    3. Report the held calls, the outcome of the last run and the timeline entries the runs kept.
    """
    sync = order_sync_unsaved_copy(kind=kind, channel=channel, key=key)  # 1.
    calls: list[PlannedCall] = []
    reads: list[RemoteCall] = []
    vtex = DryVtexClient(build=lambda: vtex_client_for(channel, recorder=reads.append))

    def tap(call: PlannedCall) -> tuple[int, Any]:
        calls.append(call)
        return remote_answer(call)

    with writes_held(tap):  # 2.
        for _ in range(MAX_PASSES):
            held_before = len(calls)
            outcome, raised = _outcome_of(work, sync, recorder=reads.append, vtex=vtex, raise_waits=raise_waits)
            if raised or not (isinstance(outcome, NotYet) and len(calls) > held_before):
                break
    return DryRun(  # 3.
        kind=kind,
        channel=channel.code,
        key=key,
        calls=tuple(calls),
        outcome=outcome_text(outcome),
        verdict=type(outcome).__name__,
        notes=tuple(entry.title for entry in timeline_kept(sync)),
        reads=len(reads),
    )


def order_sync_unsaved_copy(*, kind: str, channel: SalesChannel, key: str) -> OrderSync:
    """The order's row as a run would load it, never to be saved: pk None, so that what the run writes
    down through ``OrderSync.objects.filter(pk=…)`` reaches no row and ``timeline_add`` keeps its entries."""
    stored = OrderSync.objects.select_related("channel").filter(kind=kind, channel=channel, key=key).first()
    if stored is None:
        return OrderSync(kind=kind, channel=channel, key=key)
    copy = OrderSync(
        **{field.attname: deepcopy(getattr(stored, field.attname)) for field in OrderSync._meta.concrete_fields}
    )
    copy.pk = None
    copy.channel = channel
    return copy


def _outcome_of(
    work: Work, sync: OrderSync, *, recorder, vtex: DryVtexClient, raise_waits: bool = False
) -> tuple[Outcome, bool]:
    """The work's outcome, and whether it raised: the errors ``sync.runner.order_sync_run`` turns into
    outcomes become the same ones here (a dry run's page shows them; it never raises unless asked to
    for "wait" and refused credentials)."""
    try:
        return work(sync, recorder, None, vtex=vtex), False  # no lock: a dry run writes nothing
    except (RetryableError, AuthError) as exc:
        if raise_waits:
            raise
        return _outcome_raised(exc), True
    except RedisError as exc:
        return Failed(f"Redis unavailable: {exc}"), True
    except (RemoteError, UnmatchedLineError, NotConfigured) as exc:
        return Failed(str(exc)), True
    except Exception as exc:  # a bug: shown on the page, as the runner shows it on the order
        logger.exception("dry run of %s %s crashed", sync.kind, sync.key)
        return Failed(f"Unexpected error: {type(exc).__name__}: {exc}"), True


def _outcome_raised(exc: RemoteError) -> Outcome:
    if isinstance(exc, RetryableError):
        return NotYet(f"a temporary error, the real run tries again later: {exc}")
    return Failed(str(exc))


def outcome_text(outcome: Outcome) -> str:
    """How the real run would end, in the words of the dry run's page."""
    match outcome:
        case Done(summary):
            return summary
        case Skipped(reason):
            return f"would skip: {reason}"
        case Parked(_, message):
            return f"would park: {message}"
        case Conflict(message):
            return f"would stop at a conflict: {message}"
        case NotYet(message):
            return f"would wait: {message}"
    return f"would fail: {outcome.message}"


# --- the remotes' answers to held writes --------------------------------------------------------------------


def remote_answer(call: PlannedCall) -> tuple[int, Any]:
    """The answer (status, JSON) the remote gives to ``call`` when it accepts it, for the clients to read
    as they read the real one. A prediction: what the remote really answers (VARIO's new order's id and
    number, VTEX's receipt) is unknown until the call is sent."""
    body = call.body if isinstance(call.body, Mapping) else {}
    path = call.path.split("?", 1)[0]
    if call.remote == "vario":
        if call.method == "POST" and path.endswith("/erp/documents"):
            return 200, {"document": erp_document_created(body)}  # reference/vario-erp.md §4.6
        return 200, None  # a transition (PUT …/states) has no documented answer: the client reads the document
    if path.endswith("/start-handling"):
        return 204, None  # reference/vtex.md §3.1
    if path == "/api/do/notes":
        return 200, {**body, "id": "", "creationDate": _now()}  # §6
    if path == "/api/order-integration/orders/status":  # §7: only enqueued, the result comes later
        return 200, {
            "marketplaceOrderId": body.get("marketplaceOrderId"),
            "code": "SOI003",
            "flow": "ApproveOrder",
            "success": True,
            "message": "Order successfully enqueued",
        }
    if path.endswith("/changes"):  # §13: accepted, applied later
        return 202, {"requestId": "", "reason": body.get("reason"), "remove": body.get("remove")}
    # Cancel (§3.2), invoice (§4), tracking PATCH and PUT (§5): a receipt.
    order_id = path.removeprefix("/api/oms/pvt/orders/").split("/", 1)[0]
    return 200, {"date": _now(), "orderId": order_id, "receipt": None}


def erp_document_created(request: Mapping[str, Any]) -> dict:
    """The customer order VARIO answers a create with (reference/vario-erp.md §4.6: the order as sent, in
    state SAVED), its id, number and line ids standing in for the ones VARIO assigns."""
    document = dict(request.get("document") or {})
    lines = [
        {**line, "id": f"{NEW_ERP_ORDER} line {position}", "position": position}
        for position, line in enumerate(document.get("lines") or [], start=1)
    ]
    return {
        **document,
        "id": NEW_ERP_ORDER,
        "number": NEW_ERP_NUMBER,
        "documentTypeCategory": "CUSTOMER_ORDER",
        "documentState": {"key": "SAVED"},
        "lines": lines,
    }


def _now() -> str:
    return datetime.now(UTC).isoformat()


# --- the VTEX client of a dry run ---------------------------------------------------------------------------


class DryVtexClient(VtexClient):
    """The channel's VTEX client, built when first used (as the real run builds it: a channel without
    credentials fails where the real run fails), whose writes the HTTP layer holds back. An order it held
    writes for is read back as VTEX would show it after them (``sync.plan.vtex_order_after``)."""

    def __init__(self, *, build: Callable[[], VtexClient]) -> None:  # not VtexClient's: built when first used
        self._build = build
        self._client: VtexClient | None = None
        self._read: dict[str, VtexOrder] = {}  # order id → the order as VTEX last showed it
        self._after: dict[str, VtexOrder] = {}  # order id → the order after the writes held for it

    def _real(self) -> VtexClient:
        if self._client is None:
            self._client = self._build()
        return self._client

    @property
    def http(self):
        return self._real().http

    @property
    def account_name(self) -> str:
        return self._real().account_name

    def get_order(self, order_id: str) -> VtexOrder:
        if order_id in self._after:
            return self._after[order_id]
        self._read[order_id] = super().get_order(order_id)
        return self._read[order_id]

    def _applied(self, order_id: str, action: Action) -> None:
        before = self._after.get(order_id) or self._read.get(order_id) or self.get_order(order_id)
        self._after[order_id] = vtex_order_after(before, action)

    # Each write: sent through the HTTP layer, which holds it; then the order as VTEX would show it.

    def start_handling(self, order_id: str) -> None:
        super().start_handling(order_id)
        self._applied(order_id, StartHandling())

    def cancel_order(self, order_id: str, *, reason: str, requested_by_user: bool = False) -> VtexReceipt:
        receipt = super().cancel_order(order_id, reason=reason, requested_by_user=requested_by_user)
        self._applied(order_id, CancelOrder(reason=reason, note=""))
        return receipt

    def notify_invoice(self, order_id: str, invoice: Mapping[str, Any]) -> VtexReceipt:
        receipt = super().notify_invoice(order_id, invoice)
        self._applied(order_id, PostInvoice(invoice=dict(invoice), source_document=""))
        return receipt

    def update_invoice_tracking(
        self,
        order_id: str,
        invoice_number: str,
        *,
        tracking_number: str,
        tracking_url: str | None,
        courier: str | None,
        dispatched_date: str | None,
    ) -> VtexReceipt:
        receipt = super().update_invoice_tracking(
            order_id,
            invoice_number,
            tracking_number=tracking_number,
            tracking_url=tracking_url,
            courier=courier,
            dispatched_date=dispatched_date,
        )
        self._applied(
            order_id,
            PatchTracking(invoice_number, tracking_number, tracking_url or "", courier or "", dispatched_date),
        )
        return receipt

    def update_tracking_status(self, order_id: str, invoice_number: str, status: Mapping[str, Any]) -> VtexReceipt:
        receipt = super().update_tracking_status(order_id, invoice_number, status)
        self._applied(order_id, PutTrackingEvents(invoice_number, dict(status)))
        return receipt

    def create_order_changes(self, order_id: str, changes: Mapping[str, Any]) -> Mapping[str, Any]:
        answer = super().create_order_changes(order_id, changes)
        self._applied(order_id, RemoveItems(dict(changes)))
        return answer
