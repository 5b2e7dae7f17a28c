from django.urls import path

from sync import hooks, webhooks

urlpatterns = [
    path("webhooks/order-status-change", webhooks.order_status_change, name="webhook-order-status-change"),
    path("webhooks/vario/<str:event>", webhooks.vario_event, name="webhook-vario"),
    # <secret>: the channel's connector secret, sent to VTEX inside connectorEndpoint (reference §7).
    path(
        "webhooks/vtex/<slug:channel_code>/<str:secret>/order-integration/notification/processing-result",
        webhooks.channel_order_notification,
        name="webhook-channel-order-notification",
    ),
    path("webhooks/vtex/<slug:channel_code>/orders", hooks.vtex_order_hook, name="webhook-vtex-orders"),
]
