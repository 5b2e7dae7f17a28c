"""The sandbox and its neighbours started and driven from outside: for the tests and for bench/.

Both the suite and the benchmarks need the same few things: a free loopback port, a private
``redis-server``, ``manage.py run_sandbox`` in its own process and database, a client for the
sandbox's control API (``/_sim/``), an order pair seeded on both simulated sides, the demo
installation's credentials that point the portal at the sandbox, and the portal's own processes
(``PortalProcess``: a worker, gunicorn, the poller) with their logs. They live here, beside the
simulators they drive, because bench/ imports nothing from tests/ (design.md §3) and the portal's
own apps must not carry code only a demo or a test runs (design.md §5: the sandbox is "demo and
tests only, never in production").

Plain Python on purpose: no Django import, so the pytest plugin that starts Redis can use it
before Django reads its settings, and a benchmark can use it before it configures Django.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent

# The demo installation both simulators are seeded with (sandbox/vario/seed.py, sandbox/vtex/seed.py
# read them from here; printed in docs/sandbox-vario.md). Simulator credentials, not secrets.
VARIO_CLIENT_ID = "vtex-portal"
VARIO_CLIENT_SECRET = "demo-client-secret-of-the-vario-sandbox"  # noqa: S105 - 32+ bytes for HS256
VARIO_APP_IDENTIFIER = "3f1c2d4e-0000-4000-8000-000000000001"
VARIO_REFRESH_TOKEN = "demo-refresh-token"  # noqa: S105
VTEX_APP_KEY = "vtexappkey-demostore-PORTAL"
VTEX_APP_TOKEN = "demo-app-token"  # noqa: S105


def free_port() -> int:
    """A loopback port nobody listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def vario_settings(sandbox_url: str) -> dict[str, str]:
    """The portal's VARIO settings that point it at the sandbox's demo installation."""
    return {
        "VARIO_BASE_URL": sandbox_url,
        "VARIO_TOKEN_URL": f"{sandbox_url}/realms/demo/protocol/openid-connect/token",
        "VARIO_CLIENT_ID": VARIO_CLIENT_ID,
        "VARIO_CLIENT_SECRET": VARIO_CLIENT_SECRET,
        "VARIO_APP_IDENTIFIER": VARIO_APP_IDENTIFIER,
        "VARIO_REFRESH_TOKEN": VARIO_REFRESH_TOKEN,
    }


def _stop(process: subprocess.Popen | None, timeout: float = 10.0) -> None:
    """SIGTERM, and SIGKILL if it has not ended within ``timeout``."""
    if process and process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class RedisServer:
    """A redis-server process of our own, in a temporary directory, on a free loopback port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        self.directory = tempfile.mkdtemp(prefix="portal-redis-")

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> RedisServer:
        """Start it and wait for PONG; FileNotFoundError when redis-server is not installed."""
        binary = shutil.which("redis-server")
        if binary is None:
            raise FileNotFoundError(
                "redis-server is not installed: install it (Debian: apt-get install redis-server) "
                "or point REDIS_URL at a Redis the tests may use."
            )
        self.process = subprocess.Popen(  # noqa: S603 - our own arguments
            [
                *(binary, "--port", str(self.port), "--bind", "127.0.0.1"),
                *("--save", "", "--appendonly", "no", "--dir", self.directory, "--loglevel", "warning"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.process.returncode} on port {self.port}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        return self
            except OSError:
                time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"redis-server did not answer on port {self.port} within {timeout}s")

    def stop(self) -> None:
        _stop(self.process)
        shutil.rmtree(self.directory, ignore_errors=True)


@dataclass
class LiveSandbox:
    """``manage.py run_sandbox`` served over real HTTP, in its own process and database in ``directory``."""

    directory: Path
    env_overrides: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def control(self, method: str, path: str, **kwargs) -> requests.Response:
        response = requests.request(method, f"{self.url}/_sim/{path.lstrip('/')}", timeout=10, **kwargs)
        response.raise_for_status()
        return response

    def start(self, *, reset: bool = True, timeout: float = 30.0) -> LiveSandbox:
        env = {
            **os.environ,
            "SANDBOX_ENABLED": "1",
            "SANDBOX_DATABASE_URL": f"sqlite:///{self.directory / 'sandbox.sqlite3'}",
            "SANDBOX_DISPATCH_INTERVAL": "0.05",
            "SANDBOX_WEBHOOK_RETRY_DELAYS": "0.2,0.4,0.8",
            **self.env_overrides,
        }
        args = [sys.executable, "manage.py", "run_sandbox", "--port", str(self.port)]
        log = open(self.directory / "sandbox.log", "ab")  # noqa: SIM115 - lives as long as the process
        self.process = subprocess.Popen(  # noqa: S603 - our own arguments
            [*args, *(["--reset"] if reset else [])], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"run_sandbox exited with {self.process.returncode}: {self.log_tail()}")
            try:
                if requests.get(f"{self.url}/_sim/clock", timeout=0.5).status_code == 200:
                    return self
            except requests.RequestException:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"sandbox did not answer within {timeout}s: {self.log_tail()}")

    def stop(self) -> None:
        _stop(self.process)

    def log_tail(self) -> str:
        path = self.directory / "sandbox.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""


class PortalProcess:
    """One portal process (``manage.py <args>`` unless ``command`` is given), its output in ``log_path``.

    ``session=True`` (the tests' workers, web and periodic) puts it in a session of its own, so that
    ``kill`` reaches everything it started (an RQ worker's scheduler and job process, gunicorn's
    workers), as when its host dies.
    """

    args: tuple[str, ...] = ()

    def __init__(
        self,
        *,
        env: dict[str, str],
        log_path: Path,
        command: list[str] | None = None,
        name: str = "",
        session: bool = True,
    ) -> None:
        self.env = env
        self.log_path = log_path
        self.command = command or [sys.executable, "manage.py", *self.args]
        self.name = name or log_path.stem
        self.session = session
        self.process: subprocess.Popen | None = None

    def start(self):
        log = open(self.log_path, "ab")  # noqa: SIM115 - lives as long as the process
        self.process = subprocess.Popen(  # noqa: S603 - our own arguments
            self.command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=self.session
        )
        return self

    @property
    def pid(self) -> int:
        if self.process is None:
            raise RuntimeError(f"{self.name} was never started")
        return self.process.pid

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL to the process, and with ``session`` to all it started."""
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                if self.session:
                    os.killpg(self.pid, signal.SIGKILL)
                else:
                    self.process.kill()
            self.process.wait()

    def wait_dead(self, timeout: float = 30.0) -> int:
        """The exit status of a process that ends by itself; TimeoutExpired after ``timeout``."""
        if self.process is None:
            raise RuntimeError(f"{self.name} was never started")
        return self.process.wait(timeout=timeout)

    def stop(self, timeout: float = 10) -> int | None:
        """SIGTERM to the main process only, as systemd's KillMode=mixed sends it; its exit status."""
        if self.alive():
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.process.returncode if self.process else None

    def log_tail(self, chars: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:] if self.log_path.exists() else ""


class Sim:
    """Thin client of the sandbox's control API and the VTEX/VARIO views behind it."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.session = requests.Session()

    def post(self, path: str, body=None, expect: int | tuple = (200, 201)):
        response = self.session.post(f"{self.url}/_sim/{path}", json=body, timeout=10)
        expected = expect if isinstance(expect, tuple) else (expect,)
        if response.status_code not in expected:
            raise AssertionError(f"{path}: {response.status_code} {response.text[:500]}")
        return response.json() if response.content else None

    def get(self, endpoint: str, **params):
        response = self.session.get(f"{self.url}/_sim/{endpoint}", params=params, timeout=10)
        if response.status_code != 200:
            raise AssertionError(f"{endpoint}: {response.status_code} {response.text[:500]}")
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
