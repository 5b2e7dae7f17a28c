"""django-rq's rqworker-pool, with the portal's serializer as the default and the job modules
preloaded (see rqworker)."""

import importlib

from django.conf import settings

from portal.management.commands.rqworker import job_modules_preload

_base = importlib.import_module("django_rq.management.commands.rqworker-pool")


class Command(_base.Command):
    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.set_defaults(serializer=settings.RQ_SERIALIZER)

    def handle(self, *args, **options):
        job_modules_preload()
        return super().handle(*args, **options)
