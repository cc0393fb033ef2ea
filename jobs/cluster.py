"""django-q2's Cluster, with a stop that always ends and never schedules past its signal.

django-q2 1.11.1 stops from inside its signal handler: `Cluster.sig_handler` calls
`Cluster.stop`, which sets a multiprocessing Event the Sentinel waits on. When the whole process
group gets SIGTERM (systemd's default KillMode=control-group, honcho, `kill -- -pgid`), the
Sentinel and its children die at once (they keep SIGTERM's default action), and
`multiprocessing.Event.set()` then waits for ever on a condition that a dead process held or
was asleep on. The main process never exits, and the schedule ticker, a thread of it, goes on
enqueueing tasks that other clusters on the same Redis then run (docs/RELIABILITY.md has the
reproduction).

Here the signal handler only records that a stop began and wakes the ticker, which stops at
once; the main thread then stops the Sentinel with a deadline: the stock graceful stop (running
tasks finish) in a helper thread, and after `grace` seconds whatever of the cluster is still
alive is terminated, then killed.
"""

import contextlib
import logging
import signal
import threading
from multiprocessing.process import BaseProcess
from types import FrameType
from typing import Any

import psutil
from django_q.cluster import Cluster

logger = logging.getLogger(__name__)

# The Sentinel's children when it is able to run a task: the monitor, the pusher (which takes
# tasks from the broker) and at least one worker.
MIN_CHILDREN_TO_RUN = 3


class StoppableCluster(Cluster):
    def __init__(self, *args: Any, grace: float = 10.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)  # installs Cluster.sig_handler; replaced below
        self.grace = grace
        self.stopping = threading.Event()
        self.stop_signal: str | None = None
        self._known: dict[int, psutil.Process] = {}
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        # Nothing that can block: the main thread does the stop when it sees the flag.
        self.stop_signal = signal.Signals(signum).name
        self.stopping.set()

    def can_run_tasks(self) -> bool:
        """Whether a task enqueued now would be run by this cluster: not stopping, Sentinel alive
        with its monitor, pusher and a worker. Remembers the processes, to stop them later.

        Called from the ticker thread: it reads /proc (psutil) and never waits on the Sentinel,
        which only the main thread does.
        """
        if self.stopping.is_set() or self.sentinel is None:
            return False
        return len(self._live_children()) >= MIN_CHILDREN_TO_RUN

    def _live_children(self) -> list[psutil.Process]:
        """The Sentinel's live children (none when it is gone), remembered for the stop."""
        try:
            sentinel = psutil.Process(self.sentinel.pid)
            if not _alive(sentinel):
                return []
            live = [child for child in sentinel.children() if _alive(child)]
        except psutil.NoSuchProcess:
            return []
        for child in live:
            self._known.setdefault(child.pid, child)
        return live

    def wait(self, poll: float = 0.5) -> None:
        """Block until a stop signal arrives or the Sentinel dies."""
        while not self.stopping.is_set() and self.sentinel.is_alive():
            self.sentinel.join(poll)

    def stop_within(self) -> str:
        """Stop the Sentinel and its processes, gracefully if they manage within `grace`.

        1. Stop scheduling (the ticker waits on `stopping`).
        2. Sentinel alive: set its stop event from a helper thread (the set itself can block
           for ever, see the module docstring) and give it `grace` seconds to let running
           tasks finish and its children exit.
        3. Whatever is still alive of the Sentinel and of every child seen so far: SIGTERM,
           then SIGKILL after 2 s. A run killed this way is marked lost when its lease is
           taken over.
        Returns how it ended: "graceful", "terminated" or "already down".
        """
        self.stopping.set()
        how = "already down"
        if self.sentinel.is_alive():
            self._live_children()
            threading.Thread(target=self.stop_event.set, name="sentinel-stop", daemon=True).start()
            self.sentinel.join(self.grace)
            how = "graceful"
        leftovers = [process for process in self._known.values() if _alive(process)]
        if self.sentinel.is_alive() or leftovers:
            how = "terminated" if how == "graceful" else how
            logger.warning("qcluster: still running %.0f s after the stop began: terminating the sentinel "
                           "(%s) and %d of its processes", self.grace,
                           "alive" if self.sentinel.is_alive() else "gone", len(leftovers))
            _terminate(leftovers, sentinel=self.sentinel)
        return how


def _alive(process: psutil.Process) -> bool:
    # is_running() also checks the start time, so a reused pid is not taken for our process.
    try:
        return bool(process.is_running() and process.status() != psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return False


def _terminate(processes: list[psutil.Process], *, sentinel: BaseProcess) -> None:
    # The Sentinel is our child: multiprocessing reaps it (psutil must not, or multiprocessing
    # would take it for alive). Its children are not ours: psutil waits for them.
    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.terminate()
    if sentinel.is_alive():
        sentinel.terminate()
    _gone, alive = psutil.wait_procs(processes, timeout=2)
    sentinel.join(2)
    for process in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()
    if sentinel.is_alive():
        sentinel.kill()
    psutil.wait_procs(alive, timeout=2)
    sentinel.join(2)
