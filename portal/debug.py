"""What Django's technical error page (DEBUG only) may show of settings and the request's environment."""

from __future__ import annotations

import re

from django.views.debug import SafeExceptionReporterFilter

# scheme://user:password@host: a REDIS_URL, DATABASE_URL or queue URL with its password.
_URL_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^/@:\s]*:)[^/@\s]+(?P<tail>@)", re.IGNORECASE)


class PortalExceptionReporterFilter(SafeExceptionReporterFilter):
    """Django's own filter hides settings by name (KEY, TOKEN, PASS, ...). A URL setting is not
    named like a secret but may carry one, and under runserver the request's environment holds
    every variable of the process: passwords inside URLs are masked wherever they appear. The views'
    sensitive_variables / sensitive_post_parameters marks hold with DEBUG on too."""

    def is_active(self, request):
        # Django honours sensitive_variables / sensitive_post_parameters only with DEBUG off; a DEBUG
        # page (a demo, a staging box) is an error page like any other.
        return True

    def cleanse_setting(self, key, value):
        cleansed = super().cleanse_setting(key, value)
        if isinstance(cleansed, str):
            return _URL_PASSWORD.sub(rf"\g<head>{self.cleansed_substitute}\g<tail>", cleansed)
        return cleansed
