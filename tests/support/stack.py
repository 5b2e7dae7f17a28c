"""The portal running end to end: sandbox process, portal web (live server), real RQ worker process.

Workers are real ``manage.py rqworker`` processes against the test database and the run's Redis,
with the portal's delays shrunk so retries and waits take fractions of a second.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import requests
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]

# Sandbox demo installation (sandbox/vario/seed.py, sandbox/vtex/seed.py).
VARIO_CLIENT_ID = "vtex-portal"
VARIO_CLIENT_SECRET = "demo-client-secret-of-the-vario-sandbox"
VARIO_APP_IDENTIFIER = "3f1c2d4e-0000-4000-8000-000000000001"
VARIO_REFRESH_TOKEN = "demo-refresh-token"
VTEX_APP_KEY = "vtexappkey-demostore-PORTAL"
VTEX_APP_TOKEN = "demo-app-token"

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
}


def vario_settings(sandbox_url: str) -> dict[str, str]:
    return {
        "VARIO_BASE_URL": sandbox_url,
        "VARIO_TOKEN_URL": f"{sandbox_url}/realms/demo/protocol/openid-connect/token",
        "VARIO_CLIENT_ID": VARIO_CLIENT_ID,
        "VARIO_CLIENT_SECRET": VARIO_CLIENT_SECRET,
        "VARIO_APP_IDENTIFIER": VARIO_APP_IDENTIFIER,
        "VARIO_REFRESH_TOKEN": VARIO_REFRESH_TOKEN,
    }


def test_database_url() -> str:
    """A DATABASE_URL for the test database this process created (for worker processes)."""
    settings = connection.settings_dict
    if settings["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{settings['NAME']}"
    user = settings.get("USER") or ""
    password = f":{settings['PASSWORD']}" if settings.get("PASSWORD") else ""
    auth = f"{user}{password}@" if user else ""
    return f"postgres://{auth}{settings.get('HOST') or '127.0.0.1'}:{settings.get('PORT') or 5432}/{settings['NAME']}"


class Worker:
    """One `manage.py rqworker` process."""

    def __init__(self, *, env: dict[str, str], log_path: Path) -> None:
        self.env = env
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    def start(self) -> Worker:
        log = open(self.log_path, "ab")  # noqa: SIM115 - lives as long as the process
        self.process = subprocess.Popen(
            [
                sys.executable,
                "manage.py",
                "rqworker",
                "default",
                "--with-scheduler",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        return self

    def kill(self) -> None:
        """SIGKILL: no cleanup, as when a host dies."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log_tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:] if self.log_path.exists() else ""


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


class Sim:
    """Thin helper over the sandbox's control API and the VTEX/VARIO views the tests look at."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.session = requests.Session()

    def post(self, path: str, body=None, expect: int | tuple = (200, 201)):
        response = self.session.post(f"{self.url}/_sim/{path}", json=body, timeout=10)
        expected = expect if isinstance(expect, tuple) else (expect,)
        assert response.status_code in expected, f"{path}: {response.status_code} {response.text[:500]}"
        return response.json() if response.content else None

    def get(self, endpoint: str, **params):
        response = self.session.get(f"{self.url}/_sim/{endpoint}", params=params, timeout=10)
        assert response.status_code == 200, f"{endpoint}: {response.status_code} {response.text[:500]}"
        return response.json()

    def vtex_order(self, order_id: str) -> dict:
        return self.get(f"vtex/orders/{order_id}")

    def requests_to(self, method: str, path_contains: str) -> list[dict]:
        return self.get("requests", method=method, path=path_contains)


def order_pair(sim: Sim, items: list[tuple[str, int, int]], *, shipping: int = 490, marketplace: dict | None = None):
    """A VTEX order in ready-for-handling and its ERP order, as the import would have made it.

    ``items``: (article number / SKU ref, quantity, unit price in cents).
    """
    vtex = sim.post(
        "vtex/orders",
        {
            "items": [
                {"skuId": str(100 + i), "name": ref, "quantity": q, "price": p, "sellingPrice": p, "refId": ref}
                for i, (ref, q, p) in enumerate(items)
            ],
            "shippingValue": shipping,
            **(marketplace or {}),
        },
    )
    erp = sim.post(
        "vario/orders",
        {
            "externalIdentifier": vtex["orderId"],
            "externalOrderId": vtex["orderId"],
            "lines": [
                {"articleNumber": ref, "quantity": q, "price": p / 100, "externalItemId": item["uniqueId"]}
                for (ref, q, p), item in zip(items, vtex["items"], strict=True)
            ],
        },
    )
    return vtex, erp


def signed_post(base_url: str, path: str, body: dict) -> requests.Response:
    """POST to the portal as VARIO does: with an app token (HS256, aud = app identifier, exp)."""
    import jwt

    token = jwt.encode(
        {"aud": VARIO_APP_IDENTIFIER, "exp": int(time.time()) + 60}, VARIO_CLIENT_SECRET, algorithm="HS256"
    )
    return requests.post(f"{base_url}{path}", json=body, timeout=10, headers={"Authorization": f"Bearer {token}"})
