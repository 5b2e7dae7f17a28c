from django.contrib import admin
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from portal.health import health_report
from sync.monitoring import feed_health_report


def _is_admin(request) -> bool:
    # The admin's own test (active staff, and a verified device when ADMIN_REQUIRE_OTP): whoever may
    # open the admin may read why a check failed; anyone else learns up or down only.
    return admin.site.has_permission(request)


@never_cache
@require_GET
def healthz(request):
    report = health_report(details=_is_admin(request))
    return JsonResponse(report, status=200 if report["status"] == "ok" else 503)


@never_cache
@require_GET
def healthz_feed(request):
    """For an external monitor: 503 while any channel's feed poll is stale. Apart from /healthz on purpose,
    so a load balancer probing /healthz keeps the web up while the poller is stalled."""
    report = feed_health_report(details=_is_admin(request))
    return JsonResponse(report, status=200 if report["status"] == "ok" else 503)
