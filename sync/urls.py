from django.urls import path, re_path

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
    # Last: every other path under /webhooks/ is a JSON 404, not Django's HTML page (nor an APPEND_SLASH
    # redirect), so that senders and scanners get the answer every webhook gives.
    re_path(r"^webhooks(?:/(?P<unrouted>.*))?$", webhooks.not_found, name="webhook-not-found"),
]
