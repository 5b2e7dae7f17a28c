"""The portal's RQ worker class (portal/worker.py), as `manage.py rqworker` builds it."""

import django_rq

from portal.worker import PortalWorker


def test_the_worker_tries_to_start_its_scheduler_as_often_as_the_setting_says(settings, redis_conn):
    settings.RQ_MAINTENANCE_INTERVAL_SECONDS = 7

    worker = django_rq.get_worker("default")

    assert isinstance(worker, PortalWorker)
    assert worker.maintenance_interval == 7
