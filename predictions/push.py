"""The Web Push client: one small wrapper over pywebpush with one error type.

Endpoints are URLs any signed-in user registers: they are https only, and every connection
goes through goldsocial.outbound, which refuses internal addresses.
"""

import json
from dataclasses import dataclass

import requests
from pywebpush import WebPushException, webpush

from goldsocial.outbound import OutboundRefused, guarded_session


class PushError(Exception):
    def __init__(self, message: str, *, status: int | None, gone: bool):
        super().__init__(message)
        self.status = status
        # 404/410: the push service says the subscription no longer exists: drop it.
        self.gone = gone


@dataclass(frozen=True)
class PushTarget:
    endpoint: str
    p256dh: str
    auth: str


class WebPushClient:
    def __init__(self, *, private_key: str, subject: str, timeout: float,
                 session: requests.Session | None = None):
        self.private_key = private_key
        self.subject = subject
        self.timeout = timeout
        self.session = session or guarded_session(schemes=("https",))

    def send(self, target: PushTarget, payload: dict) -> int:
        """Encrypt and POST `payload` to the subscription; the push service's status code."""
        if not target.endpoint.startswith("https://"):
            # Never deliverable (push services speak https only): the subscription is dropped.
            raise PushError(f"push to {target.endpoint[:80]} refused: not https", status=None, gone=True)
        try:
            response = webpush(
                subscription_info={"endpoint": target.endpoint,
                                   "keys": {"p256dh": target.p256dh, "auth": target.auth}},
                data=json.dumps(payload),
                vapid_private_key=self.private_key,
                # pywebpush writes "aud" and "exp" into the dict it is given: a fresh one each time.
                vapid_claims={"sub": self.subject},
                timeout=self.timeout,
                ttl=3600,
                requests_session=self.session,
            )
        except WebPushException as exc:
            status = exc.response.status_code if exc.response is not None else None
            raise PushError(f"push to {target.endpoint[:80]} failed: {status}", status=status,
                            gone=status in (404, 410)) from None
        except OutboundRefused as exc:
            # Kept, not dropped: what the name resolves to, and the allowed networks, may change.
            raise PushError(f"push to {target.endpoint[:80]} refused: {exc}", status=None, gone=False) from None
        except (requests.RequestException, ValueError, TypeError) as exc:
            # ValueError/TypeError: keys that are not valid base64 or not a P-256 point.
            raise PushError(f"push to {target.endpoint[:80]} failed: {type(exc).__name__}: {exc}",
                            status=None, gone=False) from None
        return response.status_code
