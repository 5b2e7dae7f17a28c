"""gunicorn's logs with secrets in request paths masked (``logger_class`` in deploy/gunicorn.conf.py).

The access format already leaves out query strings and headers; the one secret a path carries is a
channel's connector secret in the Channel Order API notification URL (sync/urls.py, reference/vtex.md
§7). gunicorn prints paths in its error log too: "Error handling request <method> <uri>" when a
request crashes the worker, and the request line of a request it could not parse.
"""

from __future__ import annotations

from gunicorn.glogging import Logger

from portal.logging import RedactSecretsFilter
from portal.redaction import redact_text


class RedactingLogger(Logger):
    def setup(self, cfg):
        super().setup(cfg)
        # On the logger, so it holds whatever handlers gunicorn's errorlog, syslog or logconfig set up;
        # setup() runs again on every configuration reload, so the filter is added once.
        if not any(isinstance(f, RedactSecretsFilter) for f in self.error_log.filters):
            self.error_log.addFilter(RedactSecretsFilter())

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        for key in ("U", "r"):  # the path, and the request line that contains it
            if isinstance(atoms.get(key), str):
                atoms[key] = redact_text(atoms[key])
        return atoms
