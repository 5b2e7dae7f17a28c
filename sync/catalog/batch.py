"""What a batch of catalog work is and how each of its items can end: the vocabulary the push
(``sync.catalog.push``) and matching (``sync.catalog.skus``) share. Data only."""

from __future__ import annotations

from dataclasses import dataclass, field

from mappings.models import SalesChannel
from sync.catalog.models import CatalogWork
from sync.catalog.timeline import CatalogTimeline

State = CatalogWork.State

RETRY = "retry"  # an item's end that queues it again (not a stored state)

UNKNOWN_WAREHOUSE = "UNKNOWN_WAREHOUSE"
VTEX_REJECTED = "VTEX_REJECTED"
VTEX_UNAVAILABLE = "VTEX_UNAVAILABLE"
ERP_UNAVAILABLE = "ERP_UNAVAILABLE"
ERP_ERROR = "ERP_ERROR"
NOT_CONFIGURED = "NOT_CONFIGURED"
TOGGLE_OFF = "TOGGLE_OFF"
CHANNEL_INACTIVE = "CHANNEL_INACTIVE"
INVENTORY_LOCKED = "INVENTORY_LOCKED"
VTEX_FORBIDDEN = "VTEX_FORBIDDEN"
ROUTE_WAIT = "ROUTE_WAIT"
UNEXPECTED = "UNEXPECTED_ERROR"


@dataclass(frozen=True)
class ItemEnd:
    """How one item's run ended: a stored state, or ``RETRY`` (queued again after ``delay`` seconds; a try is
    counted unless ``counts_try`` is off: an item the batch never got to, behind a route's wait)."""

    state: str
    reason: str = ""
    message: str = ""
    delay: float | None = None
    counts_try: bool = True
    exact_delay: bool = False  # a 423's "again after 3 s" (§3.5 step 5), not the back-off's

    @property
    def summary(self) -> str:
        return f"{self.reason}: {self.message}" if self.reason else self.message


DONE_UNCHANGED = ItemEnd(State.DONE, message="VTEX already shows the ERP's figures: nothing sent.")


@dataclass
class BatchReport:
    """What one batch did, by item end (the job's log line and the tests)."""

    taken: int = 0
    ends: dict[str, int] = field(default_factory=dict)
    sent: int = 0  # writes VTEX accepted

    def count(self, end: ItemEnd) -> None:
        self.ends[end.state] = self.ends.get(end.state, 0) + 1


@dataclass
class Batch:
    """One claimed batch: its items (the run generation each started with), its channel and topic, its timeline."""

    channel: SalesChannel
    topic: str
    token: str
    items: list[CatalogWork]
    generations: dict[int, int]
    timeline: CatalogTimeline
    ends: dict[int, ItemEnd] = field(default_factory=dict)
    sent: int = 0
    # A direct batch (``sync.catalog.push.catalog_skus_push``: a bulk run's page, no queued work behind it):
    # ``force`` sends what VTEX was last told too (a reconciliation saw VTEX show something else), ``dry_run``
    # records nothing as sent (its writes are held by ``writes_held``), ``label`` names it on the timeline.
    force: bool = False
    dry_run: bool = False
    label: str = ""

    def end(self, item: CatalogWork, end: ItemEnd) -> None:
        self.ends[item.pk] = end

    def open_items(self) -> list[CatalogWork]:
        return [item for item in self.items if item.pk not in self.ends]
