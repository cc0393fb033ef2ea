"""The Origin check: browsers' sockets must come from one of ALLOWED_HOSTS."""

from channels.security.websocket import OriginValidator
from django.conf import settings


class AllowedHostsOrNoOriginValidator(OriginValidator):
    """Channels' AllowedHostsOriginValidator, except that a socket without Origin is let in.

    Every browser sends Origin on a WebSocket handshake, and only browsers carry ambient
    credentials (cookies) that a foreign page could abuse; the mobile apps and other API
    clients send no Origin, and the stock validator would refuse them all.
    """

    def valid_origin(self, parsed_origin):
        return parsed_origin is None or self.validate_origin(parsed_origin)


def origin_checked(application):
    allowed_hosts = settings.ALLOWED_HOSTS
    if settings.DEBUG and not allowed_hosts:
        allowed_hosts = ["localhost", "127.0.0.1", "[::1]"]
    return AllowedHostsOrNoOriginValidator(application, allowed_hosts)
