"""Anonymous reads, throttled per client address, so reading everything costs the reader; and
sign-in attempts, per client address and per username.

The address is REMOTE_ADDR (REST_FRAMEWORK's NUM_PROXIES is 0, so a client-sent
X-Forwarded-For is never believed); behind a proxy, uvicorn's --proxy-headers with
--forwarded-allow-ips puts the client's address there. An IPv6 client counts as its /64 (see
`client_key`). Signed-in users are not throttled on reads; their writes have their own
per-user rates.
"""

import hashlib
import ipaddress
import logging

from django.conf import settings
from rest_framework.permissions import SAFE_METHODS
from rest_framework.throttling import AnonRateThrottle, SimpleRateThrottle

logger = logging.getLogger(__name__)


def client_key(address: str) -> str:
    """What an allowance per client address is kept under: an IPv4 address, or an IPv6 /64.

    One subscriber's IPv6 network is a /64, and a host there can take any of its 2**64
    addresses: counted one by one, each would bring a fresh allowance.
    """
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


class AnonReadThrottle(AnonRateThrottle):
    """Every public read: ANON_READ_RATE per client address."""

    scope = "anon_read"
    setting = "ANON_READ_RATE"

    def get_rate(self):
        # Read when the request comes, not at import as DRF's own rates are.
        return getattr(settings, self.setting)

    def get_ident(self, request):
        return client_key(super().get_ident(request))

    def applies(self, request) -> bool:
        return request.method in SAFE_METHODS

    def allow_request(self, request, view):
        if not self.applies(request):
            return True
        try:
            return super().allow_request(request, view)
        except Exception:
            # The throttle lives in Redis; while Redis is away, reads go on (they fall back
            # to the database) rather than fail with the throttle.
            logger.warning("read throttle unavailable, request let through", exc_info=True)
            return True


class AnonSearchThrottle(AnonReadThrottle):
    """News searches, which the cache does not hold: ANON_SEARCH_RATE per client address."""

    scope = "anon_search"
    setting = "ANON_SEARCH_RATE"

    def applies(self, request) -> bool:
        return super().applies(request) and bool(request.query_params.get("search", "").strip())


class SignInAddressThrottle(SimpleRateThrottle):
    """Sign-in attempts (POST /api/auth/token/): AUTH_TOKEN_RATE per client address."""

    scope = "auth_token"
    setting = "AUTH_TOKEN_RATE"

    def get_rate(self):
        return getattr(settings, self.setting)

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": client_key(self.get_ident(request))}


class SignInUsernameThrottle(SignInAddressThrottle):
    """Sign-in attempts for one username from any address: AUTH_TOKEN_USERNAME_RATE.

    Whoever guesses one user's password from many addresses gets no more tries than from one.
    Counted under a digest of the name as typed, case and outer spaces aside, so that neither
    "Alice" nor " alice" is a fresh allowance and no client text becomes a cache key.
    """

    scope = "auth_token_username"
    setting = "AUTH_TOKEN_USERNAME_RATE"

    def get_cache_key(self, request, view):
        username = request.data.get("username") if hasattr(request.data, "get") else None
        if not isinstance(username, str) or not username.strip():
            return None  # refused by the serializer with a field error, nothing to guess
        digest = hashlib.sha256(username.strip().casefold().encode()).hexdigest()
        return self.cache_format % {"scope": self.scope, "ident": digest}
