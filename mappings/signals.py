from django.db.models.signals import post_save
from django.dispatch import receiver

from mappings.models import SalesChannel
from mappings.services import catalog_settings_ensure, transfer_toggles_ensure


@receiver(post_save, sender=SalesChannel, dispatch_uid="mappings.sales_channel_toggles")
def _sales_channel_saved(sender, instance: SalesChannel, created: bool, raw: bool = False, **kwargs) -> None:
    # Fixtures (raw) bring their own toggles and catalog settings.
    if created and not raw:
        transfer_toggles_ensure(channel=instance)
        catalog_settings_ensure(channel=instance)
