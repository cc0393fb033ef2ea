"""Loaded at start-up by every Python process of a test run under TESTS_CLOCK (on PYTHONPATH).

Shifts this process's wall clock by TESTS_CLOCK_OFFSET seconds and lets it tick: the test
process and every process it starts (qcluster and its workers, the ASGI server) add the same
offset to the same real time, so they agree on "now" as production processes do. Only the wall
clock moves (time.time, datetime.now): monotonic clocks, and so every timeout and sleep, stay
real. libfaketime cannot do this for Python 3.11: with its monotonic clock faked a thread's
timed wait never returns, without it time.sleep fails with EINVAL.
"""

import os

_offset = os.environ.get("TESTS_CLOCK_OFFSET")
if _offset:
    import time

    import time_machine

    time_machine.travel(time.time() + float(_offset), tick=True).start()
    # time-machine starts the ticking clock at its first reading, not at start(): read it now,
    # or a process that first asks the time seconds later lags the others by those seconds.
    time.time()
