"""Stock and price upload (VARIO's UPLOAD_ARTICLE_STOCK and UPLOAD_ARTICLE_PRICE) as transfer types.

Every existing channel gets both toggles, switched off, as a new channel does (mappings.services.
transfer_toggles_ensure): a channel connected for orders must not start overwriting VTEX's stock and prices
before its catalog settings are done. Backwards, the two toggles are deleted.
"""

from django.db import migrations, models

NEW_TYPES = ("upload_article_stock", "upload_article_price")


def toggles_off_for_existing_channels(apps, schema_editor):
    SalesChannel = apps.get_model("mappings", "SalesChannel")
    TransferToggle = apps.get_model("mappings", "TransferToggle")
    db = schema_editor.connection.alias
    have = set(TransferToggle.objects.using(db).filter(sync_type__in=NEW_TYPES).values_list("channel_id", "sync_type"))
    TransferToggle.objects.using(db).bulk_create(
        [
            TransferToggle(channel_id=channel_id, sync_type=sync_type, enabled=False)
            for channel_id in SalesChannel.objects.using(db).values_list("pk", flat=True)
            for sync_type in NEW_TYPES
            if (channel_id, sync_type) not in have
        ]
    )


def toggles_removed(apps, schema_editor):
    TransferToggle = apps.get_model("mappings", "TransferToggle")
    TransferToggle.objects.using(schema_editor.connection.alias).filter(sync_type__in=NEW_TYPES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("mappings", "0010_saleschannel_connector_secret"),
    ]

    operations = [
        migrations.AlterField(
            model_name="transfertoggle",
            name="sync_type",
            field=models.CharField(
                choices=[
                    ("order_status_upload", "Order status upload (ERP → VTEX)"),
                    ("tracking_upload", "Tracking upload (ERP → VTEX)"),
                    ("cancellation_upload", "Cancellation upload (ERP → VTEX)"),
                    ("returns_upload", "Returns upload (ERP → VTEX)"),
                    ("order_download", "Order download (VTEX → ERP)"),
                    ("marketplace_status", "Marketplace status (Channel Order API)"),
                    ("upload_article_stock", "Stock upload (ERP → VTEX, UPLOAD_ARTICLE_STOCK)"),
                    ("upload_article_price", "Price upload (ERP → VTEX, UPLOAD_ARTICLE_PRICE)"),
                ],
                max_length=30,
            ),
        ),
        migrations.RunPython(toggles_off_for_existing_channels, toggles_removed),
    ]
