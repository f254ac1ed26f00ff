"""The JWTs this project issues: simplejwt's, carrying the user's `token_version`.

A password change raises `User.token_version` (accounts/models.py). Every token carries the
version it was issued at (claim `ver`; the access token copies it from its refresh token), and
authentication and refresh refuse a token whose version is not the user's current one. The
check compares two integers: today the current version comes from the user row that
authentication loads anyway (no extra query); a cache of per-user versions keyed by the token's
subject can serve it later without a SELECT.

Tokens issued before this claim existed have none and count as version 0, so they keep working
until the user's first password change (they expire within JWT_REFRESH_DAYS anyway).
"""

from rest_framework_simplejwt import tokens
from rest_framework_simplejwt.exceptions import TokenBackendError
from rest_framework_simplejwt.state import token_backend
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken
from rest_framework_simplejwt.utils import datetime_from_epoch

TOKEN_VERSION_CLAIM = "ver"  # noqa: S105 - a claim name, not a password


class RefreshToken(tokens.RefreshToken):
    @classmethod
    def for_user(cls, user) -> "RefreshToken":
        """simplejwt's refresh token plus the version claim. The outstanding-token row is
        written here, after the claim is set, so the stored token is the one handed out."""
        # Token.for_user (sub, jti, exp), skipping BlacklistMixin.for_user, which stores the row first.
        token = super(tokens.BlacklistMixin, cls).for_user(user)
        token[TOKEN_VERSION_CLAIM] = user.token_version
        OutstandingToken.objects.create(
            user=user,
            jti=token["jti"],
            token=str(token),
            created_at=token.current_time,
            expires_at=datetime_from_epoch(token["exp"]),
        )
        return token


def token_version_current(claims, version: int) -> bool:
    """Whether a token's claims carry the user's current token version."""
    return claims.get(TOKEN_VERSION_CLAIM, 0) == version


def refresh_token_subject(raw: str) -> str | None:
    """The subject of a refresh token whose signature and expiry check out, else None. No
    database query: this keys a rate limit before the token is looked up."""
    try:
        payload = token_backend.decode(raw, verify=True)
    except TokenBackendError:
        return None
    if payload.get("token_type") != "refresh":
        return None
    subject = payload.get("sub")
    return str(subject) if subject else None
