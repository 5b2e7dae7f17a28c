"""gunicorn's access log with secrets in request paths masked (``logger_class`` in deploy/gunicorn.conf.py).

The format already leaves out query strings and headers; the one secret a path carries is a channel's
connector secret in the Channel Order API notification URL (sync/urls.py, reference/vtex.md §7).
"""

from __future__ import annotations

from gunicorn.glogging import Logger

from portal.redaction import redact_text


class RedactingLogger(Logger):
    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        for key in ("U", "r"):  # the path, and the request line that contains it
            if isinstance(atoms.get(key), str):
                atoms[key] = redact_text(atoms[key])
        return atoms
