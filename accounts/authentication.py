"""Bearer-token authentication: simplejwt's, hardened, and without a query per request.

A validly signed token whose subject is not a user id (not a UUID, empty, absurdly long) made
simplejwt's lookup raise Django's ValidationError, which escaped as a 500. Here it is an invalid
token (401), like any other token that names no user. A token issued before the user's last
password change is refused too (accounts/tokens.py).

The user comes from the token's subject and the user's cached auth state (accounts/auth_state.py:
token version, active, role, level — kept current by every save of the user), not from a SELECT.
For /api requests the shared rate limit's Redis round trip already read that state
(`AccessTokenPrefetch`, registered in accounts/apps.py), so authentication costs no round trip.
"""

import functools
import uuid

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework_simplejwt import authentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed, InvalidToken, TokenError
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.utils import aware_utcnow

from accounts import tokens
from accounts.auth_state import auth_state_get, state_key, user_from_state

_UNSET = object()


def _subject(validated_token) -> uuid.UUID:
    try:
        return uuid.UUID(str(validated_token[api_settings.USER_ID_CLAIM]))
    except (KeyError, ValueError, TypeError, AttributeError) as exc:
        raise InvalidToken("Token contained no recognizable user identification.") from exc


@functools.lru_cache(maxsize=1024)
def _verified(raw_token: bytes):
    """simplejwt's validated token for these exact bytes (signature and claims checked once per
    process: ~0.1 ms of HMAC, base64 and JSON on every request otherwise). Refusals are not
    kept. The expiry is checked again on every use; revocation is the auth state's (`_user`)."""
    return authentication.JWTAuthentication().get_validated_token(raw_token)


def _expired(token) -> bool:
    try:
        token.check_exp(current_time=aware_utcnow())
    except TokenError:
        return True
    return False


class JWTAuthentication(authentication.JWTAuthentication):
    def get_validated_token(self, raw_token: bytes):
        token = _verified(raw_token.encode() if isinstance(raw_token, str) else bytes(raw_token))
        if _expired(token):
            return super().get_validated_token(raw_token)  # raises with simplejwt's own messages
        return token

    def authenticate(self, request):
        prefetched = getattr(request._request, "_auth_prefetch", None)
        if prefetched is None:
            return super().authenticate(request)
        validated_token, raw_state = prefetched
        return self._user(validated_token, raw_state), validated_token

    def get_user(self, validated_token):
        return self._user(validated_token, _UNSET)

    def _user(self, validated_token, raw_state):
        user_id = _subject(validated_token)
        state = auth_state_get(user_id, prefetched=raw_state, was_prefetched=raw_state is not _UNSET)
        if state is None:
            raise AuthenticationFailed("User not found", code="user_not_found")
        if not state.is_active:
            raise AuthenticationFailed("User is inactive", code="user_inactive")
        if not tokens.token_version_current(validated_token, state.token_version):
            raise InvalidToken("The token was issued before the last password change.")
        return user_from_state(user_id, state)


class AccessTokenPrefetch:
    """Names the caller's auth-state entry for the API rate limit's pipeline, once the bearer
    token's signature and expiry check out (a forged token makes no read), and keeps the
    validated token and the entry on the request for `JWTAuthentication`."""

    def __init__(self):
        self.authentication = JWTAuthentication()

    def key(self, request) -> str | None:
        header = request.META.get(api_settings.AUTH_HEADER_NAME)
        if not header:
            return None
        try:
            raw = self.authentication.get_raw_token(header.encode("iso-8859-1", "replace"))
            if raw is None:
                return None
            validated_token = self.authentication.get_validated_token(raw)
            user_id = _subject(validated_token)
        except (AuthenticationFailed, TokenError):
            return None  # authentication refuses it with the reason
        request._auth_token = validated_token
        return state_key(user_id)

    def deliver(self, request, raw) -> None:
        request._auth_prefetch = (request._auth_token, raw)


class JWTAuthenticationScheme(SimpleJWTScheme):
    """The OpenAPI `jwtAuth` scheme for the subclass (drf-spectacular matches exact classes)."""

    target_class = "accounts.authentication.JWTAuthentication"
