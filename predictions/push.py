"""The Web Push client: RFC 8291 encryption (predictions.webpush_crypto), sent by aiohttp, with one error type.

Endpoints are URLs any signed-in user registers: they are https only, and every address
they resolve to is judged by goldsocial.outbound, which refuses internal addresses (the
resolver below hands aiohttp only addresses that passed, so no second DNS answer can slip
in). Redirects are not followed: push services answer, they do not redirect.

Built for many pushes at once (a verification may have 100,000 voters):
- `send_all` keeps at most `concurrency` requests in flight, on an event loop in a thread
  of its own that lives as long as the client, so connections to each push service are
  kept alive and reused from one batch to the next;
- the VAPID signature (an ES256 JWT whose audience is the push service's origin) is signed
  once per origin and reused for half its validity, not once per request;
- aiohttp rather than requests on threads: measured here, requests cost about 2 ms of CPU
  per push (its per-request environment and adapter work, plus thread switching) and
  aiohttp about 0.7 ms;
- the message is encrypted by predictions.webpush_crypto rather than pywebpush (its
  per-message copying and key parsing cost as much again as the cryptography itself), and
  the request headers are built once per origin with the signature.
"""

import asyncio
import ipaddress
import json
import os
import socket
import ssl
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import certifi
from aiohttp.abc import AbstractResolver, ResolveResult
from py_vapid import Vapid

from goldsocial.outbound import OutboundRefused, address_refusal, addresses_allowed
from predictions.webpush_crypto import encrypt

# A VAPID JWT may be valid for at most 24 hours; push services reject one that has expired.
VAPID_VALIDITY_SECONDS = 12 * 3600
# Signed again once less than this is left, so a header is never sent close to its expiry.
VAPID_RENEW_SECONDS = VAPID_VALIDITY_SECONDS // 2
# How long a push service keeps a message for a browser that is offline.
PUSH_TTL_SECONDS = 3600


class PushError(Exception):
    def __init__(self, message: str, *, status: int | None, gone: bool, retry: bool = False,
                 retry_after: str | None = None, detail: str = ""):
        super().__init__(message)
        # What went wrong without the endpoint (the same for every device of a failing service).
        self.detail = detail or message
        self.status = status
        # 404/410: the push service says the subscription no longer exists: drop it.
        self.gone = gone
        # Worth sending again later (5xx, 429, timeouts, connection failures); the rest
        # (bad keys, other 4xx, a refused address) would fail the same way again.
        self.retry = retry
        # The push service's Retry-After header as it came (seconds or an HTTP date).
        self.retry_after = retry_after


@dataclass(frozen=True)
class PushTarget:
    endpoint: str
    p256dh: str
    auth: str



def _error(where: str, detail: str, **kwargs: Any) -> PushError:
    return PushError(f"push to {where} {detail}", detail=detail, **kwargs)


class _GuardedResolver(AbstractResolver):
    """Resolves with goldsocial.outbound's rules: only addresses that may be reached, or OutboundRefused."""

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        infos = await asyncio.get_running_loop().run_in_executor(None, addresses_allowed, host, port)
        return [{"hostname": host, "host": str(sockaddr[0]), "port": port, "family": info_family, "proto": proto,
                 "flags": socket.AI_NUMERICHOST | socket.AI_NUMERICSERV}
                for info_family, _type, proto, _name, sockaddr in infos]

    async def close(self) -> None:
        pass


def _literal_refusal(host: str) -> str | None:
    """Why an IP-literal host is refused (aiohttp connects to literals without asking the resolver)."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return None
    refusal = address_refusal(host)
    return f"{host} is {refusal}" if refusal else None


def _ssl_context() -> ssl.SSLContext:
    # The CA bundle operators already set for requests elsewhere in the project, else certifi's.
    return ssl.create_default_context(cafile=os.environ.get("REQUESTS_CA_BUNDLE") or certifi.where())


class WebPushClient:
    def __init__(self, *, private_key: str, subject: str, timeout: float, concurrency: int = 1):
        self.vapid = Vapid.from_string(private_key=private_key)
        self.subject = subject
        self.timeout = timeout
        self.concurrency = concurrency
        self._vapid_headers: dict[str, tuple[float, dict[str, str]]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._session: aiohttp.ClientSession | None = None

    def __enter__(self) -> "WebPushClient":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _authorization(self, endpoint: str) -> dict[str, str]:
        """The request headers for the endpoint's push service (VAPID signed at most once per half validity)."""
        parts = urlsplit(endpoint)
        audience = f"{parts.scheme}://{parts.netloc}"
        now = time.time()
        cached = self._vapid_headers.get(audience)
        if cached is not None and cached[0] - now > VAPID_RENEW_SECONDS:
            return cached[1]
        expires = int(now) + VAPID_VALIDITY_SECONDS
        headers = {**self.vapid.sign({"sub": self.subject, "aud": audience, "exp": expires}),
                   "Content-Encoding": "aes128gcm", "Content-Type": "application/octet-stream",
                   "TTL": str(PUSH_TTL_SECONDS)}
        self._vapid_headers[audience] = (expires, headers)
        return headers

    def _start(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            loop = asyncio.new_event_loop()
            thread = threading.Thread(target=loop.run_forever, name="webpush", daemon=True)
            thread.start()

            async def session() -> aiohttp.ClientSession:
                connector = aiohttp.TCPConnector(limit=self.concurrency, resolver=_GuardedResolver(),
                                                 ssl=_ssl_context())
                return aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=self.timeout))

            self._session = asyncio.run_coroutine_threadsafe(session(), loop).result()
            self._loop, self._thread = loop, thread
        return self._loop

    async def _send(self, target: PushTarget, data: str, topic: str | None) -> int:
        assert self._session is not None
        where = target.endpoint[:80]
        parts = urlsplit(target.endpoint)
        if parts.scheme != "https":
            # Never deliverable (push services speak https only): the subscription is dropped.
            raise _error(where, "refused: not https", status=None, gone=True)
        if refusal := _literal_refusal(parts.hostname or ""):
            raise _error(where, f"refused: {refusal}", status=None, gone=False)
        try:
            body = encrypt(data.encode(), target.p256dh, target.auth)
        except (ValueError, TypeError) as exc:
            # Keys that are not valid base64 or not a P-256 point.
            raise _error(where, f"failed: bad subscription keys: {exc}", status=None,
                            gone=False) from None
        headers = self._authorization(target.endpoint)
        if topic:
            headers = {**headers, "Topic": topic}
        try:
            async with self._session.post(target.endpoint, data=body, headers=headers,
                                          allow_redirects=False) as response:
                await response.read()
                status, retry_after = response.status, response.headers.get("Retry-After")
        except OutboundRefused as exc:
            # Kept, not dropped: what the name resolves to, and the allowed networks, may change.
            raise _error(where, f"refused: {exc}", status=None, gone=False) from None
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise _error(where, f"failed: {type(exc).__name__}: {exc}", status=None, gone=False,
                            retry=True) from None
        if status > 202:
            raise _error(where, f"failed: {status}", status=status, gone=status in (404, 410),
                            retry=status == 429 or status >= 500, retry_after=retry_after)
        return status

    def send_all(self, pushes: Sequence[tuple[Any, PushTarget, str, str | None]]
                 ) -> list[tuple[Any, PushError | None]]:
        """Send each (key, target, JSON text, topic), at most `concurrency` at a time; (key, error or None) each.

        `topic` lets the push service replace a message with the same topic that it still
        holds for an offline browser, so a notification sent again is shown once. The
        caller bounds how many it hands in at once (memory).
        """
        if not pushes:
            return []
        loop = self._start()
        limit = asyncio.Semaphore(self.concurrency)

        async def one(key: Any, target: PushTarget, data: str, topic: str | None) -> tuple[Any, PushError | None]:
            async with limit:
                try:
                    await self._send(target, data, topic)
                except PushError as exc:
                    return key, exc
                return key, None

        async def every() -> list[tuple[Any, PushError | None]]:
            return list(await asyncio.gather(*(one(*push) for push in pushes)))

        return asyncio.run_coroutine_threadsafe(every(), loop).result()

    def send(self, target: PushTarget, payload: str | dict, *, topic: str | None = None) -> None:
        """Send one push (JSON text or a dict); PushError when the push service did not take it."""
        data = payload if isinstance(payload, str) else json.dumps(payload)
        [(_, error)] = self.send_all([(None, target, data, topic)])
        if error is not None:
            raise error

    def close(self) -> None:
        """Close the connections and stop the client's event loop thread."""
        if self._loop is None:
            return
        loop, session = self._loop, self._session
        if session is not None:
            asyncio.run_coroutine_threadsafe(session.close(), loop).result()
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join()
        loop.close()
        self._loop = self._thread = self._session = None
