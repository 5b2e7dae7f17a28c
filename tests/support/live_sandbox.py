"""The sandbox served over real HTTP by `manage.py run_sandbox`, in its own process and database."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from tests.plugins.redis_server import free_port

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class LiveSandbox:
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
        self.process = subprocess.Popen(
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
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log_tail(self) -> str:
        path = self.directory / "sandbox.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""
