from django.apps import AppConfig


class SandboxVtexConfig(AppConfig):
    name = "sandbox.vtex"
    label = "sandbox_vtex"
    verbose_name = "Sandbox: VTEX"

    def ready(self) -> None:
        from sandbox.registry import on_reset
        from sandbox.vtex.seed import vtex_seed

        on_reset(vtex_seed)
