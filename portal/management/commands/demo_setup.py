from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from portal.demo import demo_environment_setup


class Command(BaseCommand):
    help = "Create the demo admin login and the demo sales channel (development only)."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="demo")
        parser.add_argument("--password", default="demo")
        parser.add_argument("--vtex-base-url", default="http://127.0.0.1:8001")
        parser.add_argument("--vtex-app-key", default="vtexappkey-demostore-PORTAL")
        parser.add_argument("--vtex-app-token", default="demo-app-token")

    def handle(self, *args, **options):
        if not settings.DEBUG:
            raise CommandError("demo_setup creates a known login and runs only with DEBUG=1.")
        demo = demo_environment_setup(
            username=options["username"],
            password=options["password"],
            vtex_base_url=options["vtex_base_url"],
            vtex_app_key=options["vtex_app_key"],
            vtex_app_token=options["vtex_app_token"],
        )
        self.stdout.write(
            self.style.SUCCESS(f"Demo login: {demo.username} / {demo.password}   sales channel: {demo.channel.code}")
        )
