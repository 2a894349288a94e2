"""gunicorn settings for Consentry, for the benchmark's comparison of server lines
(bench/run.py --server gunicorn-sync or gunicorn-nginx). Production runs scripts/serve."""

from typing import Any

# The access log never holds the client's address, user agent, referrer or query string:
# a tracker's log must not become a second store of personal data.
accesslog = "-"
access_log_format = '%(t)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'


def worker_exit(server: Any, worker: Any) -> None:
    # A worker that stops gracefully ships its spool before it goes (one that is killed
    # leaves the file to the next worker; see tracker/spool.py).
    from tracker.spool import spool_close

    spool_close()
