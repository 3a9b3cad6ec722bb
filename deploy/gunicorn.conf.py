"""gunicorn settings for the web processes, as measured by `make bench` (bench/results/)."""

import os

bind = os.environ.get("BIND", "127.0.0.1:8000")
worker_class = "gthread"
# Two processes per core of two threads each: the threads cover the time a request waits on the database, and the
# processes keep each one's threads few. On this 2-core machine `make bench` measured the keyword reply at 1.02-1.03
# of a bare wechatpy webhook's req/s with 4 x 1 and 4 x 2, and at 0.76 with 2 x 4, the dialogue step alike or better
# (bench/README.md, "Workers and threads").
workers = int(os.environ.get("WEB_WORKERS", 2 * (os.cpu_count() or 1)))
threads = int(os.environ.get("WEB_THREADS", 2))
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
