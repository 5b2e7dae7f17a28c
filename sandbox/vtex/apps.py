from django.apps import AppConfig


class SandboxVtexConfig(AppConfig):
    name = "sandbox.vtex"
    label = "sandbox_vtex"
    verbose_name = "Sandbox: VTEX"
