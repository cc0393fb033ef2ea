"""What a test does when a service it needs (Redis, PostgreSQL, a binary) is missing."""

import os

import pytest

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def require_service(ok: bool, what: str, how: str) -> None:
    """Fail in CI, skip locally with what to start, when a service a test needs is missing."""
    if ok:
        return
    if IN_CI:
        pytest.fail(f"{what} is not available in CI: {how}")
    pytest.skip(f"{what} is not available: {how}")
