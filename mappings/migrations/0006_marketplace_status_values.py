"""Existing marketplace statuses other than the Channel Order API's 'approved' become 'approved'.

Before 0005 the field was free text and sent as it was; VTEX's status update takes only "approved"
(its enum is new/approved, reference/vtex.md §7), so any value someone set meant "approve".
"""

from django.db import migrations


def to_approved(apps, schema_editor):
    StatusMapping = apps.get_model("mappings", "StatusMapping")
    StatusMapping.objects.exclude(marketplace_status__in=["", "approved"]).update(marketplace_status="approved")


class Migration(migrations.Migration):
    dependencies = [("mappings", "0005_marketplace_status_choices")]

    operations = [migrations.RunPython(to_approved, migrations.RunPython.noop)]
