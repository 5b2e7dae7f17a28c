"""The sandbox server: both simulators on their real paths, plus the control API under /_sim/."""

from django.urls import include, path

from sandbox import control

urlpatterns = [
    path("_sim/reset", control.reset),
    path("_sim/requests", control.request_log),
    path("_sim/faults", control.faults),
    path("_sim/rate-limits", control.rate_limits),
    path("_sim/clock", control.clock_view),
    path("_sim/deliveries", control.deliveries),
    path("_sim/deliveries/dispatch", control.dispatch),
    path("", include("sandbox.vtex.urls")),
    path("", include("sandbox.vtex_feed.urls")),
    path("", include("sandbox.vario.urls")),
    path("", include("sandbox.vtex_catalog.urls")),
]
