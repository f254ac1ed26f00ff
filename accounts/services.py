"""Writes on accounts and tokens. Views, commands and tests call these, never the ORM directly."""

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from accounts.email_address import email_normalize
from accounts.models import User
from accounts.roles import SUPERVISOR_PERMISSIONS, SUPERVISORS_GROUP, Role
from accounts.signals import user_level_changed
from accounts.tokens import RefreshToken, token_version_current
from techsupport.error_codes import ErrorCode
from techsupport.exceptions import AppError, Conflict, NotAuthenticated, ValidationFailed

INVALID_CREDENTIALS = "Invalid email or password."


@dataclass(frozen=True)
class TokenPair:
    access: str
    refresh: str
    expires_in: int


def _password_check(password: str, user: User) -> None:
    try:
        validate_password(password, user)
    except DjangoValidationError as exc:
        raise ValidationFailed(
            "The password is too weak.", code=ErrorCode.WEAK_PASSWORD, details={"password": " ".join(exc.messages)}
        ) from exc


def _email_check(email: str) -> str:
    """The normalised email, valid as stored (normalising can lengthen it: NFKC expands ligatures)."""
    email = email_normalize(email)
    try:
        User._meta.get_field("email").run_validators(email)
    except DjangoValidationError as exc:
        raise ValidationFailed("The email address is invalid.", details={"email": " ".join(exc.messages)}) from exc
    return email


def user_create(*, email: str, password: str, role: str, name: str = "", level: int = 1, active: bool = True) -> User:
    """Creates a user; 409 `email_taken` when the email exists in any spelling that normalises
    alike (`email_normalize`: case, Unicode look-alikes such as U+017F), 400 `weak_password`
    when Django's validators reject the password."""
    email = _email_check(email)
    user = User(email=email, name=name, role=role, level=level, is_active=active)
    _password_check(password, user)
    user.set_password(password)
    try:
        with transaction.atomic():
            if User.objects.filter(email=email).exists():
                raise Conflict("A user with this email already exists.", code=ErrorCode.EMAIL_TAKEN)
            user.save()
    except IntegrityError as exc:  # lost a race with a concurrent registration
        raise Conflict("A user with this email already exists.", code=ErrorCode.EMAIL_TAKEN) from exc
    user_groups_sync(user)
    return user


def user_update(*, user: User, **changes) -> User:
    """Changes `is_active`, `role`, `level`, `accepts_auto_assignment`. Deactivation is effective at once: access tokens
    are checked against `is_active` on every request and refresh tokens are revoked."""
    with transaction.atomic():
        # NO KEY: rows referencing the user (ticket events, notifications) may still be inserted.
        user = User.objects.select_for_update(no_key=True).get(pk=user.pk)
        previous_level = user.level
        for field, value in changes.items():
            setattr(user, field, value)
        user.save()
        if changes.get("is_active") is False:
            tokens_revoke_all(user=user)
        if user.level != previous_level:
            user_level_changed.send(sender=User, user=user, previous_level=previous_level, actor=None)
    user_groups_sync(user)
    return user


def user_groups_sync(user: User) -> None:
    """Supervisors, and only they, are in the Supervisors group (their admin permissions)."""
    group, _ = Group.objects.get_or_create(name=SUPERVISORS_GROUP)
    if user.role == Role.SUPERVISOR:
        user.groups.add(group)
    else:
        user.groups.remove(group)


def supervisors_group_sync() -> Group:
    """Gives the Supervisors group exactly SUPERVISOR_PERMISSIONS (those that exist yet)."""
    group, _ = Group.objects.get_or_create(name=SUPERVISORS_GROUP)
    query = Q(pk__in=[])
    for dotted in SUPERVISOR_PERMISSIONS:
        app_label, codename = dotted.split(".", 1)
        query |= Q(content_type__app_label=app_label, codename=codename)
    group.permissions.set(Permission.objects.filter(query))
    return group


def admin_ensure(*, email: str, password: str) -> tuple[User, bool]:
    """Creates the first admin if no user has this email; returns (user, created). Refuses the
    well-known default password outside local mode."""
    if not email or not password:
        raise AppError(
            "DEFAULT_ADMIN_EMAIL and DEFAULT_ADMIN_PASSWORD must be set.", code=ErrorCode.ADMIN_NOT_CONFIGURED
        )
    email = _email_check(email)
    existing = User.objects.filter(email=email).first()
    if existing is not None:
        return existing, False
    if password == settings.INSECURE_DEFAULT_ADMIN_PASSWORD and not settings.DEBUG:
        raise AppError(
            "Refusing to create an admin with the default password while DEBUG is off; set DEFAULT_ADMIN_PASSWORD.",
            code=ErrorCode.INSECURE_DEFAULT_PASSWORD,
        )
    user = User(email=email, name="Administrator", role=Role.ADMIN)
    user.set_password(password)
    user.save()
    return user, True


# --- Tokens ------------------------------------------------------------------------------
def _pair_for(user: User) -> TokenPair:
    refresh = RefreshToken.for_user(user)
    return TokenPair(
        access=str(refresh.access_token),
        refresh=str(refresh),
        expires_in=int(settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"].total_seconds()),
    )


def auth_login(*, email: str, password: str) -> TokenPair:
    """Same 401 for an unknown email, a wrong password and an inactive user. The email is
    matched in its normalised form, the same key as the per-email login limit."""
    user = User.objects.filter(email=email_normalize(email)).first()
    if user is None:
        User().set_password(password)  # same cost as a real check: no timing oracle on emails
        raise NotAuthenticated(INVALID_CREDENTIALS, code=ErrorCode.INVALID_CREDENTIALS)
    if not user.check_password(password) or not user.is_active:
        raise NotAuthenticated(INVALID_CREDENTIALS, code=ErrorCode.INVALID_CREDENTIALS)
    User.objects.filter(pk=user.pk).update(last_login=timezone.now())
    return _pair_for(user)


def _refresh_token_parse(raw: str) -> RefreshToken:
    try:
        return RefreshToken(raw)
    except TokenError as exc:
        if "blacklisted" in str(exc):  # simplejwt's verify() checks the blacklist itself
            raise NotAuthenticated("The refresh token has been revoked.", code=ErrorCode.TOKEN_REVOKED) from exc
        raise NotAuthenticated("The refresh token is invalid or expired.", code=ErrorCode.TOKEN_NOT_VALID) from exc


def auth_refresh(*, refresh: str) -> TokenPair:
    """Rotation: the presented token dies and a new pair is issued. The outstanding-token row
    is locked, so two concurrent refreshes with one token yield exactly one new pair. A token
    issued before the user's last password change is refused (401 `token_revoked`)."""
    token = _refresh_token_parse(refresh)
    with transaction.atomic():
        outstanding = OutstandingToken.objects.select_for_update(of=("self",)).filter(jti=token["jti"]).first()
        if outstanding is None or BlacklistedToken.objects.filter(token=outstanding).exists():
            raise NotAuthenticated("The refresh token has been revoked.", code=ErrorCode.TOKEN_REVOKED)
        user = User.objects.filter(pk=token["sub"], is_active=True).first()
        if user is None:
            raise NotAuthenticated("The refresh token is invalid or expired.", code=ErrorCode.TOKEN_NOT_VALID)
        if not token_version_current(token, user.token_version):
            raise NotAuthenticated("The refresh token has been revoked.", code=ErrorCode.TOKEN_REVOKED)
        BlacklistedToken.objects.create(token=outstanding)
        return _pair_for(user)


def auth_logout(*, refresh: str, user: User) -> None:
    """Revokes the refresh token. A token of another user is refused (401)."""
    token = _refresh_token_parse(refresh)
    if str(token["sub"]) != str(user.pk):
        raise NotAuthenticated("The refresh token does not belong to you.", code=ErrorCode.TOKEN_NOT_VALID)
    outstanding = OutstandingToken.objects.filter(jti=token["jti"]).first()
    if outstanding is not None:
        BlacklistedToken.objects.get_or_create(token=outstanding)


def tokens_revoke_all(*, user: User) -> int:
    pending = OutstandingToken.objects.filter(user=user).exclude(blacklistedtoken__isnull=False)
    rows = [BlacklistedToken(token=token) for token in pending]
    BlacklistedToken.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)
