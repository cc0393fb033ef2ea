"""A trivial job for tests and benchmarks of the scheduler itself."""


def run(*, now):
    return "noop"


def fail(*, now):
    raise RuntimeError("provider said no")


def sleep(*, now):
    """A run that outlasts any stop grace: what a long news fetch is to a stopping cluster."""
    import time

    time.sleep(120)
    return "slept"
