"""Signing secrets at rest: AES-256-GCM, with the row they belong to as associated data, so a ciphertext copied to
another row (another tenant's subscription) does not decrypt.

The key material comes from Secrets Manager in AWS (`SIGNING_KEY_SECRET_ARN`, a JSON secret `{"key": "..."}` that
CloudFormation generates, read with the standard-library call in threadline.aws.secrets) or from a local key file
(`SIGNING_KEY_FILE`, which `make dev` writes under .local/ on first use); the AES key is its SHA-256, so any long random
string serves. Neither the key nor a secret is ever logged.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from functools import lru_cache

from threadline.aws.secrets import get_json_secret

KEY_SECRET_VARIABLE = "SIGNING_KEY_SECRET_ARN"  # noqa: S105 - the variable's name, not a secret
KEY_FILE_VARIABLE = "SIGNING_KEY_FILE"
_NONCE_BYTES = 12
# A rotated key reaches warm containers within this; old ciphertexts need the old key, so rotation re-encrypts.
_KEY_MAX_AGE_SECONDS = 3600.0


class SigningKeyUnavailable(RuntimeError):
    """Neither a Secrets Manager secret nor a key file is configured (or the key is malformed)."""


def generate_signing_secret() -> str:
    """A new signing secret as shown to its owner once: 256 random bits."""
    return "whsec_" + secrets.token_urlsafe(32)


def _key() -> bytes:
    arn = os.environ.get(KEY_SECRET_VARIABLE)
    if arn:
        encoded = get_json_secret(arn, max_age_seconds=_KEY_MAX_AGE_SECONDS).get("key", "")
    else:
        path = os.environ.get(KEY_FILE_VARIABLE)
        if not path:
            raise SigningKeyUnavailable(f"set {KEY_SECRET_VARIABLE} (AWS) or {KEY_FILE_VARIABLE} (development)")
        encoded = _read_key_file(path)
    if len(encoded) < 32:
        raise SigningKeyUnavailable("the signing key material must be at least 32 characters")
    return hashlib.sha256(encoded.encode("utf-8")).digest()


@lru_cache(maxsize=4)
def _read_key_file(path: str) -> str:
    with open(path, encoding="ascii") as handle:
        return handle.read().strip()


def encrypt_secret(secret: str, *, bound_to: str) -> bytes:
    """nonce || ciphertext+tag; `bound_to` (the owning row's identity) must be given again to decrypt."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # only the paths that sign pay the import

    nonce = os.urandom(_NONCE_BYTES)
    return nonce + AESGCM(_key()).encrypt(nonce, secret.encode("utf-8"), bound_to.encode("utf-8"))


def decrypt_secret(sealed: bytes, *, bound_to: str) -> str:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    nonce, ciphertext = bytes(sealed[:_NONCE_BYTES]), bytes(sealed[_NONCE_BYTES:])
    return AESGCM(_key()).decrypt(nonce, ciphertext, bound_to.encode("utf-8")).decode("utf-8")


def clear_key_cache() -> None:
    _read_key_file.cache_clear()
