"""The one HTTP client for news feeds: polite, bounded, and with one error type.

Fetching with requests (not feedparser's own fetcher) gives timeouts, a size cap and
connection reuse; feedparser then reads the bytes. Feed URLs and their redirects are chosen by
others, so every connection goes through goldsocial.outbound (no internal addresses).
"""

import threading
import time
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urljoin

import requests

from goldsocial.outbound import OutboundRefused, guarded_session
from goldsocial.retry import retry_after_seconds
from news.content import is_http_url

MAX_REDIRECTS = 5
# However long a server asks us to wait, we look again after a day.
MAX_RETRY_AFTER_SECONDS = 24 * 3600
CHUNK = 64 * 1024


class FeedFetchError(Exception):
    """A feed could not be fetched. `retry_after` (seconds) when the server asked for a pause."""

    def __init__(self, message: str, *, status: int | None = None, retry_after: float | None = None):
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


@dataclass(frozen=True)
class FeedResponse:
    status: int  # 200, or 304 when the feed has not changed since the validators we sent
    body: bytes
    url: str  # after redirects: the base for relative links
    content_type: str
    etag: str
    last_modified: str



class FeedClient:
    def __init__(self, *, connect_timeout: float, read_timeout: float, max_bytes: int, user_agent: str,
                 total_timeout: float = 60.0, max_redirects: int = MAX_REDIRECTS):
        self.timeout = (connect_timeout, read_timeout)
        # requests' read timeout bounds each wait for a byte, not the whole body: a server
        # dripping a byte every few seconds would hold a fetch thread for ever without this.
        self.total_timeout = total_timeout
        self.max_bytes = max_bytes
        self.user_agent = user_agent
        self.max_redirects = max_redirects
        # requests.Session is not documented as thread-safe: one per fetching thread, each
        # keeping its connections alive across the feeds that thread fetches.
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls) -> "FeedClient":
        from django.conf import settings

        return cls(connect_timeout=settings.NEWS_CONNECT_TIMEOUT, read_timeout=settings.NEWS_READ_TIMEOUT,
                   max_bytes=settings.NEWS_MAX_FEED_BYTES, user_agent=settings.NEWS_USER_AGENT,
                   total_timeout=settings.NEWS_TOTAL_TIMEOUT)

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = guarded_session()
            with self._lock:
                self._sessions.append(session)
            session.headers["User-Agent"] = self.user_agent
            session.headers["Accept"] = (
                "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.1")
        return session

    def fetch(self, url: str, *, etag: str = "", last_modified: str = "", now: datetime) -> FeedResponse:
        if not is_http_url(url):
            raise FeedFetchError(f"not an http(s) URL: {url[:200]!r}")
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        session = self._session()
        deadline = time.monotonic() + self.total_timeout
        # Redirects are followed by hand so that each hop's scheme is checked before it is
        # requested (a feed must not send us to file:, ftp: or anything else); each hop's
        # address is checked when its connection opens.
        for _hop in range(self.max_redirects + 1):
            try:
                response = session.get(url, headers=headers, timeout=self.timeout, stream=True,
                                       allow_redirects=False)
            except OutboundRefused as exc:
                raise FeedFetchError(f"refused: {exc}") from None
            except requests.Timeout as exc:
                raise FeedFetchError(f"timed out: {exc}") from None
            except requests.RequestException as exc:
                raise FeedFetchError(f"{type(exc).__name__}: {exc}") from None
            with response:
                if response.is_redirect:
                    location = response.headers.get("Location", "")
                    target = urljoin(url, location)
                    if not is_http_url(target):
                        raise FeedFetchError(f"redirect to a non-http URL refused: {location[:200]!r}",
                                             status=response.status_code)
                    url = target
                    continue
                return self._read(response, url=url, now=now, deadline=deadline)
        raise FeedFetchError(f"more than {self.max_redirects} redirects")

    def _read(self, response: requests.Response, *, url: str, now: datetime, deadline: float) -> FeedResponse:
        status = response.status_code
        if status == 304:
            # Reading the (empty) body lets the connection go back to the pool for the next
            # feed; closing an unread response would drop it.
            _ = response.content
            return FeedResponse(304, b"", url, "", response.headers.get("ETag", ""),
                                response.headers.get("Last-Modified", ""))
        if status in (429, 503):
            retry_after = retry_after_seconds(response.headers.get("Retry-After"), now=now,
                                              cap=MAX_RETRY_AFTER_SECONDS)
            raise FeedFetchError(f"HTTP {status} {response.reason}" +
                                 (f", retry after {retry_after:.0f} s" if retry_after is not None else ""),
                                 status=status, retry_after=retry_after)
        if status != 200:
            raise FeedFetchError(f"HTTP {status} {response.reason}", status=status)
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise FeedFetchError(f"feed too large: {int(declared)} bytes declared, limit {self.max_bytes}",
                                 status=status)
        chunks, size = [], 0
        try:
            # Counted after decompression, so a small gzip bomb is stopped as well.
            for chunk in response.iter_content(CHUNK):
                size += len(chunk)
                if size > self.max_bytes:
                    raise FeedFetchError(f"feed too large: over {self.max_bytes} bytes, stopped reading",
                                         status=status)
                chunks.append(chunk)
                if time.monotonic() > deadline:
                    raise FeedFetchError(f"too slow: body not complete after {self.total_timeout:g} s "
                                         f"({size} bytes read)", status=status)
        except requests.RequestException as exc:
            raise FeedFetchError(f"reading the body failed: {type(exc).__name__}: {exc}", status=status) from None
        return FeedResponse(200, b"".join(chunks), url, response.headers.get("Content-Type", ""),
                            response.headers.get("ETag", ""), response.headers.get("Last-Modified", ""))

    def close(self) -> None:
        with self._lock:
            sessions, self._sessions = self._sessions, []
        for session in sessions:
            session.close()
