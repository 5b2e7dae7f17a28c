"""Fault injection and rate limiting, applied to every simulator request before its view runs."""

from __future__ import annotations

import re
import threading
import time
from collections import deque
from dataclasses import dataclass

from django.db import transaction
from django.db.models import F
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from sandbox.models import FaultKind, FaultRule, RateLimitRule, Remote
from sandbox.routers import SANDBOX_DB


@dataclass(frozen=True)
class Verdict:
    """What the request meets before its view: nothing, a delay, or a ready answer."""

    delay_seconds: float = 0.0
    status: int | None = None
    retry_after: int | None = None
    body: object = None
    reason: str = ""
    hang_seconds: float = 0.0  # accept and never answer: hold this long at most, then drop the connection


def _matches(rule, remote: str, method: str, path: str) -> bool:
    if rule.remote not in (Remote.ANY, remote):
        return False
    if rule.method and rule.method.upper() != method.upper():
        return False
    return not rule.path_pattern or re.search(rule.path_pattern, path) is not None


class _Rules:
    """The fault and rate-limit rules as last read, per model.

    Every simulator request needs both lists, and reading them cost two queries per request. They
    change only in this process (the control API, a reset, the seeds), so the models' save and delete
    signals clear the copy: at once, and again when the change is committed. A counted fault's
    ``remaining`` is decremented in the database, never in the copy: the copy only says it is counted.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: dict[type, list] = {}
        self._generation = 0

    def of(self, model) -> list:
        with self._lock:
            found, generation = self._rules.get(model), self._generation
        if found is None:
            found = list(model.objects.all())
            with self._lock:
                if generation == self._generation:  # no change while this read ran
                    self._rules[model] = found
        return found

    def clear(self) -> None:
        with self._lock:
            self._generation += 1
            self._rules.clear()


rules = _Rules()


@receiver(post_save, sender=FaultRule, dispatch_uid="sandbox.rules_changed.fault_saved")
@receiver(post_delete, sender=FaultRule, dispatch_uid="sandbox.rules_changed.fault_deleted")
@receiver(post_save, sender=RateLimitRule, dispatch_uid="sandbox.rules_changed.rate_saved")
@receiver(post_delete, sender=RateLimitRule, dispatch_uid="sandbox.rules_changed.rate_deleted")
def _rules_changed(**kwargs) -> None:
    rules.clear()
    transaction.on_commit(rules.clear, using=SANDBOX_DB)


def fault_for(*, remote: str, method: str, path: str) -> Verdict | None:
    """The first matching fault rule, consumed once if it is counted."""
    for rule in rules.of(FaultRule):
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
        if rule.kind == FaultKind.HANG:
            return Verdict(hang_seconds=rule.latency_ms / 1000 or HANG_DEFAULT_SECONDS, reason="fault:hang")
        return Verdict(delay_seconds=max(rule.latency_ms / 1000, 30.0), reason="fault:timeout")
    return None


HANG_DEFAULT_SECONDS = 600.0


class _Holds:
    """Requests a ``hang`` fault holds. Each waits until the faults are released (``DELETE /_sim/faults``
    or a reset) or its own time is up; a condition variable, so a release frees them at once."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._releases = 0

    def hold(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        with self._condition:
            releases = self._releases
            while self._releases == releases and (left := deadline - time.monotonic()) > 0:
                self._condition.wait(left)

    def release(self) -> None:
        with self._condition:
            self._releases += 1
            self._condition.notify_all()


holds = _Holds()


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
    for rule in rules.of(RateLimitRule):
        if not _matches(rule, remote, method, path):
            continue
        wait = windows.take((rule.pk, caller), rule.limit, rule.window_seconds)
        if wait > 0:
            return Verdict(
                status=429, retry_after=max(1, int(wait + 0.999)), reason=f"rate-limit:{rule.name or rule.pk}"
            )
    return None
