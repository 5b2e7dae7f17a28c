"""One sales channel per (VTEX account, app key) in the database too, not only in SalesChannel.clean().

VTEX gives each app key exactly one orders feed and one hook (reference/vtex.md §1), and clean() has
refused a second channel on the same account and key since it was written; the constraint closes the
gap of two saves that both pass clean() at once. Channels without an app key are not constrained.

Existing rows are not changed. Should a database still hold two channels on one account and key
(saved before clean() checked it, or written around it), the migration stops before adding the
constraint and names them: give one of them its own app key in the admin and migrate again. Nothing
is deleted or rewritten, since which channel keeps the key is a person's decision.
"""

from django.db import migrations, models
from django.db.models import Count


def refuse_shared_app_keys(apps, schema_editor):
    SalesChannel = apps.get_model("mappings", "SalesChannel")
    shared = (
        SalesChannel.objects.exclude(vtex_app_key="")
        .values("vtex_account_name", "vtex_app_key")
        .annotate(channels=Count("pk"))
        .filter(channels__gt=1)
    )
    problems = []
    for row in shared:
        codes = SalesChannel.objects.filter(
            vtex_account_name=row["vtex_account_name"], vtex_app_key=row["vtex_app_key"]
        ).order_by("code")
        # The app key is not a secret (only the token is), but the codes say enough to find the rows.
        problems.append(f"account '{row['vtex_account_name']}': {', '.join(c.code for c in codes)}")
    if problems:
        raise RuntimeError(
            "These sales channels share one VTEX app key on one account, which VTEX does not allow (one "
            "orders feed and one hook per key): " + "; ".join(problems) + ". Give each channel its own app "
            "key in the admin, then run the migration again."
        )


class Migration(migrations.Migration):
    dependencies = [
        ("mappings", "0006_marketplace_status_values"),
    ]

    operations = [
        migrations.RunPython(refuse_shared_app_keys, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="saleschannel",
            constraint=models.UniqueConstraint(
                condition=models.Q(("vtex_app_key", ""), _negated=True),
                fields=("vtex_account_name", "vtex_app_key"),
                name="saleschannel_one_channel_per_app_key",
                violation_error_message=(
                    "Another sales channel already uses this app key for this VTEX account. VTEX gives each "
                    "app key exactly one orders feed and one hook, and an event one channel commits is gone "
                    "for the other, so two channels on one key would each miss orders. Create a separate app "
                    "key for this channel in VTEX."
                ),
            ),
        ),
    ]
