"""Anonymous reads, throttled per client address, so reading everything costs the reader.

The address is REMOTE_ADDR (REST_FRAMEWORK's NUM_PROXIES is 0, so a client-sent
X-Forwarded-For is never believed); behind a proxy, uvicorn's --proxy-headers with
--forwarded-allow-ips puts the client's address there. An IPv6 client counts as its /64 (see
`client_key`). Signed-in users are not throttled on reads; their writes have their own
per-user rates.
"""

import ipaddress
import logging

from django.conf import settings
from rest_framework.permissions import SAFE_METHODS
from rest_framework.throttling import AnonRateThrottle

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
