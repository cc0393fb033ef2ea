"""What `make run` and `make demo` run: Redis, the set-up commands, then honcho (Procfile).

    python -m goldsocial.launcher [--procfile Procfile] [--demo-seed]

1. Redis. REDIS_URL set (environment or .env): it must answer, or the run stops at once
   naming it; an explicit URL is never replaced. Unset and a server answers at the default
   address: that one. Unset and nothing answers: a private server (goldsocial/embedded_redis.py)
   on a free port of its own, whose URL the children get as REDIS_URL.
2. preflight, migrate, (demo_seed), collectstatic, each in turn; the first failure ends the run.
3. honcho with the Procfile, until it ends or the run is stopped.
4. On any exit: honcho first (it stops web and worker), then the private server, which the
   worker's stop still uses.

Stopping. Ctrl-C and SIGTERM to the process group reach make and this launcher; honcho and the
private server have process groups of their own, so only the launcher signals them, in the
order above. A SIGTERM to make alone reaches make's own child only: the launcher (before, a
shell was that child, and honcho with web and worker kept running). When make is gone
otherwise (SIGKILL), the launcher's parent changes, and it stops the same way. On Linux
honcho and the server also get SIGTERM from the kernel when the launcher dies, SIGKILL
included; a server left over anyway is found by its pid file and replaced by the next run.
"""

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from dotenv import dotenv_values

from goldsocial import embedded_redis

BASE_DIR = Path(__file__).resolve().parent.parent
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
SERVER_DIR = BASE_DIR / "var" / "redis"
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def configured_redis_url(environ: dict[str, str]) -> str | None:
    """REDIS_URL as settings will read it (environment first, then the dotenv file), or None."""
    if "REDIS_URL" in environ:
        return environ["REDIS_URL"]
    dotenv_file = environ.get("DOTENV_FILE", str(BASE_DIR / ".env"))
    if dotenv_file and Path(dotenv_file).is_file():
        value = dotenv_values(dotenv_file).get("REDIS_URL")
        if value is not None:
            return value
    return None


class Run:
    def __init__(self) -> None:
        self.parent = os.getppid()
        self.stop_signal: int | None = None
        self.server: embedded_redis.Server | None = None
        self.child: subprocess.Popen | None = None
        self.forwarded = False

    def on_signal(self, signum: int, frame: object) -> None:
        self.stop_signal = self.stop_signal or signum

    def say(self, message: str) -> None:
        print(f"launcher | {message}", flush=True)

    # --- Redis ---------------------------------------------------------------------------
    def redis(self) -> int:
        url = configured_redis_url(dict(os.environ))
        if url is not None:
            try:
                answers = embedded_redis.ping(url, timeout=2)
            except ValueError:
                return 0  # not a Redis URL at all: settings (preflight) name the variable
            if answers:
                return 0
            from goldsocial.env import redact_url

            self.say(f"Redis at {redact_url(url)} (REDIS_URL) does not answer: start it, point REDIS_URL at a "
                     "running server, or leave REDIS_URL unset (environment and .env) to have a private one "
                     "started with the run")
            return 1
        if embedded_redis.ping(DEFAULT_REDIS_URL, timeout=0.5):
            self.say(f"REDIS_URL is unset: using the Redis server answering at {DEFAULT_REDIS_URL}")
            return 0
        binary = embedded_redis.server_binary()
        if binary is None:
            self.say(f"REDIS_URL is unset, nothing answers at {DEFAULT_REDIS_URL}, and there is no server to "
                     f"start: {embedded_redis.INSTALL_HINT}")
            return 1
        try:
            cleared = embedded_redis.clear_stale(SERVER_DIR)
            if cleared:
                self.say(cleared)
            started = time.monotonic()
            self.server = self._start_server(binary)
        except embedded_redis.EmbeddedRedisError as exc:
            self.say(f"embedded Redis: {exc}")
            return 1
        os.environ["REDIS_URL"] = self.server.url
        self.say(f"REDIS_URL is unset and nothing answers at {DEFAULT_REDIS_URL}: started {binary.name} "
                 f"(pid {self.server.popen.pid}) at {self.server.url} in {time.monotonic() - started:.2f} s; "
                 f"its files are in {SERVER_DIR.relative_to(BASE_DIR)}/, its queue is not kept")
        return 0

    def _start_server(self, binary: Path) -> embedded_redis.Server:
        for attempt in range(3):
            port = embedded_redis.free_port()
            try:
                return embedded_redis.start(SERVER_DIR, binary=binary, port=port)
            except embedded_redis.EmbeddedRedisError:
                # Another program may take the free port between the probe and the server's
                # bind; anything else is the server's own problem and is reported as such.
                if attempt == 2 or embedded_redis.port_is_free(port):
                    raise
        raise AssertionError("unreachable")

    # --- children ------------------------------------------------------------------------
    def wait(self, args: list[str], *, own_group: bool = False) -> int:
        """Run `args` to its end; pass a stop on to it once (a signal sent to this process alone,
        or make gone)."""
        hook = embedded_redis._die_with_parent_hook() if own_group else None
        self.child = subprocess.Popen(args, process_group=0 if own_group else None, preexec_fn=hook)
        self.forwarded = False
        try:
            while True:
                try:
                    return self.child.wait(timeout=0.2)
                except subprocess.TimeoutExpired:
                    pass
                if os.getppid() != self.parent and self.stop_signal is None:
                    self.say("make has gone: stopping")
                    self.stop_signal = signal.SIGTERM
                if self.stop_signal is not None and not self.forwarded:
                    # SIGHUP (terminal closed) becomes SIGTERM: honcho has no handler for it.
                    sig = signal.SIGINT if self.stop_signal == signal.SIGINT else signal.SIGTERM
                    self.child.send_signal(sig)
                    self.forwarded = True
        finally:
            self.child = None

    def close(self) -> None:
        if self.server is not None:
            started = time.monotonic()
            embedded_redis.stop(self.server)
            self.say(f"embedded Redis stopped in {time.monotonic() - started:.2f} s")
            self.server = None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m goldsocial.launcher",
                                     description="Redis, set-up commands, then honcho.")
    parser.add_argument("--procfile", default="Procfile")
    parser.add_argument("--demo-seed", action="store_true", help="run demo_seed after migrate")
    options = parser.parse_args(argv)

    run = Run()
    for signum in STOP_SIGNALS:
        signal.signal(signum, run.on_signal)
    python = sys.executable
    bin_dir = os.path.abspath(os.path.dirname(python))
    steps = [["preflight"], ["migrate", "--noinput"], *([["demo_seed"]] if options.demo_seed else []),
             ["collectstatic", "--noinput", "--verbosity", "0"]]
    try:
        code = run.redis()
        for step in steps:
            if code or run.stop_signal is not None:
                break
            code = run.wait([python, "manage.py", *step])
        if not code and run.stop_signal is None:
            os.environ["PATH"] = f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"
            # -e /dev/null: Django reads .env itself, where the environment wins (honcho's .env would win).
            code = run.wait([os.path.join(bin_dir, "honcho"), "start", "-e", "/dev/null", "-f", options.procfile],
                            own_group=True)
    finally:
        run.close()
    if run.stop_signal is not None and not code:
        code = 128 + run.stop_signal
    return code


if __name__ == "__main__":
    sys.exit(main())
