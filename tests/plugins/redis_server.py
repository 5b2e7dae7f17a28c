"""Pytest plugin: a private redis-server for the test run, started before Django reads settings.

Loaded with ``-p tests.plugins.redis_server`` (pyproject addopts). When ``REDIS_URL`` is set the
given Redis is used as it is and never flushed; otherwise a throwaway ``redis-server`` on a free
port (``sandbox.harness.RedisServer``) serves the run and is stopped at the end.
``PORTAL_TEST_REDIS_OWNED=1`` tells tests that the Redis is theirs to flush.
"""

from __future__ import annotations

import os
import shutil
import tempfile

import pytest

from sandbox.harness import RedisServer

SECRET_KEY_FOR_TESTS = "test-secret-key-not-for-production-0123456789abcdefghijklmnopqrstuvwxyz"

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
        try:
            _server = RedisServer().start()
        except FileNotFoundError as missing:
            raise pytest.UsageError(str(missing)) from None
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
