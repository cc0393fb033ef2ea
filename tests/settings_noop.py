"""Settings for processes started by tests and benchmarks: extra trivial jobs."""

import os

from goldsocial.settings import *  # noqa: F403

EXTRA_JOBS = {
    "noop": ("NoopJob", "tests.jobs.noop.run", int(os.environ.get("NOOP_INTERVAL", "1"))),
    # Never scheduled by the tests (they keep it disabled); run on demand to keep a worker busy.
    "sleepy": ("SleepyJob", "tests.jobs.noop.sleep", 60),
}
