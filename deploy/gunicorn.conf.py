"""gunicorn settings for the web processes, as measured by `make bench` (bench/results/)."""

import os

bind = os.environ.get("BIND", "127.0.0.1:8000")
worker_class = "gthread"
# One process per core; threads cover the time a request waits on the database.
workers = int(os.environ.get("WEB_WORKERS", os.cpu_count() or 2))
threads = int(os.environ.get("WEB_THREADS", 4))
# WeChat gives up after 5 s: a request still running after 4 s is already lost.
timeout = 30
graceful_timeout = 20
keepalive = 5
backlog = 2048
# Recycle workers now and then so a slow leak never grows without bound.
max_requests = 20000
max_requests_jitter = 2000
accesslog = None  # the app logs one structured line per request itself
errorlog = "-"
loglevel = "warning"
wsgi_app = "bot:create_app()"
