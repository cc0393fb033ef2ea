"""Start and stop the project's real processes (qcluster, the ASGI server) for tests.

Each process is started in its own session and stopped by its own pid: the tests never
touch processes they did not start.
"""

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

import psutil
import time_machine
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


def child_database_url() -> str:
    """The DATABASE_URL of the test database pytest-django created, for child processes."""
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{settings['NAME']}"
    user = settings["USER"] or "postgres"
    password = f":{settings['PASSWORD']}" if settings["PASSWORD"] else ""
    host = f"{settings['HOST'] or '127.0.0.1'}:{settings['PORT'] or 5432}"
    return f"postgres://{user}{password}@{host}/{settings['NAME']}"


def python_path() -> str:
    """A child's PYTHONPATH: the project, then ours (a shifted test clock, tests/clock, comes along)."""
    return os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)


def clock_at(at: datetime) -> dict:
    """A child's environment putting its wall clock at `at` when it starts (tests/clock), ticking on.

    From the real time, also when this test process itself runs on a shifted clock.
    """
    hatch = time_machine.escape_hatch
    real = hatch.time.time() if hatch.is_travelling() else time.time()
    return {"TESTS_CLOCK_OFFSET": repr(at.timestamp() - real),
            "PYTHONPATH": os.pathsep.join((str(ROOT / "tests" / "clock"), python_path()))}


def child_env(**extra) -> dict:
    env = dict(os.environ)
    env.update({
        "DATABASE_URL": child_database_url(),
        "DJANGO_SETTINGS_MODULE": "tests.settings_noop",
        "PYTHONPATH": python_path(),
        "PYTHONUNBUFFERED": "1",
    })
    env.update({k: str(v) for k, v in extra.items()})
    return env


class Process:
    def __init__(self, args: list[str], *, env: dict, log: Path):
        self.log_path = log
        self._log = open(log, "wb")  # noqa: SIM115 - closed in stop()
        self.popen = subprocess.Popen(args, cwd=ROOT, env=env, stdout=self._log,
                                      stderr=subprocess.STDOUT, start_new_session=True)
        # Every pid that was ever part of this process tree (a cluster's workers are
        # replaced over time): what a JobRun's pid is matched against to tell clusters apart.
        self.tree_pids: set[int] = {self.popen.pid}
        threading.Thread(target=self._watch_tree, daemon=True).start()

    def _watch_tree(self) -> None:
        root = psutil.Process(self.popen.pid)
        while self.popen.poll() is None:
            with contextlib.suppress(psutil.Error):
                self.tree_pids.update(child.pid for child in root.children(recursive=True))
            time.sleep(0.2)

    def stop(self, sig=signal.SIGINT, timeout: float = 30) -> int:
        if self.popen.poll() is None:
            self.popen.send_signal(sig)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)  # its own session: only what it started
                self.popen.wait(10)
        self._log.close()
        return self.popen.returncode

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")


def start_qcluster(log: Path, **env) -> Process:
    return Process([sys.executable, "manage.py", "qcluster"], env=child_env(**env), log=log)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def open_descriptors(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def tcp_connections_to(pid: int, port: int) -> int:
    """TCP sockets of process `pid` whose remote end is `port` (Redis' port, say), from /proc."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:  # closed meanwhile
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:["):-1])
    count = 0
    for table in ("tcp", "tcp6"):
        path = Path(f"/proc/{pid}/net/{table}")
        if not path.exists():  # no IPv6 on this machine
            continue
        for line in path.read_text().splitlines()[1:]:
            fields = line.split()  # sl, local, remote, state, ..., inode (the 10th)
            if int(fields[2].rsplit(":", 1)[1], 16) == port and fields[9] in inodes:
                count += 1
    return count


def wait_for(predicate, *, timeout: float, interval: float = 0.2, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def assert_clusters_took_part(clusters: list[Process], *, job: str) -> None:
    """Each cluster's ticker won some of the job's slots (it says how many when it stops), and
    every run was done by a worker of one of them. Which cluster's worker runs a task is the
    broker's choice: with Redis, one cluster's pusher can take every task of a 1 s job."""
    from jobs.models import JobRun

    for cluster in clusters:
        won = re.search(rf"enqueued=\S*\b{re.escape(job)}:(\d+)", cluster.output())
        assert won and int(won.group(1)) > 0, cluster.output()
    run_pids = set(JobRun.objects.filter(job_id=job).values_list("pid", flat=True))
    assert run_pids <= set().union(*(cluster.tree_pids for cluster in clusters))
