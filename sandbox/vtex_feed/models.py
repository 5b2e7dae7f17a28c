"""Feed v3 and hook state: one feed and one hook per appKey (= per sandbox ``Account``).

The feed is a queue in the SQS sense: items become invisible for the visibility timeout when they
are read, each read gives a new receipt (the ``handle``), and items die after the retention period
whether committed or not.
"""

from __future__ import annotations

from django.db import models


class FilterType(models.TextChoices):
    FROM_WORKFLOW = "FromWorkflow", "FromWorkflow (status changes, optional status list)"
    FROM_ORDERS = "FromOrders", "FromOrders (JSONata expression, not evaluated by the sandbox)"


class FilterFields(models.Model):
    """The filter both configurations share (reference/vtex.md §1.2 and §1.8)."""

    filter_type = models.CharField(max_length=20, choices=FilterType.choices)
    statuses = models.JSONField(null=True, blank=True, help_text="FromWorkflow: null means every status change")
    expression = models.TextField(blank=True)
    disable_single_fire = models.BooleanField(null=True, blank=True, help_text="FromOrders only; null: not given")
    configured_at = models.DateTimeField(help_text="last create or update of the configuration")

    class Meta:
        abstract = True


class FeedConfig(FilterFields):
    account = models.OneToOneField("sandbox_vtex.Account", on_delete=models.CASCADE, related_name="feed_config")
    visibility_timeout_seconds = models.PositiveIntegerField()
    retention_seconds = models.PositiveIntegerField()
    last_event_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"feed of {self.account.app_key}"


class FeedItem(models.Model):
    """One stored message of a feed. A duplicated event is two rows with the same ``event_id``."""

    feed = models.ForeignKey(FeedConfig, on_delete=models.CASCADE, related_name="items")
    event_id = models.CharField(max_length=32, db_index=True)
    order_id = models.CharField(max_length=100)
    domain = models.CharField(max_length=20, default="Fulfillment")
    state = models.CharField(max_length=60)
    last_state = models.CharField(max_length=60, blank=True)
    last_change = models.CharField(max_length=40)
    current_change = models.CharField(max_length=40)
    enqueued_at = models.DateTimeField(db_index=True)
    visible_at = models.DateTimeField(db_index=True)
    handle = models.TextField(blank=True, db_index=True, help_text="receipt of the latest delivery; empty: never read")
    receive_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["enqueued_at", "id"]

    def __str__(self) -> str:
        return f"{self.order_id} {self.last_state} → {self.state}"


class HookConfig(FilterFields):
    account = models.OneToOneField("sandbox_vtex.Account", on_delete=models.CASCADE, related_name="hook_config")
    url = models.CharField(max_length=500)
    headers = models.JSONField(default=dict)
    last_notification_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"hook of {self.account.app_key} → {self.url}"


class SingleFireMark(models.Model):
    """A FromOrders configuration without disableSingleFire lets each order in once; this remembers who came in."""

    account = models.ForeignKey("sandbox_vtex.Account", on_delete=models.CASCADE, related_name="+")
    channel = models.CharField(max_length=10, choices=[("feed", "feed"), ("hook", "hook")])
    order_id = models.CharField(max_length=100)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "channel", "order_id"], name="single_fire_once_per_order")
        ]

    def __str__(self) -> str:
        return f"{self.channel} {self.order_id}"
