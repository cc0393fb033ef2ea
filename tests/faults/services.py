"""Private Redis and PostgreSQL servers and a loopback quote server for the fault tests.

Each server is a child process started here, on 127.0.0.1 and a free port, and stopped by
its own pid (or, for PostgreSQL, by `pg_ctl` on its own data directory): the shared
services the rest of the suite uses are never touched.
"""

import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import redis

from tests.markets.factories import BASE_URL_SETTINGS
from tests.markets.recorded import quote_body
from tests.processes import free_port, wait_for
from tests.require import require_service


def _postgres_bin() -> Path:
    """The newest installed PostgreSQL's binaries (Debian keeps each major under its number)."""
    installed = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    return installed[-1].parent if installed else Path("/usr/lib/postgresql/<version>/bin")


PG_BIN = _postgres_bin()


class PrivateRedis:
    """A redis-server of our own (no persistence), stoppable and restartable on one port."""

    def __init__(self, log: Path):
        binary = shutil.which("redis-server")
        require_service(binary is not None, "redis-server", "apt-get install redis-server")
        self.binary, self.log_path, self.port = binary, log, free_port()
        self.popen = None
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        log = open(self.log_path, "ab")  # noqa: SIM115 - the child owns it
        self.popen = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no"], stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        wait_for(self.answers, timeout=10, what=f"redis-server on port {self.port}")

    def answers(self) -> bool:
        try:
            return redis.Redis(port=self.port, socket_connect_timeout=0.5).ping()
        except redis.RedisError:
            return False

    def stop(self) -> None:
        if self.popen and self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(10)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(5)


class PrivatePostgres:
    """A PostgreSQL cluster of our own (trust auth, loopback, its own socket directory)."""

    def __init__(self):
        ok = (PG_BIN / "initdb").exists() and shutil.which("runuser") is not None and os.geteuid() == 0
        require_service(ok, f"PostgreSQL binaries in {PG_BIN} and root to run them as postgres",
                        "apt-get install postgresql; run the suite as root (as CI does)")
        # Not under pytest's tmp_path: the postgres user cannot enter root's private directories.
        base = Path(tempfile.mkdtemp(prefix="goldsocial-faults-pg-"))
        self.base = base
        self.dir = base / "pgdata"
        self.sockets = base / "pgsock"
        for path in (self.dir, self.sockets):
            path.mkdir()
        for path in (base, self.dir, self.sockets):
            shutil.chown(path, "postgres")
        self.log_path = base / "postgres.log"
        self.port = free_port()
        self._as_postgres([str(PG_BIN / "initdb"), "-D", str(self.dir), "-A", "trust", "-U", "postgres",
                           "--no-sync"])
        self.pg_ctl("start")

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    def _as_postgres(self, args: list[str]) -> None:
        done = subprocess.run(["runuser", "-u", "postgres", "--", *args], capture_output=True,
                              text=True, timeout=120)
        if done.returncode:
            raise RuntimeError(f"{args[0]} failed ({done.returncode}): {done.stdout}{done.stderr}")

    def pg_ctl(self, action: str) -> None:
        options = f"-p {self.port} -k {self.sockets} -c listen_addresses=127.0.0.1 -c fsync=off"
        args = [str(PG_BIN / "pg_ctl"), "-D", str(self.dir), "-l", str(self.log_path), "-w", "-t", "60"]
        if action in ("stop", "restart"):
            args += ["-m", "fast"]
        self._as_postgres([*args, "-o", options, action])

    def create_database(self, name: str) -> str:
        self._as_postgres([str(PG_BIN / "createdb"), "-h", str(self.sockets), "-p", str(self.port), name])
        return f"postgres://postgres@127.0.0.1:{self.port}/{name}"

    def postmaster_pid(self) -> int:
        return int((self.dir / "postmaster.pid").read_text().split()[0])

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def close(self) -> None:
        try:
            if (self.dir / "postmaster.pid").exists():
                self.pg_ctl("stop")
        finally:
            shutil.rmtree(self.base, ignore_errors=True)


# --- quotes ---------------------------------------------------------------------------------

class QuoteServer:
    """Every provider on one loopback server, answering with fresh recorded bodies.

    `hang` holds paths that never answer (the connection stays open, no byte is sent);
    `trickle` holds paths that send their headers, then one byte of body per second.
    `clock` stamps the quotes: the real time, or the moment a test's cycle runs at.
    """

    def __init__(self):
        self.clock = lambda: datetime.now(UTC)
        self.hang: set[str] = set()
        self.trickle: set[str] = set()
        self.requests: list[str] = []
        self._release = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's naming
                server.requests.append(self.path)
                route = self.path.split("?")[0]
                if route in server.hang:
                    server._release.wait(60)
                    return
                body = quote_body(self.path, now=server.clock())
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if route in server.trickle:
                    for i in range(len(body)):
                        if server._release.wait(1):
                            return
                        self.wfile.write(body[i:i + 1])
                        self.wfile.flush()
                    return
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        # A cycle opens a dozen connections at once: more than http.server's backlog of 5.
        ThreadingHTTPServer.request_queue_size = 64
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def provider_env(self) -> dict:
        return dict.fromkeys(BASE_URL_SETTINGS, self.url)

    def close(self) -> None:
        self._release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


def json_get(url: str, timeout: float = 3) -> tuple[int, dict]:
    import requests

    response = requests.get(url, timeout=timeout)
    return response.status_code, json.loads(response.text or "{}")


def poll(predicate, *, timeout: float, what: str, interval: float = 0.5):
    return wait_for(predicate, timeout=timeout, interval=interval, what=what)


def seconds_since(start: float) -> float:
    return time.monotonic() - start
