"""Typed readers for environment variables.

Every reader raises ImproperlyConfigured naming the variable, so a bad value stops start-up
with a message an operator can act on instead of failing later somewhere deep.
"""

import ipaddress
import math
import os
import warnings
from typing import overload
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

TRUE = {"1", "true", "yes", "on"}
FALSE = {"0", "false", "no", "off", ""}


# Variables renamed so that every duration says its unit (old name -> new name). The old name
# is still read for one release, with a warning naming the new one; the new one wins when both
# are set. README lists these ("Renamed settings").
RENAMED = {
    "PRICE_FETCHER_INTERVAL": "PRICE_FETCHER_INTERVAL_SECONDS",
    "NEWS_FETCHER_INTERVAL": "NEWS_FETCHER_INTERVAL_SECONDS",
    "PREDICTION_VERIFIER_INTERVAL": "PREDICTION_VERIFIER_INTERVAL_SECONDS",
    "NOTIFICATION_DELIVERY_INTERVAL": "NOTIFICATION_DELIVERY_INTERVAL_SECONDS",
    "REDIS_POOL_TIMEOUT": "REDIS_POOL_TIMEOUT_SECONDS",
    "MARKET_HTTP_CONNECT_TIMEOUT": "MARKET_HTTP_CONNECT_TIMEOUT_SECONDS",
    "MARKET_HTTP_READ_TIMEOUT": "MARKET_HTTP_READ_TIMEOUT_SECONDS",
    "NEWS_CONNECT_TIMEOUT": "NEWS_CONNECT_TIMEOUT_SECONDS",
    "NEWS_READ_TIMEOUT": "NEWS_READ_TIMEOUT_SECONDS",
    "NEWS_TOTAL_TIMEOUT": "NEWS_TOTAL_TIMEOUT_SECONDS",
}
_OLD_NAMES = {new: old for old, new in RENAMED.items()}


class RenamedSettingWarning(FutureWarning):
    """An environment variable set under the name it had before it was renamed."""


def env_source(name: str) -> str:
    """The variable that gives setting `name` its value: its old name when only that is set."""
    old = _OLD_NAMES.get(name)
    if old is not None and name not in os.environ and old in os.environ:
        return old
    return name


def _raw_named(name: str) -> tuple[str, str | None]:
    """(the variable read, its value or None): `name`, or the old name of a renamed variable."""
    source = env_source(name)
    old = _OLD_NAMES.get(name)
    if old is not None and old in os.environ:
        # Shown once per process by the warnings module's own registry (same text, same line):
        # settings are read once, at start-up.
        if source == old:
            message = (f"{old} is renamed {name}: set {name} instead ({old} is read for this release "
                       "only).")
        else:
            message = f"{old} is set but ignored: {name}, its new name, is set too and wins. Remove {old}."
        # stacklevel: the line of settings.py that reads the variable (through _raw and a reader).
        warnings.warn(message, RenamedSettingWarning, stacklevel=4)
    value = os.environ.get(source)
    return source, None if value is None else value.strip()


@overload
def _raw(name: str, default: str) -> tuple[str, str]: ...
@overload
def _raw(name: str, default: None) -> tuple[str, str | None]: ...
def _raw(name: str, default: str | None) -> tuple[str, str | None]:
    source, value = _raw_named(name)
    return source, default if value is None else value


def redact_url(url: str) -> str:
    """`url` with the password of its credentials shown as ***, for text others read (start-up
    errors, /readyz and its log lines).

    Reads the text, not a parsed URL: start-up errors quote URLs that do not parse. Everything
    from the user name's ':' to the last '@' counts as the password, so one holding an unescaped
    '@' or '/' is hidden whole (an '@' later in the URL hides more than the password, never less).
    """
    scheme, sep, rest = url.partition("://")
    userinfo, at, host = rest.rpartition("@")
    user, colon, _ = userinfo.partition(":")
    if not (sep and at and colon):
        return url
    return f"{scheme}://{user}:***@{host}"


def _fail(name: str, value: str, expected: str) -> ImproperlyConfigured:
    return ImproperlyConfigured(f"{name}={redact_url(value)!r} is not valid: expected {expected}.")


@overload
def env_str(name: str, default: str, *, required: bool = False) -> str: ...
@overload
def env_str(name: str, default: None = None, *, required: bool = False) -> str | None: ...
def env_str(name: str, default: str | None = None, *, required: bool = False) -> str | None:
    _, value = _raw(name, default)
    if required and not value:
        raise ImproperlyConfigured(f"{name} is required but not set (see .env.example).")
    return value


def env_bool(name: str, default: bool) -> bool:
    source, value = _raw(name, None)
    if value is None:
        return default
    if value.lower() in TRUE:
        return True
    if value.lower() in FALSE:
        return False
    raise _fail(source, value, "one of true/false/1/0/yes/no/on/off")


def env_int(name: str, default: int, *, minimum: int | None = None,
            maximum: int | None = None) -> int:
    source, value = _raw(name, None)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise _fail(source, value, "a whole number") from None
    if minimum is not None and number < minimum:
        raise _fail(source, value, f"a whole number >= {minimum}")
    if maximum is not None and number > maximum:
        raise _fail(source, value, f"a whole number <= {maximum}")
    return number


def env_float(name: str, default: float, *, minimum: float | None = None) -> float:
    source, value = _raw(name, None)
    if value is None or value == "":
        return default
    try:
        number = float(value)
    except ValueError:
        raise _fail(source, value, "a number") from None
    if not math.isfinite(number) or (minimum is not None and number < minimum):
        raise _fail(source, value, f"a number >= {minimum}")
    return number


def env_list(name: str, default: list[str], *, choices: list[str] | None = None,
             upper: bool = False) -> list[str]:
    source, value = _raw(name, None)
    if value is None:
        return list(default)
    items = [item.strip() for item in value.split(",") if item.strip()]
    if upper:
        items = [item.upper() for item in items]
    if not items:
        raise _fail(source, value, "a comma-separated list with at least one item")
    if choices is not None:
        unknown = [item for item in items if item not in choices]
        if unknown:
            raise _fail(source, value, f"items from {', '.join(choices)} (unknown: {', '.join(unknown)})")
    if len(set(items)) != len(items):
        raise _fail(source, value, "a list without repeated items")
    return items


def env_url(name: str, default: str, *, schemes: tuple[str, ...] = ("http", "https")) -> str:
    source, value = _raw(name, default)
    parts = urlsplit(value)
    if parts.scheme not in schemes or not parts.netloc:
        raise _fail(source, value, f"a URL starting with {' or '.join(s + '://' for s in schemes)}")
    return value.rstrip("/")


def env_networks(name: str) -> list[str]:
    """Comma-separated CIDRs (`10.0.0.0/8,fd00::/8`; a bare address is one host); empty by default."""
    source, value = _raw(name, "")
    networks = []
    for item in (part.strip() for part in value.split(",")):
        if not item:
            continue
        try:
            networks.append(str(ipaddress.ip_network(item, strict=False)))
        except ValueError:
            raise _fail(source, value, f"comma-separated networks such as 127.0.0.0/8 ({item!r} is not one)") from None
    return networks


def env_rate(name: str, default: str) -> str:
    """A throttle rate as Django REST framework reads it: N/second, N/minute, N/hour or N/day."""
    source, value = _raw(name, default)
    value = value or default
    count, _, period = value.partition("/")
    if not count.isdigit() or period[:1] not in {"s", "m", "h", "d"}:
        raise _fail(source, value, "N/second, N/minute, N/hour or N/day")
    return value


def env_percent(name: str, default: float | None, *, ceiling: float) -> float | None:
    """A percentage above 0 and at most `ceiling`; `default` when unset or empty."""
    source, value = _raw(name, None)
    if value is None or value == "":
        return default
    expected = f"a percentage above 0 and at most {ceiling:g}"
    try:
        number = float(value)
    except ValueError:
        raise _fail(source, value, expected) from None
    if not math.isfinite(number) or number <= 0 or number > ceiling:
        raise _fail(source, value, expected)
    return number
