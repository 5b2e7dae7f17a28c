"""The sync machinery's state: the durable inbox, per-order work, and the order timeline."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from mappings.models import OrderLink, SalesChannel


class InboxEvent(models.Model):
    """Every trigger, stored before anything else happens (design §2.1)."""

    class Source(models.TextChoices):
        VARIO_WEBHOOK = "vario_webhook", "VARIO webhook"
        VTEX_FEED = "vtex_feed", "VTEX feed"
        VTEX_HOOK = "vtex_hook", "VTEX hook"
        MARKETPLACE = "marketplace", "Channel Order API notification"
        OPERATOR = "operator", "Operator"
        SYNC = "sync", "Initial sync / reconciliation"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        PROCESSED = "processed", "Processed"
        IGNORED = "ignored", "Ignored"
        FAILED = "failed", "Failed"

    source = models.CharField(max_length=20, choices=Source.choices)
    event = models.CharField(max_length=200, help_text="event name, e.g. document.customer_order.dissolve")
    entity_id = models.CharField(max_length=100, blank=True, help_text="id of the document, shipment or order")
    payload = models.JSONField(default=dict)
    channel = models.ForeignKey(SalesChannel, null=True, blank=True, on_delete=models.SET_NULL)
    dedup_key = models.CharField(
        max_length=200, null=True, blank=True, unique=True, help_text="set where the source has event ids"
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    order_sync = models.ForeignKey("OrderSync", null=True, blank=True, on_delete=models.SET_NULL, related_name="events")

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [models.Index(fields=["status", "received_at"], name="inbox_status_received_idx")]

    def __str__(self) -> str:
        return f"{self.get_source_display()} {self.event} {self.entity_id}"


class OrderSync(models.Model):
    """The work for one order in one direction. Events for the order collapse into it (design §2.3)."""

    class Kind(models.TextChoices):
        STATUS = "status", "Order status (ERP → VTEX)"
        IMPORT = "import", "Order import (VTEX → ERP)"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        WAITING = "waiting", "Waiting to retry"
        DONE = "done", "Done"
        SKIPPED = "skipped", "Skipped"
        PARKED = "parked", "Needs mapping"
        FAILED = "failed", "Failed"
        CONFLICT = "conflict", "Conflict (needs a person)"

    OPEN = (Status.PENDING, Status.RUNNING, Status.WAITING)

    kind = models.CharField(max_length=10, choices=Kind.choices)
    channel = models.ForeignKey(SalesChannel, on_delete=models.CASCADE, related_name="order_syncs")
    key = models.CharField(max_length=100, help_text="ERP order id (status) or VTEX order id (import)")
    erp_order_id = models.CharField(max_length=50, blank=True)
    erp_order_number = models.CharField(max_length=100, blank=True)
    vtex_order_id = models.CharField(max_length=100, blank=True)
    order_link = models.ForeignKey(OrderLink, null=True, blank=True, on_delete=models.SET_NULL, related_name="syncs")

    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    generation = models.PositiveIntegerField(default=0, help_text="bumped by every request for this order")
    done_generation = models.PositiveIntegerField(default=0, help_text="the generation the last run finished")
    requested_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    retries = models.PositiveIntegerField(default=0, help_text="consecutive retryable failures")
    waits = models.PositiveIntegerField(default=0, help_text="consecutive runs that found VTEX not ready yet")
    erp_dissolved = models.BooleanField(default=False, help_text="a dissolve event was seen for the ERP order")
    marketplace_status_sent = models.CharField(max_length=100, blank=True)
    vtex_pending = models.JSONField(
        default=dict,
        blank=True,
        help_text="what was sent to VTEX that its order may not show back yet or at all (a cancel or item "
        "removal in flight, the last tracking events per invoice), so that a re-run does not send it again",
    )
    erp_refs = models.JSONField(
        default=dict,
        blank=True,
        help_text="ids of the ERP documents and shipments VARIO's events named for this order: every run "
        "reads them next to what VARIO's queries find (a query index may lag behind an event, and shipments "
        "have no confirmed query)",
    )
    erp_create_sent_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="an ERP order create whose answer never came (timeout, 5xx): the import looks for the order "
        "instead of creating it again, until it shows or a person retries",
    )
    message = models.TextField(blank=True, help_text="why it is parked, failed, waiting or in conflict")
    needs_mapping = models.CharField(max_length=200, blank=True, help_text="e.g. carrier:HERMES or status:returned")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "channel", "key"], name="ordersync_unique_per_order"),
        ]
        indexes = [
            models.Index(fields=["status", "updated_at"], name="ordersync_status_idx"),
            models.Index(
                fields=["channel", "needs_mapping"], name="ordersync_needs_mapping_idx", condition=~Q(needs_mapping="")
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.vtex_order_id or '?'} ⇄ {self.erp_order_number or self.key}"


class TimelineEntry(models.Model):
    """One line of an order's timeline: an event, an attempt, a remote call, an operator action."""

    class Kind(models.TextChoices):
        EVENT = "event", "Event"
        ATTEMPT = "attempt", "Attempt"
        CALL = "call", "Remote call"
        ACTION = "action", "Pushed"
        OPERATOR = "operator", "Operator"
        PROBLEM = "problem", "Problem"

    order_sync = models.ForeignKey(OrderSync, null=True, blank=True, on_delete=models.CASCADE, related_name="timeline")
    channel = models.ForeignKey(SalesChannel, null=True, blank=True, on_delete=models.CASCADE)
    vtex_order_id = models.CharField(max_length=100, blank=True, db_index=True)
    erp_order_id = models.CharField(max_length=50, blank=True, db_index=True)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    title = models.CharField(max_length=300)
    detail = models.TextField(blank=True)
    remote = models.CharField(max_length=10, blank=True)
    method = models.CharField(max_length=10, blank=True)
    path = models.CharField(max_length=500, blank=True)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    duration_ms = models.FloatField(null=True, blank=True)
    request_excerpt = models.TextField(blank=True)
    response_excerpt = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name_plural = "timeline entries"

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.title}"


class FeedPollState(models.Model):
    """The last successful feed poll per channel, so a stalled poller can be seen (and alerted on)."""

    channel = models.OneToOneField(SalesChannel, on_delete=models.CASCADE, related_name="feed_poll_state")
    last_success_at = models.DateTimeField(null=True, blank=True, help_text="last retrieve + commit that worked")
    last_batch_size = models.PositiveIntegerField(default=0)
    events_stored = models.PositiveBigIntegerField(default=0, help_text="new inbox events from the feed, all time")
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    poller = models.CharField(max_length=200, blank=True, help_text="host:pid of the poller that polled last")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "feed poll state"

    def __str__(self) -> str:
        when = f"{self.last_success_at:%Y-%m-%d %H:%M:%S} UTC" if self.last_success_at else "never"
        return f"{self.channel.code}: last poll {when}"
