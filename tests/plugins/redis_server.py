"""Pytest plugin: a private redis-server for the test run, started before Django reads settings.

Loaded with ``-p tests.plugins.redis_server`` (pyproject addopts). When ``REDIS_URL`` is set the
given Redis is used as it is and never flushed; otherwise a throwaway ``redis-server`` on a free
port serves the run and is stopped at the end. ``PORTAL_TEST_REDIS_OWNED=1`` tells tests that the
Redis is theirs to flush.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time

import pytest

SECRET_KEY_FOR_TESTS = "test-secret-key-not-for-production-0123456789abcdefghijklmnopqrstuvwxyz"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisServer:
    """A redis-server process of our own, in a temporary directory, on a free loopback port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        self.directory = tempfile.mkdtemp(prefix="portal-test-redis-")

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> RedisServer:
        binary = shutil.which("redis-server")
        if binary is None:
            raise pytest.UsageError(
                "redis-server is not installed: install it (Debian: apt-get install redis-server) "
                "or point REDIS_URL at a Redis the tests may use."
            )
        self.process = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                self.directory,
                "--loglevel",
                "warning",
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
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.directory, ignore_errors=True)


_server: RedisServer | None = None
_directory: str | None = None


def _run_directory() -> str:
    """A temporary directory for this test run's files (SQLite test database), removed at the end."""
    global _directory
    if _directory is None:
        _directory = tempfile.mkdtemp(prefix="portal-test-run-")
    return _directory


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_load_initial_conftests(early_config, parser, args):
    # Runs around pytest-django's own hook, which imports the settings.
    global _server
    os.environ.setdefault("SECRET_KEY", SECRET_KEY_FOR_TESTS)
    os.environ.setdefault("DEBUG", "0")
    os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
    os.environ.setdefault("STATICFILES_MANIFEST", "0")
    os.environ.setdefault("SANDBOX_ENABLED", "1")
    os.environ.setdefault("SQLITE_TEST_DATABASE", os.path.join(_run_directory(), "test-portal.sqlite3"))
    os.environ.setdefault("FIELD_ENCRYPTION_KEY", "dGVzdC1rZXktZm9yLXBvcnRhbC10ZXN0cy0zMmJ5dGU=")
    if not os.environ.get("REDIS_URL"):
        _server = RedisServer().start()
        os.environ["REDIS_URL"] = _server.url
        os.environ["PORTAL_TEST_REDIS_OWNED"] = "1"
    return (yield)


def pytest_unconfigure(config):
    global _server, _directory
    if _server is not None:
        _server.stop()
        _server = None
    if _directory is not None:
        shutil.rmtree(_directory, ignore_errors=True)
        _directory = None
