"""Requests VTEX applies later: written down first, settled when VTEX shows them.

VTEX answers a cancel and an order modification before it applies them (reference/vtex.md §3.2,
§13), and appends whatever a tracking PUT carries without always showing it back (§8.3). What was
sent is written down on the order's ``OrderSync.vtex_pending`` at once, before anything else can
fail, so that a re-run waits for it instead of sending it again (the plan reads it through
``pending_facts``); it is forgotten once VTEX shows it (``pending_settle``). Not shown after
VTEX_CHANGE_CONFIRM_SECONDS, it is a conflict for a person (``sync.plan``); their retry forgets it
(``pending_forget_unapplied``, from ``runner.order_sync_retry``), and what is still missing is sent
again.

``vtex_pending`` holds ``cancel_at`` (when the cancel was sent), ``removal`` (when, and the quantity
each line must end at) and ``tracking`` (per invoice, the events' contents and whether delivery was
reported); this module is the only one that knows those keys.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from sync.clients.errors import RemoteError, RetryableError
from sync.models import OrderSync
from sync.plan import CANCELLED_IN_VTEX, OutboundFacts, PutTrackingEvents, removal_state, tracking_sent_after

CANCEL, REMOVAL, TRACKING = "cancel_at", "removal", "tracking"
# Requests that VTEX may never apply: after the conflict they raise, a person's retry may send them again.
# Tracking PUTs are kept: VTEX appended them, and sending them again would show every event twice.
UNAPPLIED = (CANCEL, REMOVAL)


def pending_facts(*, order_sync: OrderSync) -> dict:
    """The requests in flight as the plan's facts (``OutboundFacts`` fields)."""
    pending = order_sync.vtex_pending or {}
    removal = pending.get(REMOVAL) or {}
    return {
        "cancel_sent_at": parse_datetime(pending[CANCEL]) if pending.get(CANCEL) else None,
        "removal_sent_at": parse_datetime(removal["at"]) if removal.get("at") else None,
        "removal_targets": dict(removal.get("targets") or {}),
        "tracking_sent": dict(pending.get(TRACKING) or {}),
    }


def pending_settle(*, facts: OutboundFacts, order_sync: OrderSync) -> OutboundFacts:
    """Forget what VTEX now shows: an applied removal, a cancel once the order is cancelling."""
    if removal_state(facts) == "applied":
        _save(order_sync, **{REMOVAL: None})
        facts = replace(facts, removal_sent_at=None, removal_targets={})
    if facts.cancel_sent_at is not None and facts.vtex_order.status in CANCELLED_IN_VTEX:
        _save(order_sync, **{CANCEL: None})
        facts = replace(facts, cancel_sent_at=None)
    return facts


def pending_cancel(*, order_sync: OrderSync):
    """``with pending_cancel(order_sync=…): <send the cancel>``: written down first."""
    return _written_down_first(order_sync, **{CANCEL: timezone.now().isoformat()})


def pending_removal(*, order_sync: OrderSync, targets: Mapping[str, int]):
    """``with pending_removal(order_sync=…, targets=…): <send the item removal>``: written down first,
    with the quantity each line must end at (how ``plan.removal_state`` tells it is applied)."""
    return _written_down_first(order_sync, **{REMOVAL: {"at": timezone.now().isoformat(), "targets": dict(targets)}})


def pending_tracking(*, order_sync: OrderSync, action: PutTrackingEvents):
    """``with pending_tracking(order_sync=…, action=…): <send the PUT>``: its events written down first."""
    return _written_down_first(order_sync, **{TRACKING: tracking_sent_after(order_sync.vtex_pending, action)})


def pending_forget_unapplied(*, vtex_pending: Mapping | None) -> dict:
    """``vtex_pending`` without the requests VTEX never applied (a person checked VTEX and retries)."""
    return {key: value for key, value in (vtex_pending or {}).items() if key not in UNAPPLIED}


def _save(order_sync: OrderSync, **changes) -> None:
    pending = {**(order_sync.vtex_pending or {}), **changes}
    order_sync.vtex_pending = {key: value for key, value in pending.items() if value is not None}
    if order_sync.pk is not None:  # a dry run's unsaved copy (sync.dry_run) keeps it in memory only
        OrderSync.objects.filter(pk=order_sync.pk).update(vtex_pending=order_sync.vtex_pending)


@contextmanager
def _written_down_first(order_sync: OrderSync, **pending) -> Iterator[None]:
    """Record a request as sent before sending it. An answer that never came (read timeout, 5xx) may
    hide a request VTEX accepted, and a second item removal would take away units the ERP still ships,
    a second tracking PUT would show every event twice: the next run takes it as sent. The record goes
    back to what it was when VTEX certainly did not act on it (a 4xx, a 429, nothing sent)."""
    before = {key: (order_sync.vtex_pending or {}).get(key) for key in pending}
    _save(order_sync, **pending)
    try:
        yield
    except RemoteError as exc:
        if not isinstance(exc, RetryableError) or not exc.may_have_applied:
            _save(order_sync, **before)
        raise
