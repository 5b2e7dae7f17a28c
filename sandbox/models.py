"""State shared by both simulators: settings, request log, faults, rate limits, outbound deliveries."""

from __future__ import annotations

from django.db import models


class Remote(models.TextChoices):
    VTEX = "vtex", "VTEX"
    VARIO = "vario", "VARIO ERP"
    CONTROL = "control", "Control API"
    ANY = "any", "Any simulator"


class SimSetting(models.Model):
    """Small key/value switches of the simulators (clock offset, payload variants, feed faults)."""

    key = models.CharField(max_length=100, unique=True)
    value = models.JSONField(null=True)

    def __str__(self) -> str:
        return self.key


class RequestLogEntry(models.Model):
    remote = models.CharField(max_length=10, choices=Remote.choices)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)
    query = models.TextField(blank=True)
    request_headers = models.JSONField(default=dict)
    request_body = models.TextField(blank=True)
    status = models.PositiveSmallIntegerField()
    response_headers = models.JSONField(default=dict)
    response_body = models.TextField(blank=True)
    duration_ms = models.FloatField()
    fault = models.CharField(max_length=50, blank=True, help_text="fault or limit that produced the answer")
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.method} {self.path} → {self.status}"


class FaultKind(models.TextChoices):
    STATUS = "status", "Answer with a status code (429 with Retry-After, 5xx, ...)"
    LATENCY = "latency", "Answer normally after a delay"
    TIMEOUT = "timeout", "Hold the request long enough for the client to time out"
    HANG = "hang", "Accept the request and never answer: held until released, then the connection is dropped"


class FaultRule(models.Model):
    remote = models.CharField(max_length=10, choices=Remote.choices, default=Remote.ANY)
    method = models.CharField(max_length=10, blank=True, help_text="empty: any method")
    path_pattern = models.CharField(max_length=300, default="", help_text="regular expression searched in the path")
    kind = models.CharField(max_length=10, choices=FaultKind.choices)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    retry_after = models.PositiveIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(default=0)
    body = models.JSONField(null=True, blank=True)
    remaining = models.PositiveIntegerField(null=True, blank=True, help_text="null: until removed")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.kind} on {self.remote} {self.method} {self.path_pattern}"


class RateLimitRule(models.Model):
    remote = models.CharField(max_length=10, choices=Remote.choices)
    method = models.CharField(max_length=10, blank=True)
    path_pattern = models.CharField(max_length=300, default="")
    limit = models.PositiveIntegerField()
    window_seconds = models.FloatField()
    name = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.limit}/{self.window_seconds}s on {self.remote} {self.path_pattern}"


class DeliveryState(models.TextChoices):
    # VARIO's AppMessageEntry recipient states (reference/vario-erp.md §1.9).
    QUEUED = "QUEUED", "Queued"
    SENT = "SENT", "Sent"
    FAILED = "FAILED", "Failed, will retry"
    ERRONEOUS = "ERRONEOUS", "Given up"


class Delivery(models.Model):
    """One HTTP call a simulator makes to the outside world: VTEX hook, VARIO webhook, callback."""

    kind = models.CharField(max_length=50, db_index=True)
    event = models.CharField(max_length=200, blank=True)
    url = models.CharField(max_length=500)
    headers = models.JSONField(default=dict)
    body = models.JSONField()
    state = models.CharField(max_length=10, choices=DeliveryState.choices, default=DeliveryState.QUEUED)
    attempts = models.PositiveIntegerField(default=0)
    retry_delays = models.JSONField(default=list, help_text="seconds before attempt 2, 3, ...")
    expect_status = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="the only status that counts as delivered (VTEX hooks: 200); empty: any 2xx"
    )
    next_attempt_at = models.DateTimeField(db_index=True)
    last_status = models.PositiveSmallIntegerField(null=True)
    last_response = models.TextField(blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True)

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "deliveries"

    def __str__(self) -> str:
        return f"{self.kind} {self.event} → {self.url} ({self.state})"
