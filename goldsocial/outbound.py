"""Outbound HTTP to URLs that users or third parties choose, which must never reach inside.

Web Push endpoints (any signed-in user registers one), news feed URLs and every redirect a
feed server answers are such URLs. `guarded_session()` is a requests session whose
connections refuse loopback, private, link-local (cloud metadata at 169.254.169.254),
multicast, unspecified, reserved and otherwise non-public addresses, IPv4 and IPv6 alike
(IPv4-mapped, 6to4 and Teredo addresses are judged by the IPv4 address they carry).

The check runs where the socket is opened: the name is resolved once, each address is
judged, and the socket connects to an address that passed, so no second DNS answer can slip
between the check and the connection. A redirect to another host opens a new connection,
checked the same way. TLS still verifies the certificate against the name (SNI and Host are
unchanged).

`OUTBOUND_ALLOWED_NETWORKS` (comma-separated CIDRs) exempts networks: the tests and the
offline demo allow 127.0.0.0/8 for their local servers. The quote providers' base URLs come
from the operator's environment and do not go through here.
"""

import ipaddress
import socket
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError
from urllib3.util.connection import allowed_gai_family
from urllib3.util.timeout import _DEFAULT_TIMEOUT

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class OutboundRefused(ValueError):
    """The URL's host is, or resolves only to, addresses outbound requests may not reach."""


def _allowed_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    from django.conf import settings

    return [ipaddress.ip_network(cidr) for cidr in settings.OUTBOUND_ALLOWED_NETWORKS]


def _embedded_ipv4(address: Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address a 6to4 or Teredo address carries (where its packets end up)."""
    if isinstance(address, ipaddress.IPv4Address):
        return None
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    return None


def address_refusal(value: str) -> str | None:
    """Why an outbound connection to this IP address is refused; None when it may be made."""
    address = ipaddress.ip_address(value)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1 on a dual-stack socket
    if any(address in network for network in _allowed_networks() if network.version == address.version):
        return None
    if address.is_loopback:
        return "a loopback address"
    if address.is_unspecified:
        return "the unspecified address"
    if address.is_link_local:
        return "a link-local address (where cloud metadata services answer)"
    if address.is_multicast:
        return "a multicast address"
    if address.is_private:
        return "a private address"
    if address.is_reserved:
        return "a reserved address"
    if not address.is_global:
        return "not a public address"
    embedded = _embedded_ipv4(address)
    if embedded is not None and (refusal := address_refusal(str(embedded))):
        return f"an address that carries {embedded}, {refusal}"
    return None


def _resolve(host: str, port: int) -> list[tuple]:
    """Every address of `host` that may be reached (getaddrinfo's tuples); OutboundRefused if none.

    Refused addresses are skipped, never tried: a name that answers with a public and a
    private address is only ever reached at the public one.
    """
    infos = socket.getaddrinfo(host, port, allowed_gai_family(), socket.SOCK_STREAM)
    allowed, refused = [], {}
    for info in infos:
        ip = str(info[4][0])
        refusal = address_refusal(ip)
        if refusal is None:
            allowed.append(info)
        else:
            refused[ip] = refusal
    if not allowed:
        if list(refused) == [host]:
            raise OutboundRefused(f"{host} is {refused[host]}")
        raise OutboundRefused(f"{host} resolves to " + "; ".join(f"{ip}, {why}" for ip, why in refused.items()))
    return allowed


def addresses_allowed(host: str, port: int) -> list[tuple]:
    """Every address of `host` that may be reached (getaddrinfo's tuples); OutboundRefused if none.

    For clients that connect to the addresses themselves (the Web Push client's resolver).
    """
    return _resolve(host, port)


def url_refusal(url: str) -> str | None:
    """Why `url` may not be requested, for a form or an API answer; None when it may be.

    A name that does not resolve now is not refused here: it is checked again at each
    connection, which is what protects.
    """
    parts = urlsplit(url)
    if not parts.hostname:
        return "the URL has no host"
    try:
        _resolve(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
    except OutboundRefused as exc:
        return str(exc)
    except (OSError, UnicodeError, ValueError):
        # Not resolvable now; a literal the resolver does not take (a scoped IPv6) is still judged.
        try:
            refusal = address_refusal(parts.hostname)
        except ValueError:
            return None
        return f"{parts.hostname} is {refusal}" if refusal else None
    return None


class _GuardedConnectionMixin:
    """urllib3's connection with `_new_conn` resolving once and connecting to a checked address."""

    # urllib3's HTTPConnection's, which this is mixed into.
    host: str
    port: int
    _dns_host: str
    timeout: Any
    socket_options: Any
    source_address: Any

    def _new_conn(self) -> socket.socket:
        try:
            addresses = _resolve(self._dns_host, self.port)
        except socket.gaierror as exc:
            raise NameResolutionError(self.host, self, exc) from exc  # type: ignore[arg-type]
        except UnicodeError:
            raise OutboundRefused(f"{self.host[:100]!r} is not a valid host name") from None
        error: OSError | None = None
        for family, socktype, proto, _name, sockaddr in addresses:
            sock = socket.socket(family, socktype, proto)
            try:
                for option in self.socket_options or ():
                    sock.setsockopt(*option)
                if self.timeout is not _DEFAULT_TIMEOUT:
                    sock.settimeout(self.timeout)
                if self.source_address:
                    sock.bind(self.source_address)
                sock.connect(sockaddr)
                return sock
            except OSError as exc:
                sock.close()
                error = exc
        if isinstance(error, TimeoutError):
            raise ConnectTimeoutError(
                self, f"Connection to {self.host} timed out. (connect timeout={self.timeout})") from error
        raise NewConnectionError(self, f"Failed to establish a new connection: {error}") from error  # type: ignore[arg-type]


class GuardedHTTPConnection(_GuardedConnectionMixin, HTTPConnection):
    pass


class GuardedHTTPSConnection(_GuardedConnectionMixin, HTTPSConnection):
    pass


class _GuardedHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = GuardedHTTPConnection


class _GuardedHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = GuardedHTTPSConnection


class GuardedAdapter(HTTPAdapter):
    """A transport adapter whose every connection is checked; never through a proxy.

    A proxy would resolve the name itself, out of this check's sight, so the environment's
    HTTP(S)_PROXY is not used for these requests.
    """

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _GuardedHTTPConnectionPool,
                                                   "https": _GuardedHTTPSConnectionPool}

    def send(self, request, **kwargs):
        kwargs["proxies"] = None
        return super().send(request, **kwargs)


def guarded_session(*, schemes: tuple[str, ...] = ("http", "https")) -> requests.Session:
    """A requests session for user-chosen URLs: only `schemes`, every connection checked."""
    session = requests.Session()
    # Drop requests' own adapters: a scheme that is not mounted here is refused by requests.
    session.adapters.clear()
    for scheme in schemes:
        session.mount(f"{scheme}://", GuardedAdapter())
    return session

