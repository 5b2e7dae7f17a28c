import logging

from django.core.management.base import BaseCommand

from portal.cron import PortalCronScheduler


class Command(BaseCommand):
    help = "Run the periodic jobs (RQ cron): the inbox sweep and other housekeeping. One per deployment."

    def add_arguments(self, parser):
        parser.add_argument("--config", default="sync.cron", help="cron config module (default: sync.cron)")

    def handle(self, *args, **options):
        level = logging.DEBUG if options["verbosity"] > 1 else logging.INFO
        scheduler = PortalCronScheduler(logging_level=level)
        scheduler.load_config_from_file(options["config"])
        self.stdout.write(f"Periodic jobs: {', '.join(j.func.__name__ for j in scheduler.get_jobs())}")
        scheduler.start()
