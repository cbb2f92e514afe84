"""gunicorn settings the diary needs whatever the command line says (gunicorn reads this
file from the working directory): Prometheus metrics shared by every worker, and proxy
headers trusted only as DIARY_TRUSTED_PROXIES says."""

import os
import shutil
import tempfile

# X-Forwarded-* are the app's to judge (ProxyFix, by DIARY_TRUSTED_PROXIES hops), as under
# `diary serve`: gunicorn itself believes no one, not even 127.0.0.1.
forwarded_allow_ips = ""

# Each worker writes its request counts here and a scrape of any worker adds them up
# (prometheus-client's multiprocess mode). Set before the app is imported.
_made = None
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    _made = tempfile.mkdtemp(prefix="diary-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = _made


def on_starting(server):
    folder = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    os.makedirs(folder, exist_ok=True)
    for name in os.listdir(folder):  # a previous run's counts are not this run's
        os.remove(os.path.join(folder, name))


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    if _made:
        shutil.rmtree(_made, ignore_errors=True)
