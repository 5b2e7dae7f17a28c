from django.urls import path

from sandbox.vario import control, views

urlpatterns = [
    # VARIO's contract (reference/vario-erp.md §4)
    path("realms/<str:tenant>/protocol/openid-connect/token", views.token),
    path("api/vario/erp/documents", views.documents),
    path("api/vario/erp/documents/<str:entity_id>", views.document_detail),
    path("api/vario/erp/documents/<str:document_id>/states", views.document_states),
    path("api/vario/erp/document-types/<str:entity_id>", views.document_type_detail),
    path("api/vario/erp/articles/<str:entity_id>", views.article_detail),
    path("api/vario/vds/shipment/<str:entity_id>", views.shipment_detail),
    path("api/vario/cmn/computed-queries/execute", views.computed_query),
    path("api/vario/cmn/system/app-message-webhook/register", views.webhook_register_view),
    path("api/vario/cmn/system/app-message-webhook/deregister", views.webhook_deregister_view),
    path("api/vario/cmn/eav-groups", views.eav_groups),
    path("api/vario/cmn/eav-groups/by-key/<str:key>", views.eav_group_by_key),
    path("api/vario/<path:rest>", views.not_found),
    # control API (docs/sandbox-vario.md)
    path("_sim/vario/credentials", control.credentials),
    path("_sim/vario/faults", control.faults),
    path("_sim/vario/orders", control.orders),
    path("_sim/vario/orders/bulk", control.orders_bulk),
    path("_sim/vario/orders/<str:order_id>", control.order_detail),
    path("_sim/vario/orders/<str:order_id>/picking", control.order_picking),
    path("_sim/vario/orders/<str:order_id>/deliver", control.order_deliver),
    path("_sim/vario/orders/<str:order_id>/cancel", control.order_cancel),
    path("_sim/vario/orders/<str:order_id>/close-remaining", control.order_close_remaining),
    path("_sim/vario/orders/<str:order_id>/cancel-lines", control.order_cancel_lines),
    path("_sim/vario/orders/<str:order_id>/return", control.order_return),
    path("_sim/vario/deliveries/<str:delivery_id>/parcels", control.delivery_parcels),
    path("_sim/vario/webhook-log", control.webhook_log),
    path("_sim/vario/webhooks", control.webhooks),
    path("_sim/vario/eav-groups/<str:key>", control.eav_group),
    path("_sim/vario/articles", control.articles),
    path("_sim/vario/orders/<str:order_id>/state", control.order_state),
    path("_sim/vario/parcels/<str:parcel_id>/events", control.parcel_events),
]
