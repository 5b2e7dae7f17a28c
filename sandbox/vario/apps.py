from django.apps import AppConfig


class SandboxVarioConfig(AppConfig):
    name = "sandbox.vario"
    label = "sandbox_vario"
    verbose_name = "Sandbox: VARIO ERP"

    def ready(self) -> None:
        from sandbox.registry import on_reset, register_caller_resolver, register_header_provider
        from sandbox.vario.auth import rate_limit_caller
        from sandbox.vario.seed import vario_seed
        from sandbox.vario.webhooks import DELIVERY_KIND, webhook_headers

        on_reset(vario_seed)
        register_header_provider(DELIVERY_KIND, webhook_headers)
        register_caller_resolver(rate_limit_caller)
