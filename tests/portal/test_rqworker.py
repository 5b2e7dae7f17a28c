import os
import subprocess
import sys

import django_rq
import pytest

from tests.support import stack

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.slow
def test_jobs_run_with_the_job_modules_already_imported(settings, redis_conn):
    """RQ forks a process per job: what the worker imported first, every job gets for free."""
    preloaded = list(settings.RQ_PRELOAD_MODULES)
    assert "sync.outbound" in preloaded and "sync.inbound" in preloaded
    job = django_rq.get_queue("default").enqueue("tests.support.jobs.modules_imported", preloaded)
    env = {**os.environ, "DATABASE_URL": stack.test_database_url(), "REDIS_URL": settings.REDIS_URL}

    subprocess.run(
        [sys.executable, "manage.py", "rqworker", "--burst", "default"],
        cwd=stack.ROOT,
        env=env,
        check=True,
        timeout=120,
        capture_output=True,
    )

    job.refresh()
    assert job.get_status() == "finished", job.latest_result()
    assert job.return_value() == preloaded
