"""Liveness of the portal's dependencies, for /healthz, the workers' start and operators.

Anonymous callers (load balancers, monitors) learn only up or down per component: an error's text can
name hosts, ports or users. The reason goes to the log (through the redaction filter) every time, and
to staff on /healthz.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import redis
from django.db import connection

from portal.redis import redis_connection

logger = logging.getLogger(__name__)

# RQ keeps queued jobs, their registries and the scheduler's lock in Redis without expiry; the portal's
# order locks and ready sets live there too. Any other policy lets Redis drop them when memory runs out.
REDIS_REQUIRED_POLICY = "noeviction"


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    error: str = ""


class RedisEvicts(Exception):
    """Redis may evict keys: RQ's jobs and the portal's locks would vanish under memory pressure."""

    def __init__(self, policy: str) -> None:
        self.policy = policy
        super().__init__(
            f"Redis's maxmemory-policy is {policy}; RQ needs {REDIS_REQUIRED_POLICY}, or queued jobs and locks "
            f"can be evicted. Set `maxmemory-policy {REDIS_REQUIRED_POLICY}` in redis.conf (or `CONFIG SET "
            f"maxmemory-policy {REDIS_REQUIRED_POLICY}`) and start again."
        )


def _describe(exc: Exception) -> str:
    # Class name plus first line: enough to act on, never a connection string.
    first_line = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {first_line}"[:200]


def redis_eviction_policy(*, client: redis.Redis | None = None) -> str | None:
    """Redis's ``maxmemory-policy``, read from INFO (allowed where managed Redis disables CONFIG); None
    when the server does not report one."""
    return (client or redis_connection()).info("memory").get("maxmemory_policy")


def redis_noeviction_require(*, client: redis.Redis | None = None) -> None:
    """Raise RedisEvicts when Redis is set to evict keys. A server that does not say is let through."""
    policy = redis_eviction_policy(client=client)
    if policy is not None and policy != REDIS_REQUIRED_POLICY:
        raise RedisEvicts(policy)


def database_check() -> CheckResult:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        return CheckResult(ok=False, error=_describe(exc))
    return CheckResult(ok=True)


def redis_check() -> CheckResult:
    """Redis answers and keeps what the workers store (one INFO round trip does both)."""
    try:
        redis_noeviction_require()
    except RedisEvicts as exc:
        return CheckResult(ok=False, error=f"maxmemory-policy is {exc.policy}; RQ needs {REDIS_REQUIRED_POLICY}")
    except Exception as exc:
        return CheckResult(ok=False, error=_describe(exc))
    return CheckResult(ok=True)


def health_report(*, details: bool = False) -> dict:
    """``{"status": "ok"|"unavailable", "checks": {name: "up"|"down"}}``; with ``details`` (staff only),
    ``"details": {name: reason}`` for each component that is down. Every failure is logged."""
    checks = {"database": database_check(), "redis": redis_check()}
    failed = {name: check.error for name, check in checks.items() if not check.ok}
    for name, error in failed.items():
        logger.warning("health check: %s is down: %s", name, error)
    report = {
        "status": "unavailable" if failed else "ok",
        "checks": {name: "up" if check.ok else "down" for name, check in checks.items()},
    }
    if details and failed:
        report["details"] = failed
    return report
