from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from django_otp.admin import OTPAdminSite

from portal import views
from portal.admin_rq import rq_dashboard_urlpatterns

admin.site.site_header = "VARIO ⇄ VTEX portal"
admin.site.site_title = "VARIO ⇄ VTEX portal"
admin.site.index_title = "Integration"
if settings.ADMIN_REQUIRE_OTP:
    # django-otp's documented way to make the default admin site require a second factor: its login
    # asks for a TOTP token, and a session not verified by a device is treated as not staff.
    admin.site.__class__ = OTPAdminSite

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
    path("healthz", views.healthz, name="healthz"),
    path("healthz/feed", views.healthz_feed, name="healthz-feed"),
    path("", include("sync.urls")),
    # django-rq's dashboard, for superusers and the django_rq.admin permission only (portal/admin_rq.py).
    path("admin/rq/", include((rq_dashboard_urlpatterns(), "django_rq"))),
    path("admin/", admin.site.urls),
]

if settings.BENCH_VIEWS:  # the benchmarks' baseline view (bench/ingest.py); never on in production
    urlpatterns.append(path("_bench/", include("portal.bench_views")))
