"""Liveness of the portal's dependencies, for /healthz and operators."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection

from portal.redis import redis_connection


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    error: str = ""

    def as_dict(self) -> dict:
        return {"ok": self.ok, **({"error": self.error} if self.error else {})}


def _describe(exc: Exception) -> str:
    # Class name plus first line: enough to act on, never a connection string.
    first_line = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {first_line}"[:200]


def database_check() -> CheckResult:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        return CheckResult(ok=False, error=_describe(exc))
    return CheckResult(ok=True)


def redis_check() -> CheckResult:
    try:
        redis_connection().ping()
    except Exception as exc:
        return CheckResult(ok=False, error=_describe(exc))
    return CheckResult(ok=True)


def health_report() -> dict:
    checks = {"database": database_check(), "redis": redis_check()}
    return {
        "status": "ok" if all(c.ok for c in checks.values()) else "unavailable",
        "checks": {name: c.as_dict() for name, c in checks.items()},
    }
