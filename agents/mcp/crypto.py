"""Credentials of MCP servers, encrypted at rest (Fernet, with a key derived from SECRET_KEY
or from MCP_CREDENTIALS_KEY when set) and never shown back in full."""

from __future__ import annotations

import base64
import functools

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings


@functools.cache
def _fernet(secret: str) -> Fernet:
    # HKDF with a purpose-bound salt: the derived key serves this one use, so a key leaked
    # elsewhere (sessions, signing) does not open the credentials, nor the other way round.
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"agents.mcp.credentials", info=b"fernet").derive(
        secret.encode()
    )
    return Fernet(base64.urlsafe_b64encode(key))


def _cipher() -> Fernet:
    return _fernet(getattr(settings, "MCP_CREDENTIALS_KEY", "") or settings.SECRET_KEY)


def encrypt(plaintext: str) -> str:
    return _cipher().encrypt(plaintext.encode()).decode() if plaintext else ""


def decrypt(token: str) -> str:
    """The plaintext, or "" when there is none or the key changed (the server then answers
    401, which its health and last error show)."""
    if not token:
        return ""
    try:
        return _cipher().decrypt(token.encode()).decode()
    except InvalidToken:
        return ""


def hint(plaintext: str) -> str:
    """What may be shown of a credential: that it is set, and its last four characters when it
    is long enough that they give nothing away."""
    if not plaintext:
        return ""
    return f"****{plaintext[-4:]}" if len(plaintext) >= 16 else "****"
