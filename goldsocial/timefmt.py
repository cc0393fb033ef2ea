from datetime import UTC, datetime


def iso_ms(value: datetime | None) -> str | None:
    """ISO-8601 in UTC with milliseconds and a Z, the one time format of the public API."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
