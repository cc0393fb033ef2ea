"""How long to wait before asking a server again: its Retry-After header, and our own backoff.

Feeds, push services and quote providers answer a rate limit or an outage with Retry-After.
Each caller says how long it is willing to wait (`cap`): a header asking for a year, or for
more seconds than a timedelta holds, must neither park a feed or a notification for good nor
crash the run that read it.
"""

import email.utils
import re
from datetime import UTC, datetime

# delay-seconds: whole seconds by the RFC; some servers send a fraction, which is as clear.
# ASCII digits only (\d would take other scripts' digits, which float() reads).
_DELAY_SECONDS = re.compile(r"[0-9]+(?:\.[0-9]+)?")
# 2 ** 64 times any first delay is past every cap; a bound keeps the power small.
_MAX_DOUBLINGS = 64


def retry_after_seconds(value: str | None, *, now: datetime, cap: float) -> float | None:
    """Seconds to wait from a Retry-After header, at most `cap`.

    Takes delay-seconds ("120", or "1.5") or an HTTP date (GMT; a date in the past means no
    wait). None when the header is absent or not understood (garbage, a negative or signed
    number): the caller then waits as its own backoff says.
    """
    if not value:
        return None
    value = value.strip()
    if _DELAY_SECONDS.fullmatch(value):
        seconds = float(value)  # a run of hundreds of digits is inf: capped below
    else:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, OverflowError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - now).total_seconds()
    return min(max(seconds, 0.0), float(cap))


def backoff_seconds(*, failures: int, first: float, cap: float, retry_after: float | None = None) -> float:
    """The wait after `failures` failures in a row: `first`, doubled after each further one, at
    most `cap`; never shorter than `retry_after` (a server's, already capped by its reader)."""
    delay = min(first * 2.0 ** min(max(failures - 1, 0), _MAX_DOUBLINGS), float(cap))
    if retry_after is not None:
        delay = max(delay, retry_after)
    return delay
