"""Settings for processes started by tests and benchmarks: one extra trivial job."""

import os

from goldsocial.settings import *  # noqa: F403

EXTRA_JOBS = {"noop": ("NoopJob", "tests.jobs.noop.run", int(os.environ.get("NOOP_INTERVAL", "1")))}
