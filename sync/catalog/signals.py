"""Parked stock and price work runs again by itself when its article's SKU is mapped (design §2.4): a mapping
set by hand in the admin or imported. Matching's own bulk writes send no signal; it releases what it maps
itself (``sync.catalog.skus``)."""

from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from mappings.models import SkuMapping, SkuMappingStatus
from sync.catalog.intake import catalog_work_release_parked


@receiver(post_save, sender=SkuMapping, dispatch_uid="sync.catalog.release_on_sku_mapping")
def _sku_mapping_saved(sender, instance: SkuMapping, raw: bool = False, **kwargs) -> None:
    if raw or instance.status != SkuMappingStatus.MAPPED:
        return
    channel, article = instance.channel, instance.vario_article_id
    transaction.on_commit(lambda: catalog_work_release_parked(channel=channel, vario_article_ids=[article]))
