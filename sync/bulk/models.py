"""A bulk run: one durable row with its scope, checkpoint and counts, and a row per item worth showing."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from mappings.models import SalesChannel


class BulkRun(models.Model):
    """One run of one kind over one channel's scope (docs/operations.md, "Bulk runs")."""

    class Kind(models.TextChoices):
        ORDER_STATUS_INITIAL = "order_status_initial", "Order status initial sync (ERP → VTEX)"
        ORDER_BACKFILL = "order_backfill", "Order backfill (VTEX → ERP)"
        RECONCILIATION = "reconciliation", "Reconciliation (ERP ⇄ VTEX)"
        STOCK_INITIAL = "stock_initial", "Stock initial sync (ERP → VTEX)"
        PRICE_INITIAL = "price_initial", "Price initial sync (ERP → VTEX)"
        CATALOG_RECONCILIATION = "catalog_reconciliation", "Stock and price reconciliation (ERP ⇄ VTEX)"

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        PAUSED = "paused", "Paused"
        CANCELLED = "cancelled", "Cancelled"
        FINISHED = "finished", "Finished"
        FAILED = "failed", "Failed"

    ACTIVE = (State.QUEUED, State.RUNNING, State.PAUSED)

    channel = models.ForeignKey(SalesChannel, on_delete=models.CASCADE, related_name="bulk_runs")
    kind = models.CharField(max_length=30, choices=Kind.choices)
    scope = models.JSONField(
        default=dict,
        blank=True,
        help_text="what the run covers: since/until (ISO dates), ERP states, VTEX statuses or a list of ids",
    )
    dry_run = models.BooleanField(default=False, help_text="read both sides, record what would be sent, send nothing")
    started_by = models.CharField(max_length=150, blank=True, help_text="user name, 'cli:<user>' or 'schedule'")
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    total = models.PositiveIntegerField(null=True, blank=True, help_text="items in the scope, when known")
    done = models.PositiveIntegerField(default=0)
    changed = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    deferred = models.PositiveIntegerField(default=0, help_text="handed to the normal retries (the remote said wait)")
    checkpoint = models.JSONField(default=dict, blank=True, help_text="where the run resumes")
    message = models.TextField(blank=True, help_text="why it failed, or what a person should know (a cut-off range)")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True, help_text="last progress; the sweep resumes a stale run")

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # Two runs of one kind on one channel would do the same work twice over, in one lane.
            models.UniqueConstraint(
                fields=["channel", "kind"],
                condition=Q(state__in=["queued", "running", "paused"]),
                name="bulkrun_one_active_per_kind",
            ),
        ]
        indexes = [models.Index(fields=["state", "heartbeat_at"], name="bulkrun_state_idx")]
        permissions = [("start_bulkrun", "Can start, pause, resume and cancel bulk runs")]

    def __str__(self) -> str:
        dry = " (dry run)" if self.dry_run else ""
        return f"{self.get_kind_display()} on {self.channel.code}{dry} #{self.pk}"

    @property
    def is_active(self) -> bool:
        return self.state in self.ACTIVE

    @property
    def progress(self) -> float | None:
        """Share done, 0..1, when the total is known."""
        if not self.total:
            return 1.0 if self.state == self.State.FINISHED else None
        return min(self.done / self.total, 1.0)


class BulkRunItem(models.Model):
    """What happened to one item of a run, kept for what changed, failed, was deferred, and for every dry
    run's planned calls and every reconciliation's differences. Unchanged items are counted, not kept."""

    class Outcome(models.TextChoices):
        CHANGED = "changed", "Changed"
        UNCHANGED = "unchanged", "Unchanged"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped"
        DEFERRED = "deferred", "Deferred to the normal retries"

    run = models.ForeignKey(BulkRun, on_delete=models.CASCADE, related_name="items")
    key = models.CharField(max_length=100, help_text="ERP order id, VTEX order id or order link id")
    label = models.CharField(max_length=200, blank=True, help_text="what a person recognises: order numbers")
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    detail = models.TextField(blank=True)
    calls = models.JSONField(default=list, blank=True, help_text="dry run: the write calls a real run would send")
    differences = models.JSONField(default=list, blank=True, help_text="reconciliation: each difference by kind")
    difference_kinds = models.CharField(
        max_length=300, blank=True, help_text="the differences' kinds, space-separated and padded: ' status items '"
    )
    order_sync = models.ForeignKey("sync.OrderSync", null=True, blank=True, on_delete=models.SET_NULL)
    order_link = models.ForeignKey("mappings.OrderLink", null=True, blank=True, on_delete=models.SET_NULL)
    repaired_at = models.DateTimeField(null=True, blank=True, help_text="reconciliation: when a repair was requested")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["run", "key"], name="bulkrunitem_once_per_run")]

    def __str__(self) -> str:
        return f"{self.label or self.key}: {self.get_outcome_display()}"
