"""Serve the VTEX and VARIO simulators over HTTP (demo and tests only)."""

import os
import sys

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from sandbox.routers import SANDBOX_DB


class Command(BaseCommand):
    help = "Run the sandbox: VTEX and VARIO simulators speaking their real HTTP contracts, plus /_sim/."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8001)
        parser.add_argument("--reset", action="store_true", help="start from the seed state")

    def handle(self, *args, **options):
        if not settings.SANDBOX_ENABLED or SANDBOX_DB not in settings.DATABASES:
            raise CommandError("The sandbox is disabled: set SANDBOX_ENABLED=1 (never in production).")
        call_command("migrate", database=SANDBOX_DB, interactive=False, verbosity=0)

        from sandbox.control import sandbox_reset
        from sandbox.settings_store import setting_get, setting_set

        if options["reset"] or not setting_get(key="sandbox.seeded", default=False):
            sandbox_reset()
            setting_set(key="sandbox.seeded", value=True)

        bind = f"{options['host']}:{options['port']}"
        self.stdout.write(f"Sandbox listening on http://{bind} (VTEX, VARIO, control API under /_sim/)")
        self.stdout.flush()
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "sandbox.settings", "SANDBOX_ENABLED": "1"}
        conf = os.path.join(settings.BASE_DIR, "sandbox", "gunicorn_conf.py")
        argv = [sys.executable, "-m", "gunicorn", "sandbox.wsgi:application", "--config", conf, "--bind", bind]
        os.execve(sys.executable, argv, env)  # noqa: S606 - replace this process with the server
