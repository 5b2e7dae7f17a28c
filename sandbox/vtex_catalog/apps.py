from django.apps import AppConfig


class SandboxVtexCatalogConfig(AppConfig):
    name = "sandbox.vtex_catalog"
    label = "sandbox_vtex_catalog"
    verbose_name = "Sandbox: VTEX Catalog, Logistics and Pricing"

    def ready(self) -> None:
        from sandbox.registry import on_reset
        from sandbox.vtex_catalog.seed import catalog_seed

        on_reset(catalog_seed)
