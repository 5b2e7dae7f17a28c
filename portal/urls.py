from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from portal import views

admin.site.site_header = "VARIO ⇄ VTEX portal"
admin.site.site_title = "VARIO ⇄ VTEX portal"
admin.site.index_title = "Integration"

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
    path("healthz", views.healthz, name="healthz"),
    path("healthz/feed", views.healthz_feed, name="healthz-feed"),
    path("", include("sync.urls")),
    path("admin/rq/", include("django_rq.urls")),
    path("admin/", admin.site.urls),
]

if settings.BENCH_VIEWS:  # the benchmarks' baseline view (bench/ingest.py); never on in production
    urlpatterns.append(path("_bench/", include("portal.bench_views")))
