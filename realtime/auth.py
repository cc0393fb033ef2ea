"""Who is on a /ws/notifications/ socket: a DRF token in the Authorization header, else the session.

Browsers send the session cookie by themselves (the Origin check keeps other sites out);
apps send `Authorization: Token <key>`, as on the REST API. A token in the query string is
not accepted: URLs end up in access logs and proxies.
"""

from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware


@database_sync_to_async
def _user_for_token(key: str):
    from rest_framework.authtoken.models import Token

    token = Token.objects.select_related("user").filter(key=key).first()
    if token is None or not token.user.is_active:
        return None
    return token.user


@database_sync_to_async
def token_exists(key: str) -> bool:
    from rest_framework.authtoken.models import Token

    return Token.objects.filter(key=key).exists()


def _authorization(scope) -> bytes | None:
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            return value
    return None


class TokenAuthMiddleware(BaseMiddleware):
    """Sets scope["user"] from `Authorization: Token <key>` when that header is present."""

    async def __call__(self, scope, receive, send):
        header = _authorization(scope)
        if header is not None:
            scope = dict(scope)
            scheme, _, key = header.decode("latin1").strip().partition(" ")
            user = await _user_for_token(key.strip()) if scheme.lower() == "token" and key.strip() else None
            if user is None:
                from django.contrib.auth.models import AnonymousUser

                scope["user"] = AnonymousUser()
                scope["auth_error"] = "the Authorization header is not a valid 'Token <key>'"
            else:
                scope["user"] = user
                # The socket joins this token's group, so revoking the token closes it.
                scope["auth_token"] = key.strip()
        return await super().__call__(scope, receive, send)


def TokenOrSessionAuth(inner):  # noqa: N802 - named like Channels' AuthMiddlewareStack
    # The session stack runs first; a token header, when present, decides instead of it.
    return AuthMiddlewareStack(TokenAuthMiddleware(inner))
