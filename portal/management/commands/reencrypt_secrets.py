"""Re-encrypt every stored secret with the first key of FIELD_ENCRYPTION_KEY (the key rotation's last step).

Run after setting ``FIELD_ENCRYPTION_KEY=<new>,<old>``; once it reports nothing left under an old key,
drop the old one. Prints counts per field, never a value. Safe to run again.
"""

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from portal.fields import encrypted_values_reencrypt


class Command(BaseCommand):
    help = "Re-encrypt every stored secret (EncryptedTextField) with the first key of FIELD_ENCRYPTION_KEY."

    def handle(self, *args, **options):
        try:
            counts = encrypted_values_reencrypt()
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc)) from None
        for count in counts:
            self.stdout.write(
                f"{count.label}: {count.reencrypted} re-encrypted, {count.current} already under the first key, "
                f"{count.empty} empty"
            )
        self.stdout.write(
            self.style.SUCCESS("Every stored secret is encrypted with the first key; older keys can be dropped.")
        )
