""".env.example lists every environment variable the settings read, once, and nothing else.

What the settings read is recorded as they read it: a fresh interpreter puts a recording
mapping in place of os.environ and imports goldsocial.settings (every reader in goldsocial/env.py
goes through os.environ), once per configuration whose branches read variables of their own;
the launcher's REDIS_URL lookup is recorded through the mapping it is handed.
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from goldsocial.env import RENAMED

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / ".env.example"
# Variables read once per symbol are listed once, as a pattern.
PER_SYMBOL = ("PRICE_AGREE_PERCENT", "PRICE_MAX_JUMP_PERCENT")
LISTED = re.compile(r"^(?:# )?([A-Z][A-Z0-9_]*(?:<SYMBOL>)?)=")

RECORDER = r"""
import json, os, sys
from collections.abc import MutableMapping

ROOT = sys.argv[1]
read = set()


class Recording(MutableMapping):
    # Only reads made by the project's own code count, not by libraries imported on the way.
    def __init__(self, real):
        self.real = real

    def _note(self, key):
        if sys._getframe(2).f_code.co_filename.startswith(os.path.join(ROOT, "goldsocial")):
            read.add(key)

    def __getitem__(self, key):
        self._note(key)
        return self.real[key]

    def get(self, key, default=None):
        self._note(key)
        return self.real.get(key, default)

    def __contains__(self, key):
        self._note(key)
        return key in self.real

    def __setitem__(self, key, value):
        self.real[key] = value

    def __delitem__(self, key):
        del self.real[key]

    def __iter__(self):
        return iter(self.real)

    def __len__(self):
        return len(self.real)


os.environ = Recording(os.environ)
import goldsocial.settings  # noqa: E402
from goldsocial.launcher import configured_redis_url  # noqa: E402

configured_redis_url(Recording({"DOTENV_FILE": ""}))
print(json.dumps({"read": sorted(read), "symbols": goldsocial.settings.SYMBOLS_ALL}))
"""

# Each configuration takes branches of settings.py that read variables the others do not.
CONFIGURATIONS = {
    "the embedded defaults": {},
    "PostgreSQL with a pool": {"DATABASE_URL": "postgres://postgres@127.0.0.1:5432/x", "DB_POOL": "true"},
}


def _read_by_settings(env: dict[str, str]) -> tuple[set[str], list[str]]:
    # Nothing the tests set may decide a branch: only the variables start-up needs.
    environment = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "PYTHONPATH", "TESTS_CLOCK_OFFSET"}}
    environment.update({"DEBUG": "true", "DOTENV_FILE": "", **env})
    result = subprocess.run([sys.executable, "-c", RECORDER, str(ROOT)], cwd=ROOT, env=environment,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    return set(answer["read"]), answer["symbols"]


@pytest.fixture(scope="module")
def read() -> set[str]:
    """Every variable the settings read, per-symbol ones as their pattern, old names left out."""
    names: set[str] = set()
    for env in CONFIGURATIONS.values():
        found, symbols = _read_by_settings(env)
        names |= found
    per_symbol = {f"{bound}_{symbol}": f"{bound}_<SYMBOL>" for bound in PER_SYMBOL for symbol in symbols}
    # An old name is still read for one release; README lists it ("Renamed settings"), not this file.
    return {per_symbol.get(name, name) for name in names} - set(RENAMED)


def _listed() -> list[str]:
    return [m.group(1) for line in EXAMPLE.read_text().splitlines() if (m := LISTED.match(line))]


def test_it_lists_every_variable_the_settings_read(read):
    assert sorted(read - set(_listed())) == []


def test_it_lists_no_variable_the_settings_never_read(read):
    assert sorted(set(_listed()) - read) == []


def test_it_lists_each_variable_once():
    listed = _listed()
    assert sorted({name for name in listed if listed.count(name) > 1}) == []


def test_it_says_what_each_variable_is_on_the_line_above():
    lines = EXAMPLE.read_text().splitlines()
    bare = [line for above, line in zip(lines, lines[1:], strict=False)
            if LISTED.match(line) and (not above.startswith("# ") or LISTED.match(above))]
    assert bare == []


def test_readme_documents_every_variable_the_settings_read(read):
    readme = (ROOT / "README.md").read_text()
    assert sorted(name for name in read if f"`{name}`" not in readme) == []


def test_it_uses_no_old_name_of_a_renamed_variable():
    assert sorted(set(_listed()) & set(RENAMED)) == []


def test_it_leaves_everything_at_its_default_but_debug_so_make_run_behaves_as_without_it():
    # REDIS_URL in particular stays unset: `make run` then finds or starts a Redis of its own.
    active = [line for line in EXAMPLE.read_text().splitlines() if line and not line.startswith("#")]
    assert active == ["DEBUG=true"]


def test_every_duration_the_settings_read_ends_in_its_unit(read):
    duration = re.compile(r"(INTERVAL|TIMEOUT|TTL|MAX_AGE|GRACE|COOLDOWN|DELAY|RETENTION|BACKOFF)")
    unitless = [name for name in read
                if duration.search(name) and not name.endswith(("_SECONDS", "_DAYS"))]
    assert sorted(unitless) == []
