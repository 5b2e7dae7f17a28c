"""The processes a benchmark runs: a private Redis, a temporary database, gunicorn, the sandbox, workers.

Everything listens on free loopback ports and lives in one temporary directory; ``Stack.close``
stops every process this module started (and only those).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import requests

from sandbox.harness import LiveSandbox, PortalProcess, RedisServer, free_port, vario_settings

ROOT = Path(__file__).resolve().parent.parent
# Development-only keys for the benchmark's own throwaway processes.
SECRET_KEY = "bench-secret-key-not-for-production-0123456789abcdefghijklmnopqrstuvwxyz"  # noqa: S105
FIELD_ENCRYPTION_KEY = "YmVuY2gta2V5LWZvci1wb3J0YWwtYmVuY2htYXJrcy0="
NO_LIMIT = "1000000/1"  # a portal-side rate that never binds
STOP_SECONDS = 15  # a worker finishing its job after SIGTERM
ROLE_PREFIXES = (("web-", "web"), ("worker-", "workers"))  # process names (start_web, start_workers) → role


def _descendants(pid: int) -> list[int]:
    """``pid`` and every live process below it (Linux /proc; just ``pid`` elsewhere)."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*/children"):
            try:
                todo += [int(child) for child in task.read_text().split()]
            except OSError:
                continue  # the task ended meanwhile
    return found


def cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) used so far by ``pid``, its children it has waited for (an RQ
    worker's forked job runs) and its live descendants (gunicorn's workers). 0.0 without /proc."""
    ticks = 0
    for each in _descendants(pid):
        try:
            fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += sum(int(value) for value in fields[11:15])  # utime, stime, cutime, cstime
    return ticks / os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float:
    """CPU seconds all cores spent not idle since boot (0.0 without /proc/stat)."""
    try:
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    except OSError:
        return 0.0
    return (sum(values) - values[3] - values[4]) / os.sysconf("SC_CLK_TCK")  # minus idle and iowait


def wait_http(url: str, *, process: PortalProcess | None = None, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and not process.alive():
            raise RuntimeError(f"{process.name} exited: {process.log_tail()}")
        try:
            if requests.get(url, timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer 200 within {timeout}s")


class Stack:
    """The shared pieces of one ``python -m bench`` run."""

    def __init__(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="portal-bench-"))
        self.redis = RedisServer().start()
        self.sandbox_port = free_port()
        self.sandbox_url = f"http://127.0.0.1:{self.sandbox_port}"
        self.database_url = os.environ.get("DATABASE_URL") or f"sqlite:///{self.directory / 'portal.sqlite3'}"
        self.processes: list[PortalProcess] = []
        self.sandbox: LiveSandbox | None = None

    @property
    def postgres(self) -> bool:
        return not self.database_url.startswith("sqlite")

    def env(self, **extra: str) -> dict[str, str]:
        """The environment of every portal process: production settings, local ports, the sandbox as VARIO."""
        return {
            **os.environ,
            "ENV_FILE": "/dev/null",
            "DJANGO_SETTINGS_MODULE": "portal.settings",
            "DEBUG": "0",
            "SECRET_KEY": SECRET_KEY,
            "FIELD_ENCRYPTION_KEY": FIELD_ENCRYPTION_KEY,
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SECURE_SSL_REDIRECT": "0",
            "STATICFILES_MANIFEST": "0",
            "SANDBOX_ENABLED": "0",
            "BENCH_VIEWS": "0",
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis.url,
            "PYTHONUNBUFFERED": "1",
            **vario_settings(self.sandbox_url),
            **extra,
        }

    def setup_django(self) -> None:
        """Configure this process as a portal process and migrate the database."""
        os.environ.update(self.env())
        import django
        from django.core.management import call_command

        django.setup()
        call_command("migrate", interactive=False, verbosity=0)

    def reset_state(self) -> None:
        """An empty portal database and Redis between two benchmarks."""
        from django.core.management import call_command

        call_command("flush", interactive=False, verbosity=0)
        self.redis_client().flushall()

    def redis_client(self):
        import redis

        return redis.Redis.from_url(self.redis.url)

    def cpu_by_role(self) -> dict[str, float]:
        """CPU seconds used so far by each kind of process this run started, and by the whole machine."""
        roles = {"sandbox": 0.0, "web": 0.0, "workers": 0.0, "redis": 0.0, "other": 0.0}
        if self.sandbox is not None and self.sandbox.process is not None:
            roles["sandbox"] = cpu_seconds(self.sandbox.process.pid)
        for process in self.processes:
            role = next((r for prefix, r in ROLE_PREFIXES if process.name.startswith(prefix)), "other")
            roles[role] += cpu_seconds(process.pid)
        if self.redis.process is not None:
            roles["redis"] = cpu_seconds(self.redis.process.pid)
        roles["machine"] = machine_busy_seconds()
        roles["at"] = time.monotonic()
        return roles

    def start(self, name: str, args: list[str], **env: str) -> PortalProcess:
        """``args`` as a child process in this run's directory, its output in ``<name>.log``."""
        log_path = self.directory / f"{name}.log"
        process = PortalProcess(env=self.env(**env), log_path=log_path, command=args, name=name, session=False)
        self.processes.append(process.start())
        return process

    def stop(self, process: PortalProcess) -> None:
        process.stop(timeout=STOP_SECONDS)
        if process in self.processes:
            self.processes.remove(process)

    def start_web(self, *, workers: int, threads: int, **env: str) -> tuple[PortalProcess, str]:
        """gunicorn with deploy/gunicorn.conf.py, as the Procfile's web process."""
        port = free_port()
        web = self.start(
            f"web-{port}",
            [sys.executable, "-m", "gunicorn", "portal.wsgi:application", "--config", "deploy/gunicorn.conf.py"],
            WEB_BIND=f"127.0.0.1:{port}",
            WEB_WORKERS=str(workers),
            WEB_THREADS=str(threads),
            **env,
        )
        url = f"http://127.0.0.1:{port}"
        wait_http(f"{url}/healthz", process=web)
        return web, url

    def start_workers(self, count: int, **env: str) -> list[PortalProcess]:
        """``manage.py rqworker --with-scheduler default bulk`` as the Procfile's worker process, ``count`` times."""
        from rq import Worker

        workers = [
            self.start(
                f"worker-{i}-{free_port()}",
                [sys.executable, "manage.py", "rqworker", "--with-scheduler", "default", "bulk"],
                **env,
            )
            for i in range(count)
        ]
        deadline = time.monotonic() + 60
        while len(Worker.all(connection=self.redis_client())) < count:
            for worker in workers:
                if not worker.alive():
                    raise RuntimeError(f"{worker.name} exited: {worker.log_tail()}")
            if time.monotonic() > deadline:
                raise RuntimeError("workers did not register within 60s")
            time.sleep(0.1)
        return workers

    def start_sandbox(self) -> LiveSandbox:
        """``run_sandbox`` with its delivery loop paused, so webhooks go out when ``dispatch`` is called."""
        if self.sandbox is None:
            self.sandbox = LiveSandbox(
                directory=self.directory,
                port=self.sandbox_port,
                env_overrides={**self.env(), "SANDBOX_ENABLED": "1", "SANDBOX_DISPATCH_INTERVAL": "3600"},
            ).start(reset=True)
        else:
            self.sandbox.control("POST", "reset")
        return self.sandbox

    def close(self) -> None:
        for process in reversed(self.processes):
            process.stop(timeout=STOP_SECONDS)
        self.processes.clear()
        if self.sandbox is not None:
            self.sandbox.stop()
        self.redis.stop()
        if os.environ.get("BENCH_KEEP_LOGS"):
            print(f"logs kept in {self.directory}")
        else:
            shutil.rmtree(self.directory, ignore_errors=True)
