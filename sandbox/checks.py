from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.security, deploy=True)
def sandbox_not_in_production(app_configs, **kwargs):
    if settings.SANDBOX_ENABLED:
        return [
            Error(
                "The sandbox (VTEX and VARIO simulators) is enabled.",
                hint="Set SANDBOX_ENABLED=0 in production: the simulators accept any order and have no real auth.",
                id="sandbox.E001",
            )
        ]
    return []
