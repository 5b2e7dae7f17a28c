"""gunicorn settings; each can be overridden by the environment (WEB_BIND, WEB_WORKERS, ...)."""

import os

bind = os.environ.get("WEB_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_WORKERS", "2"))
threads = int(os.environ.get("WEB_THREADS", "2"))
worker_class = "gthread"
timeout = int(os.environ.get("WEB_TIMEOUT", "30"))
graceful_timeout = 20
keepalive = 5
# Each process gets its own listening socket and the kernel spreads new connections over them. With a
# shared socket, whichever process wakes first takes a connection, and a few keep-alive clients (VARIO
# retrying, a load balancer) can pile onto one process while the other core idles.
reuse_port = True
accesslog = "-"
errorlog = "-"
# Never log query strings or headers: they may carry tokens.
access_log_format = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(M)sms'
# Paths are logged with the connector secret of the Channel Order notification URL masked, in the
# access log and in the error log ("Error handling request <uri>" and its traceback) alike.
logger_class = "portal.access_log.RedactingLogger"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
