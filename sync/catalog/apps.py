from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "sync.catalog"
    label = "catalog"
    verbose_name = "Stock and prices"
