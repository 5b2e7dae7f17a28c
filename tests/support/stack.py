"""The portal running end to end: sandbox process, portal web (live server), real RQ worker process.

Workers are real ``manage.py rqworker`` processes against the test database and the run's Redis,
with the portal's delays shrunk so retries and waits take fractions of a second. The sandbox, its
control API client (``Sim``), ``order_pair`` and the demo credentials are in ``sandbox.harness``,
which bench/ uses too.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import requests
from django.db import connection

from sandbox.harness import VARIO_APP_IDENTIFIER, VARIO_CLIENT_SECRET, PortalProcess, free_port, vario_settings

FAST_SYNC = {
    "SYNC_RETRY_BASE_SECONDS": "0.2",
    "SYNC_RETRY_MAX_SECONDS": "1",
    "SYNC_NOT_YET_DELAY_SECONDS": "0.5",
    "SYNC_LOCK_SECONDS": "4",
    "SYNC_SWEEP_AFTER_SECONDS": "1",
    "LIMITER_MAX_WAIT_SECONDS": "3",
    "RETRY_AFTER_DEFAULT_SECONDS": "1",
    "VARIO_429_BACKOFF_SECONDS": "0.2",
    "REMOTE_READ_TIMEOUT": "5",
    "BULK_STEP_SECONDS": "2",
    "BULK_STALE_SECONDS": "3",
    "BULK_PAGE_SIZE": "4",
}


def worker_database_url() -> str:
    """A DATABASE_URL for the test database this process created (for worker processes)."""
    settings = connection.settings_dict
    if settings["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{settings['NAME']}"
    user = settings.get("USER") or ""
    password = f":{settings['PASSWORD']}" if settings.get("PASSWORD") else ""
    auth = f"{user}{password}@" if user else ""
    return f"postgres://{auth}{settings.get('HOST') or '127.0.0.1'}:{settings.get('PORT') or 5432}/{settings['NAME']}"


class Worker(PortalProcess):
    """One `manage.py rqworker` process with its scheduler."""

    args = ("rqworker", "default", "bulk", "--with-scheduler")


class Periodic(PortalProcess):
    """`manage.py run_periodic`: RQ cron, which enqueues the sweep every SYNC_SWEEP_INTERVAL_SECONDS."""

    args = ("run_periodic",)


class Web(PortalProcess):
    """The portal's web process as production runs it: gunicorn with deploy/gunicorn.conf.py."""

    def __init__(self, *, env: dict[str, str], log_path: Path) -> None:
        self.port = free_port()
        super().__init__(
            env={**env, "WEB_BIND": f"127.0.0.1:{self.port}", "WEB_WORKERS": "1", "ALLOWED_HOSTS": "127.0.0.1"},
            log_path=log_path,
            command=[
                str(Path(sys.executable).with_name("gunicorn")),
                "portal.wsgi:application",
                "--config",
                "deploy/gunicorn.conf.py",
            ],
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> Web:
        super().start()
        wait_until(self._answers, timeout=timeout, message=f"gunicorn on port {self.port}; log: {self.log_tail()}")
        return self

    def _answers(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"gunicorn exited with {self.process.returncode}: {self.log_tail()}")
        try:
            return requests.get(f"{self.url}/healthz", timeout=1).status_code in (200, 503)
        except requests.RequestException:
            return False


def portal_env(*, sandbox_url: str, redis_url: str, **overrides: str) -> dict[str, str]:
    """The environment of a portal process against the test database, the sandbox and ``redis_url``."""
    return {
        **os.environ,
        **vario_settings(sandbox_url),
        **FAST_SYNC,
        "DATABASE_URL": worker_database_url(),
        "REDIS_URL": redis_url,
        **overrides,
    }


def wait_until(predicate, *, timeout: float = 45.0, interval: float = 0.1, message: str = "condition"):
    """Poll ``predicate`` until it returns something truthy; fail with ``message`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message}; last value: {last!r}")


def signed_post(base_url: str, path: str, body: dict) -> requests.Response:
    """POST to the portal as VARIO does: with an app token (HS256, aud = app identifier, exp)."""
    import jwt

    token = jwt.encode(
        {"aud": VARIO_APP_IDENTIFIER, "exp": int(time.time()) + 60}, VARIO_CLIENT_SECRET, algorithm="HS256"
    )
    return requests.post(f"{base_url}{path}", json=body, timeout=10, headers={"Authorization": f"Bearer {token}"})
