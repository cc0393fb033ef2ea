"""RFC 8291 message encryption for Web Push (aes128gcm, RFC 8188), with `cryptography` directly.

pywebpush/http_ece do the same work per message, plus a deep copy of the subscription, a
second parse of the keys, and generic record handling; a push to 100,000 voters pays that
100,000 times. Here each subscriber's public key and auth secret are decoded once per
subscription (`recipient`), and a message costs one ephemeral key, one ECDH, two HKDFs and
one AES-GCM call. tests/predictions/test_webpush_crypto.py decrypts the output with http_ece.
"""

import base64
import os
import struct
from functools import lru_cache

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

# One record holds the whole message; 4096 is what push services accept (RFC 8030 section 7.2).
RECORD_SIZE = 4096
_CURVE = ec.SECP256R1()


def _b64decode(value: str) -> bytes:
    # Browsers hand out unpadded base64url; some libraries pad it or use the standard alphabet.
    value = value.strip().replace("+", "-").replace("/", "_").rstrip("=")
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


def _hkdf(salt: bytes, ikm: bytes, info: bytes, length: int) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(ikm)


@lru_cache(maxsize=4096)
def recipient(p256dh: str, auth: str) -> tuple[ec.EllipticCurvePublicKey, bytes, bytes]:
    """The subscriber's key, its raw point, and the auth secret; ValueError if they are not valid.

    Cached: a delivery run sends many messages and the same subscription comes back on retries.
    """
    try:
        raw, secret = _b64decode(p256dh), _b64decode(auth)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"keys are not base64url: {exc}") from None
    if len(secret) != 16:
        raise ValueError("auth secret is not 16 bytes")
    # Raises ValueError when the bytes are not an uncompressed point on P-256.
    key = ec.EllipticCurvePublicKey.from_encoded_point(_CURVE, raw)
    return key, raw, secret


def encrypt(plaintext: bytes, p256dh: str, auth: str) -> bytes:
    """The aes128gcm body for one message to one subscriber (RFC 8291 section 3.4)."""
    ua_key, ua_raw, auth_secret = recipient(p256dh, auth)
    # A new sender key and salt per message: reusing either would reuse the AES key and nonce.
    as_private = ec.generate_private_key(_CURVE)
    as_raw = as_private.public_key().public_bytes(serialization.Encoding.X962,
                                                  serialization.PublicFormat.UncompressedPoint)
    salt = os.urandom(16)
    shared = as_private.exchange(ec.ECDH(), ua_key)
    ikm = _hkdf(auth_secret, shared, b"WebPush: info\x00" + ua_raw + as_raw, 32)
    cek = _hkdf(salt, ikm, b"Content-Encoding: aes128gcm\x00", 16)
    nonce = _hkdf(salt, ikm, b"Content-Encoding: nonce\x00", 12)
    # The single (and so last) record ends with the 0x02 padding delimiter.
    ciphertext = AESGCM(cek).encrypt(nonce, plaintext + b"\x02", None)
    # RFC 8188 header: salt, record size, key id length, key id (the sender's public key).
    return salt + struct.pack("!IB", RECORD_SIZE, len(as_raw)) + as_raw + ciphertext
