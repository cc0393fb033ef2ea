"""Recorded feeds (tests/fixtures/news) for the news tests, the time they are read at, and serving them."""

from datetime import UTC, datetime
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "news"
# The edge-case feeds are dated 29 Nov 2026 08:00 UTC and earlier.
NOW = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
RSS = "application/rss+xml; charset=utf-8"


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def serve(httpserver, path: str, body: bytes, *, content_type: str = RSS, headers: dict | None = None,
          status: int = 200):
    httpserver.expect_request(path).respond_with_data(body, status=status, content_type=content_type,
                                                      headers=headers or {})
