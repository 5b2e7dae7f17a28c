"""Parked work runs again by itself when the mapping it waited for is saved (design §2.4)."""

from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from mappings.models import CarrierCode, StatusMapping
from sync.runner import order_syncs_release_parked


@receiver(post_save, sender=StatusMapping, dispatch_uid="sync.release_on_status_mapping")
def _status_mapping_saved(sender, instance: StatusMapping, raw: bool = False, **kwargs) -> None:
    if not raw:
        key = f"status:{instance.erp_state}"
        transaction.on_commit(lambda: order_syncs_release_parked(channel_id=instance.channel_id, needs_mapping=key))


@receiver(post_save, sender=CarrierCode, dispatch_uid="sync.release_on_carrier_code")
def _carrier_code_saved(sender, instance: CarrierCode, raw: bool = False, **kwargs) -> None:
    if not raw:
        key = f"carrier:{instance.erp_carrier_key}"
        transaction.on_commit(lambda: order_syncs_release_parked(channel_id=instance.channel_id, needs_mapping=key))
