from django.urls import path

from sandbox.vtex_feed import views

urlpatterns = [
    path("api/orders/feed/config", views.feed_config),
    path("api/orders/feed", views.feed),
    path("api/orders/hook/config", views.hook_config),
    path("_sim/vtex/feed-faults", views.feed_faults),
    path("_sim/vtex/feed", views.feed_queue),
    path("_sim/vtex/hook-retries", views.hook_retries),
]
