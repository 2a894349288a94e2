"""gunicorn settings for Consentry (used by `make run`; fit for production too)."""

from typing import Any

# The access log never holds the client's address, user agent, referrer or query string:
# a tracker's log must not become a second store of personal data.
accesslog = "-"
access_log_format = '%(t)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'


def post_worker_init(worker: Any) -> None:
    # Without Redis there is no Celery beat: the periodic jobs run inside the web workers.
    from tracker.embedded import scheduler_start

    scheduler_start()


def worker_exit(server: Any, worker: Any) -> None:
    # A worker that stops gracefully ships its spool before it goes (one that is killed
    # leaves the file to the next worker; see tracker/spool.py).
    from tracker.spool import spool_close

    spool_close()
