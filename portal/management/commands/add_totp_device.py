"""Give an admin user a TOTP device (the second factor ADMIN_REQUIRE_OTP asks for).

Prints the device's otpauth:// URL and its QR code once, to be scanned with an authenticator app in
the same session; the admin never shows the key again (OTP_ADMIN_HIDE_SENSITIVE_DATA).
"""

import io

import segno
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from portal.auth import TotpDeviceExists, totp_device_add


class Command(BaseCommand):
    help = "Create a TOTP device for an admin user and print its QR code once (docs/operations.md, Logging in)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="authenticator", help="the device's name in the admin")
        parser.add_argument("--replace", action="store_true", help="delete the user's other TOTP devices first")
        parser.add_argument("--no-qr", action="store_true", help="print the otpauth:// URL only")

    def handle(self, *args, username, name, replace, no_qr, **options):
        try:
            device = totp_device_add(username=username, name=name, replace=replace)
        except get_user_model().DoesNotExist:
            raise CommandError(f"There is no user {username!r}.") from None
        except TotpDeviceExists as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"TOTP device {device.name!r} created for {username}. Scan it now; it is not shown again.")
        if not no_qr:
            # Into a buffer first: the command's stdout wrapper would end every piece segno writes with a newline.
            qr = io.StringIO()
            segno.make(device.config_url, error="m").terminal(out=qr, compact=True)
            self.stdout.write(qr.getvalue(), ending="")
        self.stdout.write(device.config_url)
