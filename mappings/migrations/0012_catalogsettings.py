"""Catalog settings: one row per channel, created for every existing channel with the defaults (a new
channel gets its row when it is created, mappings.signals)."""

import django.core.validators
import django.db.models.deletion
from django.db import migrations, models

import mappings.models


def settings_for_existing_channels(apps, schema_editor):
    SalesChannel = apps.get_model("mappings", "SalesChannel")
    CatalogSettings = apps.get_model("mappings", "CatalogSettings")
    db = schema_editor.connection.alias
    CatalogSettings.objects.using(db).bulk_create(
        [CatalogSettings(channel_id=pk) for pk in SalesChannel.objects.using(db).values_list("pk", flat=True)]
    )


class Migration(migrations.Migration):
    dependencies = [
        ("mappings", "0011_transfertoggle_stock_and_price_upload"),
    ]

    operations = [
        migrations.CreateModel(
            name="CatalogSettings",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                (
                    "stock_field",
                    models.CharField(
                        choices=[
                            ("stockAvailable", "Available (stockAvailable: VARIO's availability determination)"),
                            ("quantityInStock", "Physical (quantityInStock)"),
                        ],
                        default="stockAvailable",
                        help_text="The VARIO stock figure summed over a warehouse's storages. Available is what VARIO's guide recommends pushing: it is already net of the ERP's reservations.",
                        max_length=30,
                    ),
                ),
                (
                    "unlimited_when_sellable_without_stock",
                    models.BooleanField(
                        default=False,
                        help_text="Articles VARIO lists as sellable without stock are sent to VTEX as unlimited stock.",
                    ),
                ),
                (
                    "safety_stock",
                    models.PositiveIntegerField(
                        default=0,
                        help_text="Units held back in every warehouse: VTEX gets max(0, stock − safety stock).",
                    ),
                ),
                (
                    "lead_time",
                    models.CharField(
                        default="00:00:00",
                        help_text="Sent with every stock update, as dd.hh:mm:ss (VTEX resets a missing lead time to 0).",
                        max_length=16,
                        validators=[mappings.models.validate_lead_time],
                    ),
                ),
                (
                    "stock_debounce_seconds",
                    models.PositiveIntegerField(
                        default=5,
                        help_text="A stock change is sent this long after the article's last stock event (a burst is one update).",
                        validators=[django.core.validators.MaxValueValidator(3600)],
                    ),
                ),
                (
                    "price_debounce_seconds",
                    models.PositiveIntegerField(
                        default=10,
                        help_text="A price change is sent this long after the article's last price event.",
                        validators=[django.core.validators.MaxValueValidator(3600)],
                    ),
                ),
                (
                    "price_mode",
                    models.CharField(
                        choices=[("gross", "Gross"), ("net", "Net")],
                        default="gross",
                        help_text="Whether VTEX gets VARIO's gross or net prices (a price table's own mode overrides it).",
                        max_length=10,
                    ),
                ),
                (
                    "base_price_group_id",
                    models.CharField(
                        blank=True,
                        help_text="The VARIO price group whose price becomes VTEX's base price. Required for price upload.",
                        max_length=20,
                        validators=[django.core.validators.RegexValidator("^[0-9]+\\Z", "A VARIO id is a number.")],
                        verbose_name="VARIO base price group id",
                    ),
                ),
                (
                    "list_price_source",
                    models.CharField(
                        choices=[
                            ("none", "None (no list price)"),
                            ("rrp", "Recommended retail price (RRP)"),
                            ("price_group", "A VARIO price group"),
                        ],
                        default="none",
                        help_text="Where VTEX's list price (the struck-through price) comes from. It is sent only when it is above the price.",
                        max_length=20,
                    ),
                ),
                (
                    "list_price_group_id",
                    models.CharField(
                        blank=True,
                        help_text="The VARIO price group of the list price, when its source is a price group.",
                        max_length=20,
                        validators=[django.core.validators.RegexValidator("^[0-9]+\\Z", "A VARIO id is a number.")],
                        verbose_name="VARIO list price group id",
                    ),
                ),
                (
                    "list_price_country",
                    models.CharField(
                        blank=True,
                        help_text="The country of the recommended retail price, when the list price is the RRP (e.g. DEU).",
                        max_length=3,
                        validators=[
                            django.core.validators.RegexValidator(
                                "^[A-Z]{2,3}\\Z",
                                "A country is its ISO code in capitals as VARIO stores it on the RRP, e.g. DEU.",
                            )
                        ],
                        verbose_name="RRP country",
                    ),
                ),
                (
                    "currency",
                    models.CharField(
                        blank=True,
                        help_text="The channel's currency (ISO 4217, e.g. EUR); a VARIO price in another currency is not sent. Required for price upload.",
                        max_length=3,
                        validators=[
                            django.core.validators.RegexValidator(
                                "^[A-Z]{3}\\Z", "A currency is its three-letter ISO 4217 code, e.g. EUR."
                            )
                        ],
                    ),
                ),
                (
                    "channel",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="catalog_settings",
                        to="mappings.saleschannel",
                    ),
                ),
            ],
            options={
                "verbose_name": "catalog settings",
                "verbose_name_plural": "catalog settings",
                "ordering": ["channel__code"],
            },
        ),
        # Backwards the table is dropped, rows and all: nothing to undo first.
        migrations.RunPython(settings_for_existing_channels, migrations.RunPython.noop),
    ]
