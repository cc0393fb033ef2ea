"""A trivial job for tests and benchmarks of the scheduler itself."""


def run(*, now):
    return "noop"


def fail(*, now):
    raise RuntimeError("provider said no")
