"""WebSocket consumers: they join groups and relay what realtime.broadcast sends, and hold the
per-socket rules no service can: the query's filters, the sockets allowed per client address,
the prices' snapshot on connect, and closing a socket whose token was revoked.

Every broadcast arrives as {"type": "relay", "event": <its type>, "frame": <JSON text>}: the
JSON was encoded once when the event was made (realtime.events), so relaying costs no
encoding per client. Bad input gets an error frame {"type": "error", "code": ..., "message":
...} and, on connect, a close code in the 4400 range (see docs/realtime.md).
"""

import json
import logging
from collections import Counter

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.utils import timezone

from goldsocial.throttling import client_key
from realtime import events, metrics, snapshot
from realtime.auth import token_exists
from realtime.fanout import local_groups
from realtime.query import QueryError, prediction_id_parse, query_parse, symbols_parse

logger = logging.getLogger(__name__)

CLOSE_BAD_REQUEST = 4400
CLOSE_UNAUTHENTICATED = 4401
# As HTTP 503: the channel layer (Redis) cannot be reached; the client should retry later.
CLOSE_TRY_AGAIN = 1013
CLOSE_SERVER_ERROR = 1011
# Policy violation: this client address already holds WS_MAX_CONNECTIONS_PER_IP sockets here.
CLOSE_TOO_MANY = 1008
# Frames from clients are tiny (a ping); anything bigger is a mistake or an attack.
MAX_CLIENT_FRAME = 1024


_unknown_types: set[str] = set()
# Open sockets per client address (an IPv6 client: its /64) in this process. The address is
# the ASGI scope's client: behind a proxy it is the proxy's unless uvicorn runs with
# --proxy-headers and --forwarded-allow-ips naming the proxy (docs/DEPLOYMENT.md).
_per_address: Counter = Counter()


class RelayConsumer(AsyncWebsocketConsumer):
    """Base: groups joined after validation, relayed frames, client frames answered, never a traceback."""

    # No layer channel per socket: realtime.fanout joins each group once per process and
    # calls dispatch() of the local consumers, so a broadcast is decoded once per process.
    channel_layer_alias = None
    joined: list[str] = []
    # Group messages that arrive before the socket is accepted and its first frame sent.
    pending: list | None = None
    kind = "other"  # the label of the open-sockets metric
    counted = False
    address: str | None = None  # set while this socket counts against its client address

    async def websocket_connect(self, message):
        # Groups are joined in connect(), after the query string is validated, not before.
        await self.connect()

    async def connect(self):
        client = self.scope.get("client")
        if client:
            address = client_key(client[0])
            if _per_address[address] >= settings.WS_MAX_CONNECTIONS_PER_IP:
                await self.refuse(CLOSE_TOO_MANY, "too_many_connections",
                                  f"at most {settings.WS_MAX_CONNECTIONS_PER_IP} sockets per client address")
                return
            self.address = address
            _per_address[address] += 1
        try:
            groups = await self.groups_for_scope()
        except QueryError as exc:
            await self.refuse(CLOSE_BAD_REQUEST, exc.code, exc.message)
            return
        if groups is None:
            return
        self.pending = []
        self.joined = []
        try:
            for group in groups:
                self.joined.append(group)
                await local_groups().join(group, self)
        except Exception:
            logger.exception("joining %s failed", groups)
            self.leave_groups()
            await self.refuse(CLOSE_TRY_AGAIN, "unavailable", "updates are unavailable right now; reconnect later")
            return
        await self.accept()
        self.counted = True
        metrics.socket_opened(self.kind)
        try:
            await self.on_accepted()
        except Exception:
            logger.exception("%s: the first frame failed", self.scope.get("path"))
            self.leave_groups()
            await self.send(text_data=events.error("unavailable",
                                                   "the server could not read the data; reconnect later"))
            await self.close(code=CLOSE_SERVER_ERROR)
            return
        pending, self.pending = self.pending, None
        for message in pending:
            await self.dispatch(message)

    async def groups_for_scope(self) -> list[str] | None:
        raise NotImplementedError

    async def on_accepted(self):
        pass

    async def refuse(self, close_code: int, code: str, message: str):
        # Accept first: a close before the handshake reaches the client as a bare HTTP 403,
        # while after it the client sees our close code and the error frame explaining it.
        await self.accept()
        await self.send(text_data=events.error(code, message))
        await self.close(code=close_code)

    def leave_groups(self):
        groups = local_groups()
        for group in self.joined:
            groups.leave(group, self)
        self.joined = []

    async def websocket_disconnect(self, message):
        # As Channels' own, less its close_old_connections() thread hop (see dispatch).
        self.leave_groups()
        if self.counted:
            metrics.socket_closed(self.kind)
        if self.address is not None:
            _per_address[self.address] -= 1
            if _per_address[self.address] <= 0:
                del _per_address[self.address]
            self.address = None
        raise StopConsumer()

    async def dispatch(self, message):
        # Channels' dispatch runs close_old_connections() in a thread before every handler:
        # one thread hop per client per broadcast, the largest per-client cost under fan-out.
        # These consumers touch the database only through database_sync_to_async, which
        # closes old connections itself, so dispatch goes straight to the handler. Group
        # messages are all relays (realtime.broadcast); the rest are the socket's own.
        if message["type"] == "relay":
            if self.pending is not None:
                self.pending.append(message)
            else:
                await self.relay(message)
            return
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            # Sent to a group by code that does not use realtime.broadcast: dropped, and said
            # once per type and process rather than once per socket.
            if message["type"] not in _unknown_types:
                _unknown_types.add(message["type"])
                logger.warning("%s: no handler for message type %r; dropped", type(self).__name__, message["type"])
            return
        await handler(message)

    async def relay(self, message):
        await self.base_send({"type": "websocket.send", "text": message["frame"]})

    async def receive(self, text_data=None, bytes_data=None):
        # These sockets are server-to-client; a client may only ping (keep-alive through
        # proxies that close idle connections). Anything else is answered, never fatal.
        if text_data is None or len(text_data) > MAX_CLIENT_FRAME:
            await self.send(text_data=events.error("bad_message", 'send only text frames such as {"type": "ping"}'))
            return
        try:
            content = json.loads(text_data)
        except ValueError:
            content = None
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send(text_data=events.PONG)
            return
        await self.send(text_data=events.error(
            "bad_message", 'this socket only sends; the one message it accepts is {"type": "ping"}'))


class PricesConsumer(RelayConsumer):
    """/ws/prices/[?symbols=XAUUSD,BTCUSD]: a snapshot on connect, then every price.update."""

    kind = "prices"
    symbols: list[str] | None = None

    async def groups_for_scope(self):
        params = query_parse(self.scope.get("query_string", b""), allowed={"symbols"})
        if "symbols" in params:
            self.symbols = symbols_parse(params["symbols"], known=settings.MARKET_SYMBOLS)
        return [events.PRICES]

    async def on_accepted(self):
        prices = await database_sync_to_async(snapshot.prices_snapshot)(now=timezone.now(), symbols=self.symbols)
        await self.send(text_data=events.price_snapshot(prices).frame)

    async def relay(self, message):
        if self.symbols is None:
            await super().relay(message)
            return
        # realtime.fanout hands the same message to every socket of this process: the frame
        # for one symbol filter is built once per broadcast, not once per socket.
        frames = message.setdefault("filtered", {})
        key = tuple(self.symbols)
        if key not in frames:
            frames[key] = self._filtered_frame(json.loads(message["frame"]))
        if frames[key] is not None:
            await self.base_send({"type": "websocket.send", "text": frames[key]})

    def _filtered_frame(self, event: dict) -> str | None:
        wanted = self.symbols or []
        prices = [item for item in event.get("prices", []) if item.get("symbol") in wanted]
        return events.encode({**event, "prices": prices}).frame if prices else None


class PredictionsConsumer(RelayConsumer):
    """/ws/predictions/[?id=12]: every prediction.verified, or those of one prediction."""

    kind = "predictions"

    async def groups_for_scope(self):
        params = query_parse(self.scope.get("query_string", b""), allowed={"id"})
        if "id" in params:
            return [events.prediction_group(prediction_id_parse(params["id"]))]
        return [events.PREDICTIONS]


class NotificationsConsumer(RelayConsumer):
    """/ws/notifications/: the signed-in user's personal messages (group user.<id>).

    A socket signed in with a token also joins that token's group: revoking the token
    (DELETE /api/auth/token/) sends `token.revoked` there, and the socket relays it and closes.
    """

    kind = "notifications"
    closing = False

    async def groups_for_scope(self):
        query_parse(self.scope.get("query_string", b""), allowed=set())
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            problem = self.scope.get("auth_error") or (
                "sign in first: send the session cookie or an 'Authorization: Token <key>' header")
            await self.refuse(CLOSE_UNAUTHENTICATED, "unauthenticated", problem)
            return None
        token = self.scope.get("auth_token")
        return [events.user_group(user.pk), *([events.token_group(token)] if token else [])]

    async def on_accepted(self):
        # A revocation that committed between the token check on connect and joining the
        # token's group was sent before this socket listened: look again, now that it does.
        token = self.scope.get("auth_token")
        if token and not await token_exists(token):
            await self.revoked(events.token_revoked().frame)

    async def relay(self, message):
        if message.get("event") == "token.revoked":
            await self.revoked(message["frame"])
            return
        await super().relay(message)

    async def revoked(self, frame: str):
        if self.closing:  # both the check on connect and the broadcast saw the revocation
            return
        self.closing = True
        self.leave_groups()
        # Messages queued while the socket was being accepted are not sent after the close.
        if self.pending is not None:
            self.pending = []
        await self.base_send({"type": "websocket.send", "text": frame})
        await self.close(code=CLOSE_UNAUTHENTICATED)


class NewsConsumer(RelayConsumer):
    """/ws/news/[?category=forex]: every news.published, or those with articles of one category."""

    kind = "news"

    async def groups_for_scope(self):
        params = query_parse(self.scope.get("query_string", b""), allowed={"category"})
        category = params.get("category", "")
        if not category:  # empty means every category, as on /api/news/
            return [events.NEWS]
        if category not in events.NEWS_CATEGORIES:
            raise QueryError("unknown_category",
                             f"unknown category {category!r}; known categories: {', '.join(events.NEWS_CATEGORIES)}")
        return [events.news_group(category)]


class NotFoundConsumer(RelayConsumer):
    """Any other /ws/ path: an error frame and 4404 instead of a routing traceback in the log."""

    async def groups_for_scope(self):
        await self.refuse(4404, "not_found",
                          "no such socket; see /ws/prices/, /ws/predictions/, /ws/notifications/, /ws/news/")
        return None
