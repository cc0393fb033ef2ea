"""Loaded by pytest before Django (`-p tests.environment` in pyproject.toml).

Tests never touch a developer's data: Redis database 15 unless REDIS_URL says otherwise.
"""

import os

# The developer's .env is not read (here and in every process a test starts): tests of
# defaults test the defaults.
os.environ["DOTENV_FILE"] = ""
os.environ.setdefault("SECRET_KEY", "tests-only-not-secret")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")  # the test client speaks plain HTTP
# The tests' feed and push servers listen on loopback, which outbound requests otherwise refuse.
os.environ.setdefault("OUTBOUND_ALLOWED_NETWORKS", "127.0.0.0/8")

# TESTS_CLOCK=2026-12-05T12:00:00Z runs the tests as if it were then (a Saturday, a holiday),
# with the clock ticking on: this process and every process it starts (tests/clock/).
_clock = os.environ.get("TESTS_CLOCK")
if _clock and "TESTS_CLOCK_OFFSET" not in os.environ:
    import importlib
    import time
    from datetime import datetime
    from pathlib import Path

    try:
        _target = datetime.fromisoformat(_clock)
    except ValueError:
        _target = None
    if _target is None or _target.tzinfo is None:
        raise SystemExit(f"TESTS_CLOCK={_clock!r}: expected an ISO time with its offset, as 2026-12-05T12:00:00Z")
    os.environ["TESTS_CLOCK_OFFSET"] = repr(_target.timestamp() - time.time())
    _here = str(Path(__file__).resolve().parent / "clock")
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (_here, os.environ.get("PYTHONPATH")) if p)
    importlib.import_module("tests.clock.sitecustomize")
