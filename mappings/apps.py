from django.apps import AppConfig


class MappingsConfig(AppConfig):
    name = "mappings"
    verbose_name = "Configuration"

    def ready(self) -> None:
        from mappings import signals  # noqa: F401
