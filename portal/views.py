from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from portal.health import health_report
from sync.monitoring import feed_health_report


@never_cache
@require_GET
def healthz(request):
    report = health_report()
    return JsonResponse(report, status=200 if report["status"] == "ok" else 503)


@never_cache
@require_GET
def healthz_feed(request):
    """For an external monitor: 503 while any channel's feed poll is stale. Apart from /healthz on purpose,
    so a load balancer probing /healthz keeps the web up while the poller is stalled."""
    report = feed_health_report()
    return JsonResponse(report, status=200 if report["status"] == "ok" else 503)
