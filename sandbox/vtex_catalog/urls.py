from django.urls import path

from sandbox.vtex_catalog import control, views

SKU = "api/catalog/pvt/stockkeepingunit"
SKU_SYSTEM = "api/catalog_system/pvt/sku"
WAREHOUSES = "api/logistics/pvt/configuration/warehouses"
INVENTORY = "api/logistics/pvt/inventory"
RESERVATIONS = f"{INVENTORY}/reservations"
PRICE = "pricing/prices/<str:item_id>"
CONTROL = "_sim/vtex/catalog"

pricing = [
    path(PRICE, views.price_route),
    path(f"{PRICE}/fixed", views.fixed_route),
    path(f"{PRICE}/fixed/<str:table>", views.table_fixed_route),
    path("pricing/tables", views.price_tables),
]

urlpatterns = [
    # Catalog (reference §1.2)
    path(f"{SKU_SYSTEM}/stockkeepingunitidbyrefid/<str:ref_id>", views.sku_id_by_ref_id),
    path("api/catalog_system/pub/sku/stockkeepingunitidsbyrefids", views.sku_ids_by_ref_ids),
    path(SKU, views.sku_by_ref_id_query),
    path(f"{SKU}/<str:sku_id>", views.sku_by_id),
    path(f"{SKU}/<str:sku_id>/ean", views.sku_eans),
    path(f"{SKU_SYSTEM}/stockkeepingunitbyid/<str:sku_id>", views.sku_context_by_id),
    path(f"{SKU_SYSTEM}/stockkeepingunitbyean/<str:ean>", views.sku_by_ean),
    path(f"{SKU_SYSTEM}/stockkeepingunitbyalternateId/<str:alternate_id>", views.sku_by_alternate_id),
    path(f"{SKU_SYSTEM}/stockkeepingunitids", views.sku_ids),
    # Logistics (reference §1.3, §1.4)
    path(WAREHOUSES, views.warehouses),
    path(f"{WAREHOUSES}/<str:warehouse_id>", views.warehouse_detail),
    path("api/logistics/pvt/configuration/docks", views.docks),
    path(f"{INVENTORY}/skus/<str:sku_id>", views.inventory_by_sku),
    path(f"{INVENTORY}/skus/<str:sku_id>/warehouses/<str:warehouse_id>", views.inventory_update),
    path(f"{INVENTORY}/items/<str:sku_id>/warehouses/<str:warehouse_id>", views.inventory_in_warehouse),
    path(f"{RESERVATIONS}/<str:reservation_id>", views.reservation_detail),
    path(f"{RESERVATIONS}/<str:warehouse_id>/<str:sku_id>", views.reservations_by_warehouse_and_sku),
    # Pricing (reference §1.5): https://api.vtex.com/{account}/pricing/…, or the bare path on this host
    *pricing,
    *[path(f"<str:account_name>/{p.pattern!s}", p.callback) for p in pricing],
    # Control API
    path(f"{CONTROL}/reset", control.reset),
    path(f"{CONTROL}/skus", control.skus),
    path(f"{CONTROL}/skus/<str:sku_id>", control.sku_detail),
    path(f"{CONTROL}/warehouses", control.warehouses),
    path(f"{CONTROL}/warehouses/<str:warehouse_id>", control.warehouse_detail),
    path(f"{CONTROL}/docks", control.docks),
    path(f"{CONTROL}/inventory", control.inventory_view),
    path(f"{CONTROL}/prices", control.prices),
    path(f"{CONTROL}/price-tables", control.price_tables),
    path(f"{CONTROL}/reservations", control.reservations),
    path(f"{CONTROL}/reservations/<str:reservation_id>/<str:action>", control.reservation_action),
    path(f"{CONTROL}/rate-limits", control.rate_limits),
    path(f"{CONTROL}/faults", control.faults),
    path(f"{CONTROL}/settings", control.settings_view),
]
