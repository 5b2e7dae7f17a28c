from django.urls import path

from sandbox.vtex import control, views

ORDER = "api/oms/pvt/orders/<str:order_id>"
CHANGES = "api/order-system/orders/<str:order_id>/changes"

urlpatterns = [
    path("api/oms/pvt/orders", views.order_list),
    path(ORDER, views.order_detail),
    path(f"{ORDER}/start-handling", views.start_handling),
    path(f"{ORDER}/cancel", views.cancel),
    path(f"{ORDER}/invoice", views.invoice),
    path(f"{ORDER}/invoice/<path:rest>", views.invoice_item),
    path(f"{ORDER}/changes", views.changes_deprecated),
    path("api/orders/pvt/document/<str:order_id>/deny-cancellation-request", views.deny_cancellation),
    path(CHANGES, views.order_changes),
    path(f"{CHANGES}/preview", views.order_changes_preview),
    path(f"{CHANGES}/<str:request_id>", views.order_change_detail),
    path("api/order-integration/orders/status", views.channel_order_status),
    path("api/do/notes", views.do_notes),
    path("_sim/vtex/accounts", control.accounts),
    path("_sim/vtex/orders", control.orders),
    path("_sim/vtex/orders/bulk", control.orders_bulk),
    path("_sim/vtex/orders/<str:order_id>", control.order_state),
    path("_sim/vtex/orders/<str:order_id>/status", control.order_status),
    path("_sim/vtex/orders/<str:order_id>/request-cancellation", control.order_request_cancellation),
]
