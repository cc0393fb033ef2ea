"""Bad settings stop start-up with a message naming the variable."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from goldsocial.env import RENAMED, RenamedSettingWarning, env_bool, env_float, env_int, env_list, env_url, redact_url

ROOT = Path(__file__).resolve().parent.parent


def _start(**env):
    """Import the settings in a fresh interpreter, as `manage.py` would."""
    environment = {k: v for k, v in os.environ.items() if k not in env}
    environment.update({"DEBUG": "true", **env})
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT, env={k: v for k, v in environment.items() if v is not None},
        capture_output=True, text=True, timeout=60,
    )


@pytest.mark.parametrize(("variable", "value", "says"), [
    ("DATABASE_URL", "mysql://root@localhost/x", "DATABASE_URL"),
    ("DATABASE_URL", "not a url", "DATABASE_URL"),
    ("REDIS_URL", "http://127.0.0.1:6379", "REDIS_URL"),
    ("DEBUG", "maybe", "DEBUG"),
    ("PRICE_FETCHER_INTERVAL_SECONDS", "7", "PRICE_FETCHER_INTERVAL_SECONDS"),
    ("NEWS_FETCHER_INTERVAL_SECONDS", "soon", "NEWS_FETCHER_INTERVAL_SECONDS"),
    ("PREDICTION_VERIFIER_INTERVAL_SECONDS", "0", "PREDICTION_VERIFIER_INTERVAL_SECONDS"),
    ("MARKET_SYMBOLS", "XAUUSD,DOGEUSD", "DOGEUSD"),
    ("PRICE_STALENESS_SECONDS", "-1", "PRICE_STALENESS_SECONDS"),
    ("QCLUSTER_WORKERS", "0", "QCLUSTER_WORKERS"),
    ("LOG_LEVEL", "LOUD", "LOG_LEVEL"),
    ("QCLUSTER_BROKER", "rabbitmq", "QCLUSTER_BROKER"),
    ("REDIS_MAX_CONNECTIONS", "0", "REDIS_MAX_CONNECTIONS"),
    ("REDIS_MAX_CONNECTIONS", "lots", "REDIS_MAX_CONNECTIONS"),
    ("REDIS_POOL_TIMEOUT_SECONDS", "-1", "REDIS_POOL_TIMEOUT_SECONDS"),
    # A renamed variable set under its old name: the message names what the operator set.
    ("PRICE_FETCHER_INTERVAL", "7", "PRICE_FETCHER_INTERVAL=7"),
    ("REDIS_POOL_TIMEOUT", "-1", "REDIS_POOL_TIMEOUT='-1'"),
    ("OUTBOUND_ALLOWED_NETWORKS", "127.0.0.0/8,10.0.0.0/33", "OUTBOUND_ALLOWED_NETWORKS"),
    ("OUTBOUND_ALLOWED_NETWORKS", "localhost", "OUTBOUND_ALLOWED_NETWORKS"),
    ("WS_MAX_CONNECTIONS_PER_IP", "0", "WS_MAX_CONNECTIONS_PER_IP"),
    ("ANON_READ_RATE", "lots", "ANON_READ_RATE"),
    ("ANON_SEARCH_RATE", "10/fortnight", "ANON_SEARCH_RATE"),
    ("PREDICTION_CLOSE_PRICE_MAX_AGE_SECONDS", "0", "PREDICTION_CLOSE_PRICE_MAX_AGE_SECONDS"),
    ("PREDICTION_CLOSE_PRICE_MAX_AGE_SECONDS", "86401", "PREDICTION_CLOSE_PRICE_MAX_AGE_SECONDS"),
    ("PREDICTION_CLOSE_PRICE_MAX_AGE_SECONDS", "15m", "PREDICTION_CLOSE_PRICE_MAX_AGE_SECONDS"),
])
def test_it_stops_start_up_naming_the_bad_variable(variable, value, says):
    result = _start(**{variable: value})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert says in result.stderr.splitlines()[-1]


def test_it_does_not_print_the_database_password():
    result = _start(DATABASE_URL="mysql://root:hunter2@localhost/x")
    assert "DATABASE_URL='mysql://root:***@localhost/x'" in result.stderr
    assert "hunter2" not in result.stderr


def test_it_does_not_print_the_password_of_a_bad_redis_url():
    result = _start(REDIS_URL="http://:hunter2@127.0.0.1:6379/0")
    assert "REDIS_URL='http://:***@127.0.0.1:6379/0' is not valid" in result.stderr
    assert "hunter2" not in result.stderr


@pytest.mark.parametrize(("url", "shown"), [
    ("postgres://app:hunter2@db.example:5432/gs", "postgres://app:***@db.example:5432/gs"),
    ("redis://:hunter2@127.0.0.1:6379/0", "redis://:***@127.0.0.1:6379/0"),
    ("rediss://:hunter2@[::1]:6380/1", "rediss://:***@[::1]:6380/1"),
    ("unix://:hunter2@/run/redis.sock?db=0", "unix://:***@/run/redis.sock?db=0"),
    ("postgres://app:hun@ter2@db/gs", "postgres://app:***@db/gs"),  # an unescaped "@"
    ("postgres://app:hun/ter2@db/gs", "postgres://app:***@db/gs"),  # an unescaped "/"
    ("postgres://app:hunter2@db:port/gs", "postgres://app:***@db:port/gs"),  # does not parse as a URL
    ("mysql://root:hunter2@localhost/x", "mysql://root:***@localhost/x"),
])
def test_it_hides_the_password_of_a_url(url, shown):
    assert redact_url(url) == shown


@pytest.mark.parametrize("url", [
    "postgres://app@db/gs", "redis://127.0.0.1:6379/0", "sqlite:///tmp/db.sqlite3", "not a url", "",
])
def test_it_leaves_a_url_without_a_password_as_it_is(url):
    assert redact_url(url) == url


def test_it_requires_a_secret_key_when_debug_is_off():
    result = _start(DEBUG="false", SECRET_KEY="")
    assert result.returncode != 0
    assert "SECRET_KEY is required" in result.stderr


def test_it_starts_with_the_embedded_defaults():
    result = _start(DATABASE_URL=None, REDIS_URL=None)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(("reader", "value"), [
    (lambda: env_int("X_TEST", 1), "1.5"),
    (lambda: env_int("X_TEST", 1, minimum=2), "1"),
    (lambda: env_float("X_TEST", 1.0), "nan"),
    (lambda: env_float("X_TEST", 1.0), "inf"),
    (lambda: env_float("X_TEST", 1.0, minimum=0), "-0.1"),
    (lambda: env_bool("X_TEST", True), "2"),
    (lambda: env_list("X_TEST", ["a"]), " , "),
    (lambda: env_list("X_TEST", ["a"], choices=["a", "b"]), "a,c"),
    (lambda: env_list("X_TEST", ["a"]), "a,a"),
    (lambda: env_url("X_TEST", "http://x"), "ftp://example.com"),
    (lambda: env_url("X_TEST", "http://x"), "example.com"),
])
def test_the_readers_refuse_bad_values_naming_the_variable(monkeypatch, reader, value):
    monkeypatch.setenv("X_TEST", value)
    with pytest.raises(ImproperlyConfigured, match="X_TEST"):
        reader()


def test_the_readers_parse_good_values(monkeypatch):
    monkeypatch.setenv("X_TEST", " eurusd, btcusd ")
    assert env_list("X_TEST", [], upper=True) == ["EURUSD", "BTCUSD"]
    monkeypatch.setenv("X_TEST", "https://example.com/api/")
    assert env_url("X_TEST", "") == "https://example.com/api"
    monkeypatch.setenv("X_TEST", "Off")
    assert env_bool("X_TEST", True) is False


def _database_options(**env):
    environment = {**os.environ, "DEBUG": "true", **env}
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); from django.conf import settings; "
                               "d = settings.DATABASES['default']; "
                               "print(d.get('OPTIONS', {}).get('pool'), d['CONN_MAX_AGE'], sep='|')"],
        cwd=ROOT, env=environment, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().split("|")


def test_the_web_server_uses_a_connection_pool_on_postgresql():
    pool, max_age = _database_options(DATABASE_URL="postgres://postgres@127.0.0.1:5432/x",
                                      DB_POOL="true", DB_POOL_MAX_SIZE="7")
    assert "'max_size': 7" in pool and max_age == "0"


def test_workers_keep_a_persistent_checked_connection_instead():
    pool, max_age = _database_options(DATABASE_URL="postgres://postgres@127.0.0.1:5432/x",
                                      DB_POOL="false")
    assert pool == "None" and max_age == "600"


def _log_level(**env) -> str:
    environment = {**{k: v for k, v in os.environ.items() if k != "LOG_LEVEL"}, **env}
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); from django.conf import settings; "
                               "print(settings.LOG_LEVEL)"],
        cwd=ROOT, env=environment, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_it_reads_the_dotenv_file_and_the_environment_wins(tmp_path):
    dotenv = tmp_path / ".env"
    dotenv.write_text("LOG_LEVEL=WARNING\n")

    assert _log_level(DOTENV_FILE=str(dotenv)) == "WARNING"
    assert _log_level(DOTENV_FILE=str(dotenv), LOG_LEVEL="ERROR") == "ERROR"


def test_the_suite_and_the_processes_it_starts_read_no_dotenv_file():
    assert os.environ["DOTENV_FILE"] == ""  # inherited by every child process
    assert _log_level() == "INFO"  # the default, whatever a developer's .env says


def test_it_reads_the_allowed_outbound_networks(monkeypatch):
    from goldsocial.env import env_networks

    monkeypatch.setenv("X_TEST", " 127.0.0.0/8, fd00::/8 ,10.1.2.3")
    assert env_networks("X_TEST") == ["127.0.0.0/8", "fd00::/8", "10.1.2.3/32"]
    monkeypatch.delenv("X_TEST")
    assert env_networks("X_TEST") == []


# --- Renamed variables: the old name is read for one release, with a warning ----------------

def _job_intervals(**env):
    """Settings' job intervals and start-up's stderr, in a fresh interpreter (one start-up)."""
    environment = {k: v for k, v in os.environ.items() if k not in RENAMED and k not in RENAMED.values()}
    environment.update({"DEBUG": "true", **env})
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); from django.conf import settings; "
                               "print(settings.JOB_INTERVALS['price_fetcher'])"],
        cwd=ROOT, env=environment, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return int(result.stdout.strip()), result.stderr


def test_it_reads_an_old_name_at_start_up_and_warns_once_naming_the_new_one():
    interval, stderr = _job_intervals(PRICE_FETCHER_INTERVAL="10")

    assert interval == 10
    warnings = [line for line in stderr.splitlines() if "RenamedSettingWarning" in line]
    assert len(warnings) == 1
    assert "PRICE_FETCHER_INTERVAL is renamed PRICE_FETCHER_INTERVAL_SECONDS" in warnings[0]


def test_it_starts_without_a_warning_under_the_new_name():
    interval, stderr = _job_intervals(PRICE_FETCHER_INTERVAL_SECONDS="10")

    assert interval == 10
    assert "RenamedSettingWarning" not in stderr


def test_it_reads_the_new_name_when_both_are_set_and_the_warning_says_so():
    interval, stderr = _job_intervals(PRICE_FETCHER_INTERVAL="10", PRICE_FETCHER_INTERVAL_SECONDS="15")

    assert interval == 15
    assert "PRICE_FETCHER_INTERVAL is set but ignored: PRICE_FETCHER_INTERVAL_SECONDS" in stderr


@pytest.mark.parametrize(("old", "new"), sorted(RENAMED.items()))
def test_it_reads_each_renamed_variable_under_its_old_name_with_a_warning(monkeypatch, old, new):
    monkeypatch.delenv(new, raising=False)
    monkeypatch.setenv(old, "3")

    with pytest.warns(RenamedSettingWarning, match=f"{old} is renamed {new}"):
        assert env_float(new, 1.0) == 3.0


def test_it_refuses_a_bad_value_under_the_old_name_naming_the_old_name(monkeypatch):
    monkeypatch.delenv("NEWS_READ_TIMEOUT_SECONDS", raising=False)
    monkeypatch.setenv("NEWS_READ_TIMEOUT", "soon")

    with pytest.warns(RenamedSettingWarning), \
            pytest.raises(ImproperlyConfigured, match=r"^NEWS_READ_TIMEOUT='soon' is not valid"):
        env_float("NEWS_READ_TIMEOUT_SECONDS", 15.0)


def test_it_ignores_a_bad_value_under_the_old_name_when_the_new_one_is_set(monkeypatch):
    monkeypatch.setenv("NEWS_READ_TIMEOUT", "soon")
    monkeypatch.setenv("NEWS_READ_TIMEOUT_SECONDS", "4")

    with pytest.warns(RenamedSettingWarning, match="NEWS_READ_TIMEOUT is set but ignored"):
        assert env_float("NEWS_READ_TIMEOUT_SECONDS", 15.0) == 4.0


def test_every_renamed_duration_ends_in_seconds():
    assert all(new.endswith("_SECONDS") and new.startswith(old) for old, new in RENAMED.items())


def test_readme_lists_every_rename():
    readme = (ROOT / "README.md").read_text()
    for old, new in RENAMED.items():
        assert f"| `{old}` | `{new}` |" in readme
