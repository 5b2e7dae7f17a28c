"""Third-party admin pages made to keep the portal's rules (every action declares its permission;
no admin page answers 500).

Autodiscovery imports ``portal.admin`` before ``axes.admin`` (``portal`` is first in INSTALLED_APPS),
so django-axes' own registrations are imported here first and then replaced; autodiscovery finds
``axes.admin`` already imported later and registers nothing twice.
"""

from __future__ import annotations

import axes.admin  # noqa: F401 - registers django-axes' admins, replaced below
from axes.admin import AccessAttemptAdmin
from axes.models import AccessAttempt
from django.contrib import admin
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class PortalAccessAttemptAdmin(AccessAttemptAdmin):
    """django-axes' attempts, with its clean-up action behind the delete permission.

    django-axes 8.3's action reads ``request.axes_attempt_time``, which only its login handling sets,
    so it answered 500 to whoever ran it; the action sets it, as a login would, before the handler runs.
    """

    actions = ["cleanup_expired_attempts"]

    @admin.action(description=_("Clean up expired attempts"), permissions=["delete"])
    def cleanup_expired_attempts(self, request, queryset):
        request.axes_attempt_time = timezone.now()
        count = self.handler.clean_expired_user_attempts(request=request)
        self.message_user(request, _("Cleaned up %(count)d expired access attempts.") % {"count": count})


admin.site.unregister(AccessAttempt)
admin.site.register(AccessAttempt, PortalAccessAttemptAdmin)
