"""The SKU mapping: a channel's VARIO article ↔ VTEX SKU, with the match's state and what was last sent."""

import django.core.validators
import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("mappings", "0013_warehouse_and_price_table_maps"),
    ]

    operations = [
        migrations.CreateModel(
            name="SkuMapping",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                (
                    "vario_article_id",
                    models.CharField(
                        max_length=20,
                        validators=[django.core.validators.RegexValidator("^[0-9]+\\Z", "A VARIO id is a number.")],
                        verbose_name="VARIO article id",
                    ),
                ),
                ("article_number", models.CharField(blank=True, max_length=100)),
                ("ean", models.CharField(blank=True, max_length=50, verbose_name="EAN")),
                (
                    "vtex_sku_id",
                    models.PositiveIntegerField(
                        blank=True,
                        null=True,
                        validators=[
                            django.core.validators.MinValueValidator(1),
                            django.core.validators.MaxValueValidator(2147483647),
                        ],
                        verbose_name="VTEX SKU id",
                    ),
                ),
                (
                    "matched_by",
                    models.CharField(
                        blank=True,
                        choices=[("refid", "RefId = article number"), ("ean", "EAN"), ("manual", "By hand")],
                        max_length=10,
                    ),
                ),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("mapped", "Mapped"),
                            ("unmapped", "Unmapped"),
                            ("ambiguous", "Ambiguous"),
                            ("inactive", "Inactive in VTEX"),
                        ],
                        default="unmapped",
                        max_length=10,
                    ),
                ),
                ("last_checked_at", models.DateTimeField(blank=True, null=True, verbose_name="last matched at")),
                (
                    "last_stock_sent",
                    models.JSONField(
                        blank=True,
                        default=dict,
                        help_text="The last inventory update VTEX accepted, per VTEX warehouse id.",
                    ),
                ),
                ("last_stock_at", models.DateTimeField(blank=True, null=True, verbose_name="stock last sent at")),
                (
                    "last_price_sent",
                    models.JSONField(blank=True, default=dict, help_text="The last price VTEX accepted."),
                ),
                ("last_price_at", models.DateTimeField(blank=True, null=True, verbose_name="price last sent at")),
                (
                    "message",
                    models.TextField(
                        blank=True, help_text="Why the article is not mapped, or what the last match found."
                    ),
                ),
                (
                    "channel",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="sku_mappings",
                        to="mappings.saleschannel",
                    ),
                ),
            ],
            options={
                "verbose_name": "SKU mapping",
                "ordering": ["channel__code", "vario_article_id"],
                "indexes": [
                    models.Index(fields=["channel", "status", "id"], name="skumapping_channel_status_idx"),
                    models.Index(fields=["status"], name="skumapping_status_idx"),
                ],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("channel", "vario_article_id"),
                        name="skumapping_unique_article",
                        violation_error_message="This channel already has a SKU mapping for this VARIO article.",
                    ),
                    models.UniqueConstraint(
                        condition=models.Q(("vtex_sku_id__isnull", False)),
                        fields=("channel", "vtex_sku_id"),
                        name="skumapping_unique_sku",
                        violation_error_message="Another article of this channel is already mapped to this VTEX SKU.",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            models.Q(("status", "mapped"), _negated=True),
                            ("vtex_sku_id__isnull", False),
                            _connector="OR",
                        ),
                        name="skumapping_mapped_has_sku",
                        violation_error_message="A mapped article needs its VTEX SKU id.",
                    ),
                ],
            },
        ),
    ]
