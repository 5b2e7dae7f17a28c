"""The portal's settings loaded in a fresh process, without the variables the test run sets for itself.

Used by tests/portal/test_settings.py and test_checks.py (no tests here).
"""

from __future__ import annotations

import os
import subprocess
import sys

from sandbox.harness import ROOT

PRODUCTION_ENV = {
    "DEBUG": "0",
    "SECRET_KEY": "a-long-random-production-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz-XYZ",
    "FIELD_ENCRYPTION_KEY": "dGVzdC1rZXktZm9yLXBvcnRhbC10ZXN0cy0zMmJ5dGU=",
    "ALLOWED_HOSTS": "portal.example.com",
    "REDIS_URL": "redis://:a-redis-password@127.0.0.1:6379/0",
}


# Variables the test run sets for itself; a subprocess that checks settings starts without them.
TEST_RUN_VARIABLES = {
    "SECRET_KEY",
    "DEBUG",
    "FIELD_ENCRYPTION_KEY",
    "ALLOWED_HOSTS",
    "DATABASE_URL",
    "SECURE_SSL_REDIRECT",
    "SANDBOX_ENABLED",
    "STATICFILES_MANIFEST",
}


def clean_env(**overrides: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if k not in TEST_RUN_VARIABLES}
    return {**base, "ENV_FILE": "/dev/null", "DJANGO_SETTINGS_MODULE": "portal.settings", **overrides}


def run_django(code: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=clean_env(**env), capture_output=True, text=True, timeout=60
    )


def deploy_check(**env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=clean_env(**env),
        capture_output=True,
        text=True,
        timeout=120,
    )
