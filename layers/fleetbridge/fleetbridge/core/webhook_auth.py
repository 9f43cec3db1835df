"""Webhook authenticators: each checks one request and answers True/False, in constant time."""

from __future__ import annotations

import hashlib
import hmac

_DIGESTS = {"sha256": hashlib.sha256, "sha512": hashlib.sha512}


def same_secret(presented: str, expected: str) -> bool:
    """Constant-time equality of two strings of any content (non-ASCII, lone surrogates):
    `hmac.compare_digest` refuses non-ASCII str, so both sides are compared as bytes."""
    return hmac.compare_digest(
        presented.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass")
    )


def verify_hmac_hex(
    body: bytes,
    signature: str | None,
    secret: str,
    *,
    algorithm: str = "sha256",
    hex_key: bool = False,
) -> bool:
    """Hex HMAC of the raw body. `hex_key`: the secret is hex and is decoded first (Onfleet)."""
    if not signature or not secret:
        return False
    try:
        key = bytes.fromhex(secret) if hex_key else secret.encode()
    except ValueError:
        return False
    expected = hmac.new(key, body, _DIGESTS[algorithm]).hexdigest()
    return same_secret(signature.strip().lower(), expected)


def sign_hmac_hex(
    body: bytes, secret: str, *, algorithm: str = "sha256", hex_key: bool = False
) -> str:
    """The signature `verify_hmac_hex` accepts (tests and sample events use it)."""
    key = bytes.fromhex(secret) if hex_key else secret.encode()
    return hmac.new(key, body, _DIGESTS[algorithm]).hexdigest()


def verify_token(presented: str | None, secret: str) -> bool:
    """A secret token carried in the URL path or query (ServiceTrade)."""
    return bool(presented) and bool(secret) and same_secret(str(presented), secret)
