"""The shifted test clock (TESTS_CLOCK, tests/clock/) that `make test-calendar` runs under."""

import json
import os
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import time_machine

ROOT = Path(__file__).resolve().parent.parent
SATURDAY = "2026-12-05T12:00:00Z"
# A test run under TESTS_CLOCK (tests.environment), which reads its clock only after a pause and
# then asks a process it starts: a clock that began ticking at its first reading would lag by
# the pause, and the two would disagree.
RUN_AND_CHILD = """
import json, subprocess, sys, time
import tests.environment
time.sleep(1.5)
mine = time.time()
child = float(subprocess.run([sys.executable, "-c", "import time; print(time.time())"],
                             capture_output=True, text=True, check=True).stdout)
print(json.dumps([mine, child, time.time()]))
"""


def _run(code: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in ("TESTS_CLOCK", "TESTS_CLOCK_OFFSET")}
    return subprocess.run([sys.executable, "-c", code], env={**clean, **env}, cwd=ROOT,
                          capture_output=True, text=True, timeout=60)


def test_it_runs_the_tests_and_the_processes_they_start_on_one_shifted_clock():
    result = _run(RUN_AND_CHILD, TESTS_CLOCK=SATURDAY)
    assert result.returncode == 0, result.stderr
    mine, child, after = json.loads(result.stdout)

    target = datetime.fromisoformat(SATURDAY).timestamp()
    assert target + 1.5 <= mine < target + 30  # Saturday, and ticking from the start
    assert mine <= child <= after  # the child read its clock between the two readings


def test_it_leaves_the_clock_alone_without_tests_clock():
    # The real time, also when this test itself runs on a shifted clock.
    hatch = time_machine.escape_hatch
    real = hatch.time.time if hatch.is_travelling() else time.time
    before = real()
    result = _run("import time, tests.environment; print(time.time())")
    assert result.returncode == 0, result.stderr
    assert before <= float(result.stdout) <= real()


def test_it_refuses_a_clock_without_its_offset_from_utc():
    result = _run("import tests.environment", TESTS_CLOCK="2026-12-05 12:00")
    assert result.returncode != 0
    assert "TESTS_CLOCK='2026-12-05 12:00'" in result.stderr and "2026-12-05T12:00:00Z" in result.stderr
