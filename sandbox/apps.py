from django.apps import AppConfig


class SandboxConfig(AppConfig):
    name = "sandbox"
    label = "sandbox"
    verbose_name = "Sandbox (simulators)"

    def ready(self) -> None:
        from sandbox import checks, limits  # noqa: F401 - limits: the rule signals
