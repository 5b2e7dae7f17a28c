"""Fault injection and rate limiting, applied to every simulator request before its view runs."""

from __future__ import annotations

import re
import threading
import time
from collections import deque
from dataclasses import dataclass

from django.db import transaction
from django.db.models import F

from sandbox.models import FaultKind, FaultRule, RateLimitRule, Remote


@dataclass(frozen=True)
class Verdict:
    """What the request meets before its view: nothing, a delay, or a ready answer."""

    delay_seconds: float = 0.0
    status: int | None = None
    retry_after: int | None = None
    body: object = None
    reason: str = ""


def _matches(rule, remote: str, method: str, path: str) -> bool:
    if rule.remote not in (Remote.ANY, remote):
        return False
    if rule.method and rule.method.upper() != method.upper():
        return False
    return not rule.path_pattern or re.search(rule.path_pattern, path) is not None


def fault_for(*, remote: str, method: str, path: str) -> Verdict | None:
    """The first matching fault rule, consumed once if it is counted."""
    for rule in FaultRule.objects.all():
        if not _matches(rule, remote, method, path):
            continue
        if rule.remaining is not None:
            with transaction.atomic(using="sandbox"):
                taken = FaultRule.objects.filter(pk=rule.pk, remaining__gt=0).update(remaining=F("remaining") - 1)
                FaultRule.objects.filter(pk=rule.pk, remaining=0).delete()
            if not taken:
                continue
        if rule.kind == FaultKind.STATUS:
            return Verdict(
                status=rule.status_code or 500,
                retry_after=rule.retry_after,
                body=rule.body,
                reason=f"fault:{rule.status_code or 500}",
            )
        if rule.kind == FaultKind.LATENCY:
            return Verdict(delay_seconds=rule.latency_ms / 1000, reason="fault:latency")
        return Verdict(delay_seconds=max(rule.latency_ms / 1000, 30.0), reason="fault:timeout")
    return None


class _Windows:
    """Sliding windows of request times per (rule, caller), in this process (one sandbox process)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._hits: dict[tuple, deque] = {}

    def take(self, key: tuple, limit: int, window: float) -> float:
        """Record a hit and return 0, or the seconds until a slot frees up when over the limit."""
        now = time.monotonic()
        with self._lock:
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - window:
                hits.popleft()
            if len(hits) >= limit:
                return hits[0] + window - now
            hits.append(now)
            return 0.0

    def clear(self) -> None:
        with self._lock:
            self._hits.clear()


windows = _Windows()


def rate_limit_for(*, remote: str, method: str, path: str, caller: str) -> Verdict | None:
    for rule in RateLimitRule.objects.all():
        if not _matches(rule, remote, method, path):
            continue
        wait = windows.take((rule.pk, caller), rule.limit, rule.window_seconds)
        if wait > 0:
            return Verdict(
                status=429, retry_after=max(1, int(wait + 0.999)), reason=f"rate-limit:{rule.name or rule.pk}"
            )
    return None
