"""What stands between a Logistics or Pricing request and its effect, beyond the sandbox-wide faults
and sliding-window limits (``sandbox.limits``):

- the inventory **lock**: a second update of one SKU in one warehouse within ``lockWindowMs`` of an
  applied one is answered 423 and discarded (reference §1.4.2, C);
- the Pricing **route budgets**: per account and route, a per-second rate plus burst credits, with the
  ``Ratelimit-*`` headers on every answer and ``Retry-After`` on a 429 (reference §1.6, C). The
  sandbox's sliding windows know neither credits nor headers, so Pricing has its own limiter here;
  the Catalog's published limits are plain windows and use ``sandbox.limits`` (seed.py);
- **500 after apply**: a write that succeeded is answered with an error anyway (reference §1.8.4).

Like ``sandbox.limits``, the counters live in this process's memory (the sandbox runs one process)
and the switches in the database; the switches change only through the control API, a reset or the
seed, all in this process, which therefore keeps a copy and drops it on every change.
"""

from __future__ import annotations

import math
import re
import threading
import time
from dataclasses import dataclass

from django.db import transaction
from django.db.models import F

from sandbox.routers import SANDBOX_DB
from sandbox.settings_store import setting_get, setting_set
from sandbox.vtex_catalog.models import AfterApplyFault

LOCK_WINDOW_KEY = "vtex_catalog.lock_window_ms"
# reference §3.4 (A): "second PUT for same SKU+warehouse within lockWindowMs (default 200 ms) → 423".
LOCK_WINDOW_DEFAULT_MS = 200
LOCK_WINDOW_MAX_MS = 60_000
PRICING_LIMITS_KEY = "vtex_catalog.pricing_limits"

# reference §1.6 (C, Pricing spec info): POST and PUT 2000/min = 33/s with 500 burst credits, DELETE
# 1000/min = 16/s with 300; GET "under review" (not limited here unless a test sets a budget). PATCH
# is not named; it writes prices like PUT, so it gets the PUT budget (choice).
WRITE_BUDGET = {"limitPerSecond": 33, "burst": 500, "retryAfterSeconds": None}
DELETE_BUDGET = {"limitPerSecond": 16, "burst": 300, "retryAfterSeconds": None}
PRICE = "/pricing/prices/{itemId}"
FIXED = "/pricing/prices/{itemId}/fixed"
TABLE_FIXED = "/pricing/prices/{itemId}/fixed/{priceTableId}"
PRICING_ROUTES = (
    f"GET {PRICE}",
    f"PUT {PRICE}",
    f"DELETE {PRICE}",
    f"GET {FIXED}",
    f"PATCH {FIXED}",
    f"GET {TABLE_FIXED}",
    f"POST {TABLE_FIXED}",
    f"DELETE {TABLE_FIXED}",
    "GET /pricing/tables",
)
PUBLISHED_PRICING_LIMITS = {
    f"PUT {PRICE}": WRITE_BUDGET,
    f"PATCH {FIXED}": WRITE_BUDGET,
    f"POST {TABLE_FIXED}": WRITE_BUDGET,
    f"DELETE {PRICE}": DELETE_BUDGET,
    f"DELETE {TABLE_FIXED}": DELETE_BUDGET,
}


class _Copy:
    """One cached value read from the database, dropped on every change."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: dict[str, object] = {}

    def get(self, key: str, load):
        with self._lock:
            if key in self._values:
                return self._values[key]
        value = load()
        with self._lock:
            self._values.setdefault(key, value)
        return value

    def clear(self) -> None:
        with self._lock:
            self._values.clear()
        transaction.on_commit(self._clear_now, using=SANDBOX_DB)

    def _clear_now(self) -> None:
        with self._lock:
            self._values.clear()


copies = _Copy()


# --- lock window --------------------------------------------------------------------------------


def lock_window_ms() -> int:
    return copies.get(LOCK_WINDOW_KEY, lambda: setting_get(key=LOCK_WINDOW_KEY, default=LOCK_WINDOW_DEFAULT_MS))


def lock_window_set(*, milliseconds: int) -> None:
    setting_set(key=LOCK_WINDOW_KEY, value=milliseconds)
    copies.clear()


class _InventoryLocks:
    """When each (account, SKU, warehouse) last had an update applied, in monotonic seconds."""

    PRUNE_AT = 50_000

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._applied: dict[tuple[str, int, str], float] = {}

    def acquire(self, key: tuple[str, int, str], window_seconds: float) -> bool:
        """True and the lock is this request's; False when an applied update holds it (→ 423, discarded).

        Only an update that is applied takes the lock: one refused with 423 does not extend it.
        """
        now = time.monotonic()
        with self._lock:
            held_since = self._applied.get(key)
            if held_since is not None and now - held_since < window_seconds:
                return False
            self._applied[key] = now
            if len(self._applied) > self.PRUNE_AT:
                self._applied = {k: t for k, t in self._applied.items() if now - t < LOCK_WINDOW_MAX_MS / 1000}
            return True

    def clear(self) -> None:
        with self._lock:
            self._applied.clear()


inventory_locks = _InventoryLocks()


# --- Pricing route budgets ------------------------------------------------------------------------


@dataclass(frozen=True)
class Budget:
    per_second: float
    burst: int
    retry_after: int | None = None

    @property
    def capacity(self) -> float:
        # The per-second rate is free; what goes beyond it within a second spends burst credits.
        return self.burst + self.per_second


@dataclass(frozen=True)
class BudgetAnswer:
    allowed: bool
    headers: dict[str, str]


class _Buckets:
    """A token bucket per (account, route): ``burst + rate`` tokens, refilled at ``rate`` per second.

    That is VTEX's model (reference §1.6) made continuous: within one second ``rate`` requests are
    free, each one more spends a burst credit, credits refill at the route's rate while it is idle,
    and a request that finds no credit is refused (429) and not processed.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tokens: dict[tuple[str, str], tuple[float, float]] = {}

    def take(self, key: tuple[str, str], budget: Budget) -> BudgetAnswer:
        now = time.monotonic()
        with self._lock:
            tokens, at = self._tokens.get(key, (budget.capacity, now))
            tokens = min(budget.capacity, tokens + (now - at) * budget.per_second)
            allowed = tokens >= 1
            if allowed:
                tokens -= 1
            self._tokens[key] = (tokens, now)
        headers = {
            "Ratelimit-Limit": str(budget.burst),
            # A full bucket holds the burst credits plus one second's free rate: credits are what is
            # left of the burst once that free part is spent.
            "Ratelimit-Remaining": str(max(0, min(budget.burst, math.floor(tokens)))),
            "Ratelimit-Reset": str(math.ceil((budget.capacity - tokens) / budget.per_second)),
        }
        if not allowed:
            wait = math.ceil((1 - tokens) / budget.per_second)
            headers["Retry-After"] = str(budget.retry_after if budget.retry_after is not None else max(1, wait))
        return BudgetAnswer(allowed=allowed, headers=headers)

    def state(self) -> dict[tuple[str, str], float]:
        with self._lock:
            return {key: tokens for key, (tokens, _) in self._tokens.items()}

    def forget(self, route: str | None = None) -> None:
        with self._lock:
            if route is None:
                self._tokens.clear()
            else:
                self._tokens = {k: v for k, v in self._tokens.items() if k[1] != route}


buckets = _Buckets()


def pricing_limits() -> dict[str, dict]:
    """The budget per Pricing route; the published ones until the control API changes them."""

    def load() -> dict[str, dict]:
        stored = setting_get(key=PRICING_LIMITS_KEY, default=None)
        return PUBLISHED_PRICING_LIMITS if stored is None else stored["routes"]

    return copies.get(PRICING_LIMITS_KEY, load)


def pricing_limits_set(limits: dict[str, dict]) -> None:
    """Store the budgets (``{}``: every route lifted, which is not the same as never set)."""
    setting_set(key=PRICING_LIMITS_KEY, value={"routes": limits})
    copies.clear()
    buckets.forget()


def pricing_budget_take(*, account: str, route: str) -> BudgetAnswer | None:
    """None when the route has no budget; else whether the request may run and the headers it gets."""
    config = pricing_limits().get(route)
    if not config:
        return None
    budget = Budget(
        per_second=float(config["limitPerSecond"]),
        burst=int(config["burst"]),
        retry_after=config.get("retryAfterSeconds"),
    )
    return buckets.take((account, route), budget)


# --- 500 after apply ------------------------------------------------------------------------------


def after_apply_faults() -> list[AfterApplyFault]:
    return copies.get("after_apply_faults", lambda: list(AfterApplyFault.objects.all()))


def after_apply_faults_changed() -> None:
    copies.clear()


def after_apply_fault_for(*, method: str, path: str) -> int | None:
    """The status the first matching rule answers with instead of success (a counted rule is used up)."""
    for rule in after_apply_faults():
        if rule.method and rule.method.upper() != method.upper():
            continue
        if rule.path_pattern and re.search(rule.path_pattern, path) is None:
            continue
        if rule.remaining is not None:
            with transaction.atomic(using=SANDBOX_DB):
                taken = AfterApplyFault.objects.filter(pk=rule.pk, remaining__gt=0).update(remaining=F("remaining") - 1)
                if AfterApplyFault.objects.filter(pk=rule.pk, remaining=0).delete()[0]:
                    after_apply_faults_changed()
            if not taken:
                continue
        return rule.status_code
    return None


def state_clear() -> None:
    """After a reset: no lock held, every bucket full, every copy read again."""
    inventory_locks.clear()
    buckets.forget()
    copies.clear()
