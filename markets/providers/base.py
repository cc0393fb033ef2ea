"""What every provider client returns and raises, and the one HTTP path they share."""

import json
import os
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol, runtime_checkable

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from goldsocial.retry import retry_after_seconds
from markets.price import Price

# A quote endpoint answers with a few KB; anything far larger is not the API we know.
MAX_BODY_BYTES = 256 * 1024
# Retry-After beyond this is treated as this: the breaker re-probes after at most an hour.
MAX_RETRY_AFTER_SECONDS = 3600
USER_AGENT = "GoldSocial/0.1 (+price fetcher)"


class ProviderError(Exception):
    """Any failure to get a usable quote.

    `permanent`: asking again soon will not help (geo-block, unknown instrument, the API's
    shape changed); transient failures (timeouts, 5xx, 429, a cut-off body) may pass.
    """

    def __init__(self, source: str, message: str, *, permanent: bool = False,
                 retry_after: float | None = None):
        super().__init__(f"{source}: {message}")
        self.source = source
        self.permanent = permanent
        self.retry_after = retry_after


class Provider(Protocol):
    name: str
    symbols: frozenset[str]
    # False for a feed that never closes (the simulated one), so demo mode moves at weekends.
    follows_market_hours: bool
    # Optional `off_hours_symbols: frozenset[str]`: symbols it quotes while their market is
    # closed (a 24/7 exchange's fiat pairs); the cycle does not use those quotes then.

    def fetch(self, symbol: str, *, now: datetime) -> Price: ...


@runtime_checkable
class BatchProvider(Provider, Protocol):
    """A provider that quotes several symbols in one request (Kraken): one request a cycle."""

    def fetch_many(self, symbols: list[str], *, now: datetime) -> "dict[str, Price | ProviderError]": ...


@dataclass(frozen=True)
class HttpConfig:
    connect_timeout: float = 1.0
    read_timeout: float = 2.0
    retries: int = 1
    pool_size: int = 16


class HttpProvider:
    """A provider reached over HTTP at a configurable base URL (the `*_BASE_URL` settings)."""

    def __init__(self, *, base_url: str, http: HttpConfig):
        self.base_url = base_url.rstrip("/")
        self.http = http


_lock = threading.Lock()
_sessions: dict[tuple[int, HttpConfig], requests.Session] = {}


def http_session(config: HttpConfig) -> requests.Session:
    """One pooled session per process (and config): connections are reused across cycles.

    Keyed by pid because django-q2 forks its workers: a pool inherited across fork would share
    sockets with the parent.
    """
    key = (os.getpid(), config)
    with _lock:
        session = _sessions.get(key)
        if session is None:
            # Connect errors and 5xx are retried with a short backoff. Read timeouts are not:
            # the read timeout already spent most of the cycle's budget. 429 is not either: its
            # Retry-After goes to the circuit breaker instead of sleeping inside a 5 s cycle.
            retry = Retry(
                total=config.retries, connect=config.retries, read=False, status=config.retries,
                other=0, backoff_factor=0.1, backoff_max=0.5,
                status_forcelist=(500, 502, 503, 504), allowed_methods=frozenset({"GET"}),
                raise_on_status=False, respect_retry_after_header=False,
            )
            adapter = HTTPAdapter(pool_connections=8, pool_maxsize=config.pool_size, max_retries=retry)
            session = requests.Session()
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            session.headers.update({"User-Agent": USER_AGENT, "Accept": "application/json"})
            _sessions[key] = session
    return session


def _snippet(body: bytes) -> str:
    text = body[:160].decode("utf-8", "replace")
    return " ".join(text.split())


def get_json(*, source: str, url: str, config: HttpConfig, now: datetime,
             params: dict | None = None) -> Any:
    """GET `url` and decode its JSON (numbers as Decimal), or raise ProviderError."""
    session = http_session(config)
    # The read timeout is per socket read: a server sending a byte a second never trips it.
    # The whole answer must arrive within connect + read timeout, so a trickling provider
    # costs the cycle that much (plus at most one read) and no more.
    deadline = time.monotonic() + config.connect_timeout + config.read_timeout
    try:
        response = session.get(url, params=params, stream=True,
                               timeout=(config.connect_timeout, config.read_timeout))
        try:
            body = b""
            # read1 returns what has arrived instead of waiting for a full chunk.
            while chunk := response.raw.read1(16 * 1024, decode_content=True):
                body += chunk
                if len(body) > MAX_BODY_BYTES:
                    raise ProviderError(source, f"response larger than {MAX_BODY_BYTES} bytes",
                                        permanent=True)
                if time.monotonic() > deadline:
                    raise ProviderError(source, "read timeout (answer too slow)")
        finally:
            response.close()
    except (requests.ConnectTimeout, urllib3.exceptions.ConnectTimeoutError):
        raise ProviderError(source, "connect timeout") from None
    except (requests.Timeout, urllib3.exceptions.ReadTimeoutError):
        raise ProviderError(source, "read timeout") from None
    except (urllib3.exceptions.ProtocolError, urllib3.exceptions.DecodeError):
        raise ProviderError(source, "connection error") from None
    except requests.ConnectionError as exc:
        reason = "connection refused" if "refused" in str(exc).lower() else "connection error"
        raise ProviderError(source, reason) from None
    except requests.RequestException as exc:
        raise ProviderError(source, f"request failed ({type(exc).__name__})") from None

    status = response.status_code
    if status == 429:
        seconds = retry_after_seconds(response.headers.get("Retry-After"), now=now, cap=MAX_RETRY_AFTER_SECONDS)
        hint = f", Retry-After {seconds:g} s" if seconds is not None else ""
        raise ProviderError(source, f"HTTP 429 rate limited{hint}", retry_after=seconds)
    if status >= 500 or status == 408:
        raise ProviderError(source, f"HTTP {status}")
    if status >= 400:
        # 451 (Binance and others answer it to whole regions), 403 CDN geo-blocks, 404 unknown
        # instrument: asking again will not change the answer.
        raise ProviderError(source, f"HTTP {status}: {_snippet(body)}", permanent=True)
    if status != 200:
        raise ProviderError(source, f"unexpected HTTP {status}", permanent=True)

    content_type = response.headers.get("Content-Type", "").lower()
    if "html" in content_type or body.lstrip()[:1] == b"<":
        # Anti-bot challenge pages (Stooq, Cloudflare) answer 200 with HTML.
        raise ProviderError(source, f"HTML page instead of JSON: {_snippet(body)}", permanent=True)
    try:
        return json.loads(body, parse_float=Decimal, parse_int=Decimal,
                          parse_constant=lambda name: Decimal(name.replace("Infinity", "Inf")))
    except (ValueError, InvalidOperation):
        # Most often a body cut off in transit: worth another try next cycle.
        raise ProviderError(source, f"invalid JSON ({len(body)} bytes): {_snippet(body)}") from None


def decimal_field(source: str, value: Any, what: str) -> Decimal:
    """A number from a JSON body (numbers or numeric strings) as Decimal, or ProviderError."""
    if isinstance(value, bool) or value is None:
        raise ProviderError(source, f"{what} is not a number: {value!r}", permanent=True)
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise ProviderError(source, f"{what} is not a number: {value!r}", permanent=True) from None
    # NaN and infinities pass through as values: the trust rules (markets.trust) reject
    # them with the other bad prices. A signalling NaN would raise in arithmetic first.
    return Decimal("NaN") if number.is_snan() else number


def utc_from_ms(source: str, value: Any) -> datetime:
    try:
        return datetime.fromtimestamp(int(value) / 1000, tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError, InvalidOperation):
        raise ProviderError(source, f"timestamp is not epoch milliseconds: {value!r}", permanent=True) from None
