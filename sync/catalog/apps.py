from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "sync.catalog"
    label = "catalog"
    verbose_name = "Stock and prices"

    def ready(self) -> None:
        from sync.catalog import signals  # noqa: F401 - the release of parked work
        from sync.catalog.checks import catalog_checks_register

        catalog_checks_register()
