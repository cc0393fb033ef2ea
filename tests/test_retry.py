"""Retry-After and backoff, shared by the news client, push delivery and the quote providers
(goldsocial/retry.py); each caller's own cap is tested with that caller."""

from datetime import UTC, datetime

import pytest

from goldsocial.retry import backoff_seconds, retry_after_seconds

NOW = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
CAP = 3600


@pytest.mark.parametrize(("value", "expected"), [("120", 120), (" 30 ", 30), ("0", 0)])
def test_it_reads_delay_seconds(value, expected):
    assert retry_after_seconds(value, now=NOW, cap=CAP) == expected


def test_it_reads_a_fraction_of_a_second():
    assert retry_after_seconds("1.5", now=NOW, cap=CAP) == 1.5


@pytest.mark.parametrize(("value", "expected"), [
    ("Sun, 29 Nov 2026 09:30:00 GMT", 1800),
    ("Sun, 29 Nov 2026 09:01:00 -0000", 60),
    ("Sun, 29 Nov 2026 10:30:00 +0100", 1800),  # 09:30 GMT
])
def test_it_reads_an_http_date_in_the_future(value, expected):
    assert retry_after_seconds(value, now=NOW, cap=CAP) == expected


@pytest.mark.parametrize("value", ["Sun, 29 Nov 2026 08:00:00 GMT", "Mon, 01 Jan 0001 00:00:00 GMT"])
def test_it_reads_an_http_date_in_the_past_as_no_wait(value):
    assert retry_after_seconds(value, now=NOW, cap=CAP) == 0


@pytest.mark.parametrize("value", [
    "3601",
    "9" * 30,  # more seconds than a timedelta holds
    "9" * 400,  # more than a float holds
    "Fri, 31 Dec 9999 23:59:59 GMT",
])
def test_it_caps_a_wait_longer_than_the_callers_cap(value):
    assert retry_after_seconds(value, now=NOW, cap=CAP) == CAP


@pytest.mark.parametrize("value", [
    None, "", " ", "soon", "-5", "-0.5", "+5", "1e3", "inf", "nan", "0x10", ".5", "5.", "1_000", "30 s",
    "\u0661\u0662",  # digits of another script
    "Sun, 32 Nov 2026 09:30:00 GMT",
])
def test_it_ignores_a_retry_after_it_does_not_understand(value):
    assert retry_after_seconds(value, now=NOW, cap=CAP) is None


@pytest.mark.parametrize(("failures", "expected"), [
    (1, 900), (2, 1800), (5, 14400), (6, 21600), (40, 21600),
    (0, 900),  # before any failure: the first delay
    (10 ** 6, 21600),  # a long run of failures does not overflow
])
def test_it_doubles_the_delay_after_each_failure_up_to_the_cap(failures, expected):
    assert backoff_seconds(failures=failures, first=900, cap=21600) == expected


@pytest.mark.parametrize(("retry_after", "expected"), [(60, 900), (7200, 7200), (0, 900)])
def test_it_never_backs_off_less_than_retry_after_asks(retry_after, expected):
    assert backoff_seconds(failures=1, first=900, cap=21600, retry_after=retry_after) == expected
