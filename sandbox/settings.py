"""Settings of the sandbox server process (`manage.py run_sandbox`): the portal's, re-aimed.

Same databases and environment as the portal, but its own URLconf and middleware: no sessions,
no CSRF (these are APIs), every request through SandboxMiddleware (faults, limits, request log).
"""

import os

from django.core.exceptions import ImproperlyConfigured

os.environ.setdefault("SANDBOX_ENABLED", "1")

from portal.settings import *  # noqa: F403

if "sandbox" not in INSTALLED_APPS:  # noqa: F405
    raise ImproperlyConfigured("The sandbox server needs SANDBOX_ENABLED=1.")

SANDBOX_ENABLED = True
ROOT_URLCONF = "sandbox.urls"
MIDDLEWARE = ["sandbox.middleware.SandboxMiddleware"]
ALLOWED_HOSTS = ["*"]  # bound to loopback; clients address it by whatever host they were given
SECURE_SSL_REDIRECT = False
APPEND_SLASH = False
