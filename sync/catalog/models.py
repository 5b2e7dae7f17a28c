"""The catalog flow's state: a coalescing work item per (channel, topic, VARIO article) and a per-SKU timeline."""

from __future__ import annotations

from django.db import models

from mappings.models import SalesChannel


class CatalogWork(models.Model):
    """The pending work for one article of one channel in one topic (reference/catalog-sync.md §3.5 steps 1-2).

    Events for the article collapse into it: a burst bumps ``generation`` and ``last_event_at`` and pushes
    ``eligible_at`` (the debounce) later; a batch takes it once it is eligible, and an event that arrives while
    the batch works on it makes it run once more from a fresh ERP read (the generation grew). ``attempts``
    counts consecutive temporary failures; ``eligible_at`` is then the next try.
    """

    class Topic(models.TextChoices):
        STOCK = "stock", "Stock"
        PRICE = "price", "Price"
        # The article's listing changed: match it with VTEX again (its RefId or EAN may have), then stock and price.
        MATCH = "match", "SKU matching"

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        SKIPPED = "skipped", "Skipped"
        PARKED = "parked", "Parked (SKU not mapped)"
        FAILED = "failed", "Failed"

    OPEN = (State.QUEUED, State.RUNNING)

    channel = models.ForeignKey(SalesChannel, on_delete=models.CASCADE, related_name="catalog_work")
    topic = models.CharField(max_length=10, choices=Topic.choices)
    vario_article_id = models.CharField("VARIO article id", max_length=20)
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    generation = models.PositiveIntegerField(default=0, help_text="bumped by every event for this article and topic")
    done_generation = models.PositiveIntegerField(default=0, help_text="the generation the last run finished")
    queued_at = models.DateTimeField(null=True, blank=True, help_text="when it was queued after resting")
    last_event_at = models.DateTimeField(null=True, blank=True)
    eligible_at = models.DateTimeField(null=True, blank=True, help_text="not taken before (debounce, next try)")
    attempts = models.PositiveIntegerField(default=0, help_text="consecutive temporary failures")
    run_token = models.CharField(max_length=40, blank=True, help_text="the batch working on it (its lock's name)")
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(
        max_length=30, blank=True, help_text="why it failed, was parked or skipped, e.g. INVALID_PRICE"
    )
    message = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "catalog work item"
        ordering = ["-updated_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "topic", "vario_article_id"], name="catalogwork_one_per_article_topic"
            ),
        ]
        indexes = [
            # A batch: a channel's eligible items of one topic, oldest first; the sweep: open items by state.
            models.Index(fields=["channel", "topic", "state", "eligible_at"], name="catalogwork_batch_idx"),
            models.Index(fields=["state", "eligible_at"], name="catalogwork_state_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.channel.code}: {self.topic} of article {self.vario_article_id} ({self.state})"


class CatalogTimelineEntry(models.Model):
    """One line of an article's (a SKU's) timeline: an event, an attempt, a remote call, a push, a problem."""

    class Kind(models.TextChoices):
        EVENT = "event", "Event"
        ATTEMPT = "attempt", "Attempt"
        CALL = "call", "Remote call"
        ACTION = "action", "Pushed"
        OPERATOR = "operator", "Operator"
        PROBLEM = "problem", "Problem"

    channel = models.ForeignKey(SalesChannel, on_delete=models.CASCADE, related_name="catalog_timeline")
    vario_article_id = models.CharField("VARIO article id", max_length=20)
    vtex_sku_id = models.PositiveIntegerField("VTEX SKU id", null=True, blank=True)
    topic = models.CharField(max_length=10, blank=True, choices=CatalogWork.Topic.choices)
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
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name_plural = "catalog timeline entries"
        indexes = [
            models.Index(fields=["channel", "vario_article_id", "created_at"], name="catalogtimeline_article_idx"),
            models.Index(fields=["created_at"], name="catalogtimeline_created_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.title}"
