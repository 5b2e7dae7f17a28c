"""The warehouse map (VARIO storage → VTEX warehouse) and the price table map (VTEX price table ← VARIO price
group) of a channel."""

import django.core.validators
import django.db.models.deletion
from django.db import migrations, models

import mappings.models


class Migration(migrations.Migration):
    dependencies = [
        ("mappings", "0012_catalogsettings"),
    ]

    operations = [
        migrations.CreateModel(
            name="WarehouseMapping",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                (
                    "vario_storage_id",
                    models.CharField(
                        max_length=20,
                        validators=[django.core.validators.RegexValidator("^[0-9]+\\Z", "A VARIO id is a number.")],
                        verbose_name="VARIO storage id",
                    ),
                ),
                (
                    "vtex_warehouse_id",
                    models.CharField(
                        help_text="Exactly as VTEX lists it (Logistics: warehouses); upper and lower case count.",
                        max_length=100,
                        validators=[mappings.models.validate_vtex_id],
                        verbose_name="VTEX warehouse id",
                    ),
                ),
                (
                    "channel",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="warehouse_mappings",
                        to="mappings.saleschannel",
                    ),
                ),
            ],
            options={
                "ordering": ["channel__code", "vtex_warehouse_id", "vario_storage_id"],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("channel", "vario_storage_id"),
                        name="warehousemapping_one_warehouse_per_storage",
                        violation_error_message="This channel already maps this VARIO storage: a storage goes to one VTEX warehouse only.",
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="PriceTableMapping",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                (
                    "vtex_price_table",
                    models.CharField(
                        help_text="A trade policy id or price table name exactly as VTEX lists it (Pricing: price tables).",
                        max_length=50,
                        validators=[mappings.models.validate_vtex_id],
                        verbose_name="VTEX price table",
                    ),
                ),
                (
                    "vario_price_group_id",
                    models.CharField(
                        max_length=20,
                        validators=[django.core.validators.RegexValidator("^[0-9]+\\Z", "A VARIO id is a number.")],
                        verbose_name="VARIO price group id",
                    ),
                ),
                (
                    "price_mode",
                    models.CharField(
                        blank=True,
                        choices=[("gross", "Gross"), ("net", "Net")],
                        help_text="Gross or net for this table; empty: the channel's price mode.",
                        max_length=10,
                    ),
                ),
                (
                    "channel",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="price_table_mappings",
                        to="mappings.saleschannel",
                    ),
                ),
            ],
            options={
                "ordering": ["channel__code", "vtex_price_table"],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("channel", "vtex_price_table"),
                        name="pricetablemapping_unique_per_channel",
                        violation_error_message="This channel already maps this VTEX price table.",
                    )
                ],
            },
        ),
    ]
