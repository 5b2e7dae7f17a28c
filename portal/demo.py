"""The demo environment `make run` prepares: an admin login and a sales channel on the sandbox."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction

from mappings.models import CarrierCode, SalesChannel
from mappings.services import status_mappings_load_defaults

DEMO_CARRIERS = [
    (
        "DHL",
        "DHL",
        "https://www.dhl.de/de/privatkunden/dhl-sendungsverfolgung.html?piececode={tracking_number}",
    ),
    ("UPS", "UPS", "https://www.ups.com/track?tracknum={tracking_number}"),
    ("DPD", "DPD", "https://tracking.dpd.de/status/de_DE/parcel/{tracking_number}"),
    ("GLS", "GLS", "https://gls-group.com/DE/de/paketverfolgung?match={tracking_number}"),
    ("HERMES", "Hermes", "https://www.myhermes.de/empfangen/sendungsverfolgung/sendungsinformation#{tracking_number}"),
]


@dataclass(frozen=True)
class DemoEnvironment:
    username: str
    password: str
    channel: SalesChannel


@transaction.atomic
def demo_environment_setup(
    *, username: str, password: str, vtex_base_url: str, vtex_app_key: str, vtex_app_token: str
) -> DemoEnvironment:
    """Idempotent: re-running resets the demo password and keeps everything an operator edited."""
    user_model = get_user_model()
    user, _ = user_model.objects.get_or_create(username=username, defaults={"email": f"{username}@example.com"})
    user.is_staff = user.is_superuser = user.is_active = True
    user.set_password(password)
    user.save()

    channel, created = SalesChannel.objects.get_or_create(
        code="demo",
        defaults={
            "name": "Demo store (sandbox)",
            "vtex_account_name": "demostore",
            "vtex_base_url_override": vtex_base_url,
            "vtex_app_key": vtex_app_key,
            "vtex_app_token": vtex_app_token,
            "vario_sales_channel_id": "7",
            "vario_order_type_id": "12",  # the sandbox seed's CUSTOMER_ORDER type and collective account
            "vario_account_id": "501",
        },
    )
    if created:
        channel.full_clean()
        status_mappings_load_defaults(channel=channel)
        for key, courier, template in DEMO_CARRIERS:
            CarrierCode.objects.create(
                channel=channel,
                erp_carrier_key=key,
                vtex_courier_name=courier,
                tracking_url_template=template,
            )
    return DemoEnvironment(username=username, password=password, channel=channel)
