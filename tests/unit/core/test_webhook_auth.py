"""Webhook authenticators."""

from __future__ import annotations

import hashlib
import hmac

from fleetbridge.core.webhook_auth import (
    sign_hmac_hex,
    verify_hmac_hex,
    verify_token,
)

BODY = b'{"id":"1","event":"vehicle_assignment_created"}'


def test_hmac_sha256_hex_accepts_the_vendor_signature_and_rejects_others() -> None:
    signature = hmac.new(b"s3cret", BODY, hashlib.sha256).hexdigest()
    assert verify_hmac_hex(BODY, signature, "s3cret")
    assert verify_hmac_hex(BODY, signature.upper(), "s3cret")
    assert not verify_hmac_hex(BODY + b" ", signature, "s3cret")
    assert not verify_hmac_hex(BODY, signature, "other")
    assert not verify_hmac_hex(BODY, None, "s3cret")
    assert not verify_hmac_hex(BODY, signature, "")


def test_hmac_sha512_with_hex_decoded_key_like_onfleet() -> None:
    secret = "a1b2c3d4e5f60718"
    signature = hmac.new(bytes.fromhex(secret), BODY, hashlib.sha512).hexdigest()
    assert verify_hmac_hex(BODY, signature, secret, algorithm="sha512", hex_key=True)
    assert not verify_hmac_hex(BODY, signature, secret, algorithm="sha512")
    assert not verify_hmac_hex(BODY, signature, "not-hex", algorithm="sha512", hex_key=True)
    assert sign_hmac_hex(BODY, secret, algorithm="sha512", hex_key=True) == signature


def test_token() -> None:
    assert verify_token("tok", "tok")
    assert not verify_token("tok2", "tok")
    assert not verify_token(None, "tok")
    assert not verify_token("", "")


def test_signatures_of_any_text_are_refused_not_raised() -> None:
    """`hmac.compare_digest` raises on non-ASCII str: every verifier compares bytes."""
    for presented in ("é" * 64, "\u2603", "\ud800", "\x00", "Z" * 10_000):
        assert not verify_hmac_hex(b"{}", presented, "secret")
        assert not verify_token(presented, "secret")
