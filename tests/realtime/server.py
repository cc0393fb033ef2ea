"""Start the project's ASGI application under uvicorn, as the Procfile does, on a free port."""

import atexit
import contextlib
import functools
import os
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def procfile_web() -> tuple[dict, list[str]]:
    """The environment and uvicorn options of the Procfile's web line: tests run what production runs."""
    line = next(ln for ln in (ROOT / "Procfile").read_text().splitlines() if ln.startswith("web:"))
    words = shlex.split(line.removeprefix("web:"))
    env = {}
    while "=" in words[0]:
        name, _, value = words.pop(0).partition("=")
        env[name] = value
    options, skip = [], False
    for word in words[2:]:  # after "uvicorn goldsocial.asgi:application"
        if skip:
            skip = False
        elif word in ("--host", "--port"):
            skip = True
        else:
            options.append(word)
    return env, options


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@functools.cache
def collected_static() -> str:
    """`collectstatic` with production settings, once per test run, into a temporary folder.

    The servers then serve static files as a release does: hashed names, gzip copies, manifest.
    """
    root = tempfile.mkdtemp(prefix="goldsocial-static-")
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    env = {**os.environ, "DEBUG": "false", "SECRET_KEY": "tests-only", "STATIC_ROOT": root}
    done = subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    if done.returncode:
        raise RuntimeError(f"collectstatic exited with {done.returncode}: {done.stdout}{done.stderr}")
    return root


@contextlib.contextmanager
def uvicorn_server(*, database_url: str, redis_url: str, extra_env: dict | None = None):
    port = free_port()
    procfile_env, procfile_options = procfile_web()
    env = {**os.environ, **procfile_env, "DATABASE_URL": database_url, "REDIS_URL": redis_url,
           "SECRET_KEY": "tests-only", "DEBUG": "false", "ALLOWED_HOSTS": "localhost,127.0.0.1",
           "SECURE_COOKIES": "false", "STATIC_ROOT": collected_static(), **(extra_env or {})}
    cmd = [sys.executable, "-m", "uvicorn", "goldsocial.asgi:application", "--host", "127.0.0.1",
           "--port", str(port), *procfile_options]
    # A file, not a pipe: nobody reads a pipe while the test runs, and a server logging a
    # lot (a Redis outage) would block on a full pipe and stop answering.
    output = tempfile.TemporaryFile()  # noqa: SIM115 - closed below
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                output.seek(0)
                raise RuntimeError(f"uvicorn exited with {proc.returncode}: {output.read().decode(errors='replace')}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("uvicorn did not listen within 30 s") from None
                time.sleep(0.1)
        yield f"127.0.0.1:{port}", proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        output.seek(0)
        proc.log = output.read().decode(errors="replace")
        output.close()
