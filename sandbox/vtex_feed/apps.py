from django.apps import AppConfig


class SandboxVtexFeedConfig(AppConfig):
    name = "sandbox.vtex_feed"
    label = "sandbox_vtex_feed"
    verbose_name = "Sandbox: VTEX feed and hook"
