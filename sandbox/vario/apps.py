from django.apps import AppConfig


class SandboxVarioConfig(AppConfig):
    name = "sandbox.vario"
    label = "sandbox_vario"
    verbose_name = "Sandbox: VARIO ERP"
