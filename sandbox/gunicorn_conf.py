"""gunicorn settings of the sandbox server. One process (the simulators keep per-process rate-limit
windows and one delivery loop), many threads."""

import os

workers = 1
worker_class = "gthread"
threads = int(os.environ.get("SANDBOX_THREADS", "16"))
timeout = 120
graceful_timeout = 5
accesslog = None
errorlog = "-"
loglevel = os.environ.get("SANDBOX_LOG_LEVEL", "warning")


def post_worker_init(worker):
    from sandbox.deliveries import start_dispatcher

    start_dispatcher()
