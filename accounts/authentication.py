"""Bearer-token authentication: simplejwt's, hardened.

A validly signed token whose subject is not a user id (not a UUID, empty, absurdly long) made
simplejwt's lookup raise Django's ValidationError, which escaped as a 500. Here it is an invalid
token (401), like any other token that names no user. A token issued before the user's last
password change is refused too (accounts/tokens.py)."""

from django.core.exceptions import ValidationError
from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework_simplejwt import authentication
from rest_framework_simplejwt.exceptions import InvalidToken

from accounts import tokens


class JWTAuthentication(authentication.JWTAuthentication):
    def get_user(self, validated_token):
        try:
            user = super().get_user(validated_token)
        except (ValidationError, ValueError, TypeError) as exc:
            raise InvalidToken("Token contained no recognizable user identification.") from exc
        if not tokens.token_version_current(validated_token, user.token_version):
            raise InvalidToken("The token was issued before the last password change.")
        return user


class JWTAuthenticationScheme(SimpleJWTScheme):
    """The OpenAPI `jwtAuth` scheme for the subclass (drf-spectacular matches exact classes)."""

    target_class = "accounts.authentication.JWTAuthentication"
