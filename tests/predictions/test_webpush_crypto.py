"""predictions.webpush_crypto against http_ece, the reference implementation of RFC 8188/8291."""

import base64

import http_ece
import pytest

from predictions.webpush_crypto import encrypt


def decrypt(body: bytes, push_keys) -> bytes:
    private, auth, _ = push_keys
    return http_ece.decrypt(body, private_key=private, auth_secret=auth, version="aes128gcm")


@pytest.mark.parametrize("plaintext", [b"", b'{"type": "notification", "message": "\xc3\xa9"}', b"x" * 3000])
def test_the_subscriber_decrypts_what_it_encrypts(push_keys, plaintext):
    keys = push_keys[2]

    assert decrypt(encrypt(plaintext, keys["p256dh"], keys["auth"]), push_keys) == plaintext


def test_each_message_has_its_own_salt_and_sender_key(push_keys):
    keys = push_keys[2]

    first, second = (encrypt(b"same", keys["p256dh"], keys["auth"]) for _ in range(2))

    # salt (16 bytes), record size (4), key id length (1), then the 65-byte sender key.
    assert first[:16] != second[:16]
    assert first[21:86] != second[21:86]
    assert first[20] == 65


def test_another_subscribers_key_cannot_decrypt_it(push_keys):
    from cryptography.hazmat.primitives.asymmetric import ec

    keys = push_keys[2]
    body = encrypt(b"secret", keys["p256dh"], keys["auth"])

    with pytest.raises(Exception):  # noqa: B017 - http_ece raises cryptography's InvalidTag
        decrypt(body, (ec.generate_private_key(ec.SECP256R1()), push_keys[1], None))


@pytest.mark.parametrize(("p256dh", "auth", "why"), [
    ("not base64!", "AAAAAAAAAAAAAAAAAAAAAA", "base64url"),
    # 65 bytes in the uncompressed form, but not a point on P-256.
    (base64.urlsafe_b64encode(b"\x04" + b"\x01" * 64).decode(), "AAAAAAAAAAAAAAAAAAAAAA", None),
    ("", "AAAAAAAAAAAAAAAAAAAAAA", None),
])
def test_bad_subscriber_keys_are_a_value_error(p256dh, auth, why):
    with pytest.raises(ValueError, match=why):
        encrypt(b"x", p256dh, auth)


def test_an_auth_secret_that_is_not_16_bytes_is_a_value_error(push_keys):
    with pytest.raises(ValueError, match="16 bytes"):
        encrypt(b"x", push_keys[2]["p256dh"], "AAAA")
