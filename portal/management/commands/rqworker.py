"""django-rq's rqworker, with the portal's serializer as the default.

Jobs are enqueued with ``settings.RQ_SERIALIZER`` (JSON); a worker started without
``--serializer`` would otherwise try to unpickle them.
"""

from django.conf import settings
from django_rq.management.commands.rqworker import Command as RqWorkerCommand


class Command(RqWorkerCommand):
    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.set_defaults(serializer=settings.RQ_SERIALIZER)
