"""Job intervals as django-q2 cron expressions.

django-q2 has no seconds schedule type, but its CRON type goes through croniter, which
accepts a sixth field for seconds. The next run is computed from the wall clock, so the
runs stay on fixed slots (:00, :05, ...) instead of drifting by each run's lateness. The
price is that an interval must divide a minute, an hour or a day evenly.
"""

VALID_EXAMPLES = (
    "1-6, 10, 12, 15, 20, 30 s; 60, 120, 300, 600, 900, 1800 (whole minutes dividing an hour); "
    "3600, 7200, ... 86400 (whole hours dividing a day)"
)


def cron_for_interval(seconds: int) -> str:
    """Return the cron expression that fires every `seconds`, or raise ValueError."""
    if seconds <= 0:
        raise ValueError("an interval must be a positive number of seconds")
    if seconds < 60 and 60 % seconds == 0:
        return f"* * * * * */{seconds}"
    if seconds % 60 == 0 and seconds < 3600 and 60 % (seconds // 60) == 0:
        return f"*/{seconds // 60} * * * *"
    if seconds % 3600 == 0 and seconds <= 86400 and 24 % (seconds // 3600) == 0:
        hours = seconds // 3600
        return "0 0 * * *" if hours == 24 else f"0 */{hours} * * *"
    raise ValueError(
        f"{seconds} s does not divide a minute, an hour or a day evenly; valid: {VALID_EXAMPLES}"
    )
