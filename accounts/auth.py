"""API tokens: the writes that create, revoke and touch them, and the bearer auth of the API.

A token is ``secrets.token_urlsafe(32)``; only its SHA-256 hash is stored, so the raw
token exists only in the response of :func:`api_token_create`.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from ninja.security import HttpBearer

from accounts.models import ApiToken
from accounts.ratelimit import api_auth_failure_record, api_auth_throttle_check

# last_used_at is written at most this often per token, not on every request.
LAST_USED_RESOLUTION = timedelta(minutes=1)
PREFIX_LENGTH = 8


def api_token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def api_token_create(*, user: AbstractBaseUser, name: str) -> tuple[ApiToken, str]:
    """Create a token for ``user``; returns it and the raw token, which is not stored anywhere."""
    raw = secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user, name=name, key_hash=api_token_hash(raw), prefix=raw[:PREFIX_LENGTH]
    )
    return token, raw


def api_tokens_revoke(*, tokens: QuerySet[ApiToken]) -> int:
    """Revoke every token in ``tokens``; returns how many were still active."""
    return tokens.filter(revoked=False).update(revoked=True)


def api_token_mark_used(*, token: ApiToken) -> None:
    now = timezone.now()
    if token.last_used_at is not None and now - token.last_used_at < LAST_USED_RESOLUTION:
        return
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    token.last_used_at = now


def api_token_authenticate(*, raw: str) -> ApiToken | None:
    """The active token whose hash matches ``raw`` (its user active too), marked as used; else None."""
    if not raw:
        return None
    token = (
        ApiToken.objects.select_related("user")
        .filter(key_hash=api_token_hash(raw), revoked=False, user__is_active=True)
        .first()
    )
    if token is not None:
        api_token_mark_used(token=token)
    return token


class TokenAuth(HttpBearer):
    """``Authorization: Bearer <token>``; sets ``request.user`` to the token's user."""

    def authenticate(self, request: HttpRequest, token: str) -> ApiToken | None:
        # Refused before the lookup: an address guessing tokens learns nothing, even of a right one.
        api_auth_throttle_check(request=request)
        api_token = api_token_authenticate(raw=token.strip())
        if api_token is None:
            api_auth_failure_record(request=request)
            return None
        request.user = api_token.user
        return api_token
