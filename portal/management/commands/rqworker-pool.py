"""django-rq's rqworker-pool, with the portal's serializer as the default (see rqworker)."""

import importlib

from django.conf import settings

_base = importlib.import_module("django_rq.management.commands.rqworker-pool")


class Command(_base.Command):
    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.set_defaults(serializer=settings.RQ_SERIALIZER)
