"""What every kind of bulk run has in common: its scope, its pages, and one item's result.

A kind is one class (``BulkKind``): it checks a scope, counts it (for the confirmation page), reads
it page by page from a checkpoint, and processes one item through the services the events use. The
step (``sync.bulk.services.bulk_run_step``) owns the rest: the lane, the checkpoint, the counts, the
state. Later kinds (stock, prices) plug in with one class each in ``sync.bulk.registry``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from django.db.models import Max
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from mappings.models import SalesChannel
from sync.bulk.models import BulkRun, BulkRunItem
from sync.models import OrderSync, TimelineEntry
from sync.runner import Work, order_sync_request, order_sync_run
from sync.timeline import timeline_add

MAX_IDS = 1000  # a scope's list of ids; more is a date range's job


class ScopeInvalid(ValueError):
    """The scope a person entered cannot be run: the message says what to change."""


@dataclass(frozen=True)
class Scope:
    """A run's scope, checked: a date range [since, until), states or statuses, or a list of ids."""

    since: datetime | None = None
    until: datetime | None = None
    erp_states: tuple[str, ...] = ()
    vtex_statuses: tuple[str, ...] = ()
    ids: tuple[str, ...] = ()
    # Send even what VTEX was last told (the catalog initial syncs: VTEX may show something else meanwhile).
    force: bool = False

    def as_json(self) -> dict:
        data: dict[str, Any] = {
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
            "erp_states": list(self.erp_states),
            "vtex_statuses": list(self.vtex_statuses),
            "ids": list(self.ids),
            "force": self.force,
        }
        return {key: value for key, value in data.items() if value}

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> Scope:
        """The scope stored on a run (written by ``as_json``)."""
        return cls(
            since=_moment(data.get("since"), "since"),
            until=_moment(data.get("until"), "until"),
            erp_states=tuple(data.get("erp_states") or ()),
            vtex_statuses=tuple(data.get("vtex_statuses") or ()),
            ids=tuple(data.get("ids") or ()),
            force=data.get("force") is True,
        )

    def describe(self) -> str:
        parts = []
        if self.ids:
            parts.append(f"{len(self.ids)} id(s)")
        if self.since or self.until:
            since = self.since.strftime("%Y-%m-%d %H:%M") if self.since else "the start"
            until = self.until.strftime("%Y-%m-%d %H:%M") if self.until else "now"
            parts.append(f"from {since} to {until}")
        if self.erp_states:
            parts.append("ERP states " + ", ".join(self.erp_states))
        if self.vtex_statuses:
            parts.append("VTEX statuses " + ", ".join(self.vtex_statuses))
        if self.force:
            parts.append("sending even what VTEX was last told")
        return "; ".join(parts) or "everything"


EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)  # no VTEX or VARIO order is older; far-off dates overflow
# What an id or a state may consist of: every remote query quotes it (VQL literals admit only these).
WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}")


def _moment(value: Any, name: str) -> datetime | None:
    """An ISO date or date-time (a date means its midnight, in the portal's time zone), 2000 or later
    and at most a day ahead."""
    if value in (None, ""):
        return None
    try:
        if isinstance(value, datetime):
            moment = value
        elif not isinstance(value, str):
            raise ValueError
        elif (moment := parse_datetime(value.strip())) is None:
            day = parse_date(value.strip())
            if day is None:
                raise ValueError
            moment = datetime(day.year, day.month, day.day)
        moment = moment if timezone.is_aware(moment) else timezone.make_aware(moment)
    except (ValueError, OverflowError):  # also a day that does not exist, such as 2026-02-30
        raise ScopeInvalid(f"{name}: expected a date such as 2026-11-01, got {str(value)[:40]!r}") from None
    if not EARLIEST <= moment <= timezone.now() + timedelta(days=1):
        raise ScopeInvalid(f"{name}: a date from 2000 to tomorrow, got {str(value)[:40]!r}")
    return moment


def _flag(value: Any, name: str) -> bool:
    """A yes/no of the form (``"True"``), the CLI or JSON (true)."""
    if value in (None, "", False, "False", "false", "0", 0):
        return False
    if value in (True, "True", "true", "1", "on", 1):
        return True
    raise ScopeInvalid(f"{name}: yes or no, got {str(value)[:40]!r}")


def _words(values: Any, name: str) -> tuple[str, ...]:
    if isinstance(values, str):
        values = values.replace(",", " ").split()
    words = tuple(dict.fromkeys(str(v).strip() for v in values or () if str(v).strip()))
    if bad := [word for word in words if not WORD.fullmatch(word)]:
        raise ScopeInvalid(
            f"{name}: letters, digits and _ . : - only, at most 100 characters each; not {bad[0][:40]!r}"
        )
    return words


@dataclass(frozen=True)
class Item:
    key: str
    label: str = ""
    data: Any = None  # what the page read already (a VTEX order summary, an order link)
    # Where to resume after this item, for kinds that read by key (keyset paging): a resumed run asks
    # for what comes after it, whatever changed meanwhile. None: the position in its page.
    after: dict | None = None


@dataclass(frozen=True)
class Page:
    items: tuple[Item, ...]
    after: dict  # the checkpoint to read the next page from
    note: str = ""  # what a person should know about this page (a range VTEX could not list in full)


@dataclass(frozen=True)
class ItemResult:
    outcome: str  # BulkRunItem.Outcome
    detail: str = ""
    calls: tuple[dict, ...] = ()
    differences: tuple[dict, ...] = ()
    order_sync_id: int | None = None
    order_link_id: int | None = None
    repaired: bool = False  # a reconciliation asked the normal sync to repair it

    @property
    def kept(self) -> bool:
        """Worth a row of its own: what changed, failed or was deferred, and every planned call or
        difference. Unchanged and skipped items (an order already linked) are counted, not kept."""
        kept = (BulkRunItem.Outcome.CHANGED, BulkRunItem.Outcome.FAILED, BulkRunItem.Outcome.DEFERRED)
        return self.outcome in kept or bool(self.calls or self.differences)


# How a dry run's verdict (the outcome type the real run would end with, sync.outcomes) counts.
_DRY_VERDICTS = {
    "Skipped": BulkRunItem.Outcome.SKIPPED,
    "Parked": BulkRunItem.Outcome.FAILED,
    "Conflict": BulkRunItem.Outcome.FAILED,
    "Failed": BulkRunItem.Outcome.FAILED,
    "NotYet": BulkRunItem.Outcome.DEFERRED,
}


def dry_run_result(dry: Any) -> ItemResult:
    """A dry run of one order (``sync.dry_run.DryRun``) as an item: what the real run would end with (a
    park, conflict or failure is a failure, with its reason), else "changed" when it would send anything."""
    calls = tuple({"remote": c.remote, "method": c.method, "path": c.path, "body": c.body} for c in dry.calls)
    default = BulkRunItem.Outcome.CHANGED if calls else BulkRunItem.Outcome.UNCHANGED
    return ItemResult(_DRY_VERDICTS.get(dry.verdict, default), dry.outcome, calls=calls)


@dataclass(frozen=True)
class Preview:
    """What the confirmation page says before a run starts."""

    count: int | None
    note: str = ""


class BulkKind:
    """One kind of bulk run. Subclasses set ``kind`` and implement the four methods."""

    kind: ClassVar[str]
    # The scope fields this kind reads, in the form's order.
    scope_fields: ClassVar[tuple[str, ...]] = ("since", "until", "ids")
    needs_range: ClassVar[bool] = False

    def scope_clean(self, data: Mapping[str, Any]) -> Scope:
        """The scope a person or the CLI entered, checked for this kind."""
        unknown = set(data) - set(self.scope_fields)
        if unknown_set := {key for key in unknown if data.get(key)}:
            raise ScopeInvalid(f"this kind does not read {', '.join(sorted(unknown_set))}")
        scope = Scope(
            since=_moment(data.get("since"), "since"),
            until=_moment(data.get("until"), "until"),
            erp_states=_words(data.get("erp_states"), "ERP states"),
            vtex_statuses=_words(data.get("vtex_statuses"), "VTEX statuses"),
            ids=_words(data.get("ids"), "ids"),
            force=_flag(data.get("force"), "force"),
        )
        if scope.since and scope.until and scope.since >= scope.until:
            raise ScopeInvalid("since must come before until")
        if len(scope.ids) > MAX_IDS:
            raise ScopeInvalid(f"at most {MAX_IDS} ids per run; use a date range for more")
        if self.needs_range and not scope.ids and not scope.since:
            raise ScopeInvalid("give a date range (since) or a list of ids")
        if scope.until is None and scope.since is not None:
            scope = Scope(**{**scope.__dict__, "until": timezone.now()})  # a range ends when it was asked for
        return scope

    def preview(self, *, channel: SalesChannel, scope: Scope) -> Preview:
        raise NotImplementedError

    def pages(self, run: BulkRun, *, start: Mapping[str, Any]) -> Iterator[Page]:
        raise NotImplementedError

    def process(self, run: BulkRun, item: Item, context: StepContext) -> ItemResult:
        raise NotImplementedError


@dataclass
class StepContext:
    """What one step builds once for all its items: the remote clients, in the run's lane, and what a kind
    read or did for a whole page at once (the catalog kinds: one ERP read and one push per page)."""

    clients: dict[str, Any] = field(default_factory=dict)
    cache: dict[str, Any] = field(default_factory=dict)

    def close(self) -> None:
        for client in self.clients.values():
            client.close()


# --- one order through the normal runner, in the bulk lane ------------------------------------------------


_OUTCOMES = {
    OrderSync.Status.SKIPPED: BulkRunItem.Outcome.SKIPPED,
    OrderSync.Status.PARKED: BulkRunItem.Outcome.FAILED,
    OrderSync.Status.CONFLICT: BulkRunItem.Outcome.FAILED,
    OrderSync.Status.FAILED: BulkRunItem.Outcome.FAILED,
    OrderSync.Status.WAITING: BulkRunItem.Outcome.DEFERRED,
    OrderSync.Status.PENDING: BulkRunItem.Outcome.DEFERRED,
    OrderSync.Status.RUNNING: BulkRunItem.Outcome.DEFERRED,
}


def order_run_inline(
    *, kind: str, channel: SalesChannel, key: str, work: Work, note: str = "", **ids: str
) -> ItemResult:
    """Run one order's normal sync now, in this process (the caller's lane), and say what it did.

    1. Request it as an event would (a new generation; not enqueued: it runs here).
    2. Run it through ``order_sync_run`` with the recipe's ``work``: the same lock, plan and outcome.
       A run another worker holds ends at once; that worker runs it again for this generation. A
       remote's "wait" or refused credentials are raised after the order is handled as always: the
       step waits (or the run fails) as a whole instead of racing through every order.
    3. Read the outcome: done with pushes is "changed", done without is "unchanged"; waiting is
       deferred to the normal retries; parked, conflict and failed are failures with their reason.
    """
    sync = order_sync_request(kind=kind, channel=channel, key=key, enqueue=False, **ids)  # 1.
    if note:  # why it runs, on the order's timeline before the run's own entries
        timeline_add(order_sync=sync, kind=TimelineEntry.Kind.OPERATOR, title=note)
    mark = TimelineEntry.objects.filter(order_sync=sync).aggregate(last=Max("id"))["last"] or 0
    order_sync_run(order_sync_id=sync.pk, work=work, raise_waits=True)  # 2.
    sync.refresh_from_db(fields=["status", "message", "order_link"])  # 3.
    if sync.status == OrderSync.Status.DONE:
        pushed = list(
            TimelineEntry.objects.filter(order_sync=sync, id__gt=mark, kind=TimelineEntry.Kind.ACTION).values_list(
                "title", flat=True
            )
        )
        outcome = BulkRunItem.Outcome.CHANGED if pushed else BulkRunItem.Outcome.UNCHANGED
        return ItemResult(outcome, "; ".join(pushed), order_sync_id=sync.pk, order_link_id=sync.order_link_id)
    return ItemResult(_OUTCOMES[sync.status], sync.message, order_sync_id=sync.pk, order_link_id=sync.order_link_id)


def day_range(days: int) -> tuple[datetime, datetime]:
    """[now - days, now): the scheduled reconciliation's range."""
    now = timezone.now()
    return now - timedelta(days=days), now
