from django.apps import AppConfig


class BulkConfig(AppConfig):
    name = "sync.bulk"
    label = "bulk"
    verbose_name = "Bulk runs"
