"""A password change, by any path, revokes every token issued before it: refresh tokens are
blacklisted and access tokens stop working at once (the token-version claim)."""

import pytest
from django.contrib.auth.forms import SetPasswordForm
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.core.management import call_command
from django.test import Client as DjangoClient
from django.test import override_settings
from rest_framework.test import APIClient
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from accounts.models import User
from accounts.services import auth_login
from tests.accounts.factories import DEFAULT_PASSWORD, UserFactory
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "Another-Long-Passphrase-7"


def _bearer(access: str) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return api


def _refresh(refresh: str):
    return APIClient().post("/api/auth/refresh", {"refreshToken": refresh}, format="json")


def _assert_tokens_dead(user, pair):
    me = _bearer(pair.access).get("/api/auth/me")
    assert me.status_code == 401
    assert me.json()["code"] == "token_not_valid"
    assert me["WWW-Authenticate"] == "Bearer"
    refreshed = _refresh(pair.refresh)
    assert refreshed.status_code == 401
    assert refreshed.json()["code"] == "token_revoked"
    outstanding = OutstandingToken.objects.filter(user=user).count()
    assert BlacklistedToken.objects.filter(token__user=user).count() == outstanding


def test_a_new_user_starts_at_version_zero(agent):
    assert User.objects.get(pk=agent.pk).token_version == 0


def test_set_password_and_save_revokes_access_and_refresh_tokens(agent):
    first = auth_login(email=agent.email, password=DEFAULT_PASSWORD)
    second = auth_login(email=agent.email, password=DEFAULT_PASSWORD)

    agent.set_password(NEW_PASSWORD)
    agent.save()

    assert agent.token_version == 1
    assert User.objects.get(pk=agent.pk).token_version == 1
    _assert_tokens_dead(agent, first)
    _assert_tokens_dead(agent, second)
    assert BlacklistedToken.objects.filter(token__user=agent).count() == 2


def test_tokens_issued_after_the_change_work(agent):
    agent.set_password(NEW_PASSWORD)
    agent.save()

    pair = auth_login(email=agent.email, password=NEW_PASSWORD)

    assert _bearer(pair.access).get("/api/auth/me").status_code == 200
    assert _refresh(pair.refresh).status_code == 200


def test_save_with_update_fields_password_still_bumps_the_version(agent):
    pair = auth_login(email=agent.email, password=DEFAULT_PASSWORD)

    agent.set_password(NEW_PASSWORD)
    agent.save(update_fields=["password"])

    assert User.objects.get(pk=agent.pk).token_version == 1
    _assert_tokens_dead(agent, pair)


def test_a_save_that_does_not_write_the_password_changes_nothing(agent):
    pair = auth_login(email=agent.email, password=DEFAULT_PASSWORD)

    agent.set_password(NEW_PASSWORD)
    agent.save(update_fields=["name"])

    assert User.objects.get(pk=agent.pk).token_version == 0
    assert _bearer(pair.access).get("/api/auth/me").status_code == 200


def test_an_unusable_password_revokes_too(agent):
    pair = auth_login(email=agent.email, password=DEFAULT_PASSWORD)

    agent.set_unusable_password()
    agent.save()

    _assert_tokens_dead(agent, pair)


def test_a_stale_instance_never_reuses_a_version(agent):
    stale = User.objects.get(pk=agent.pk)
    agent.set_password(NEW_PASSWORD)
    agent.save()
    pair = auth_login(email=agent.email, password=NEW_PASSWORD)

    stale.set_password("Yet-Another-Passphrase-9")
    stale.save()

    assert stale.token_version == 2
    _assert_tokens_dead(agent, pair)


def test_other_saves_keep_tokens_alive(agent):
    pair = auth_login(email=agent.email, password=DEFAULT_PASSWORD)
    agent = User.objects.get(pk=agent.pk)  # as a view would load it: no password set

    agent.name = "Renamed"
    agent.level = 2
    agent.save()

    assert User.objects.get(pk=agent.pk).token_version == 0
    assert _bearer(pair.access).get("/api/auth/me").status_code == 200
    assert _refresh(pair.refresh).status_code == 200


class FastPBKDF2PasswordHasher(PBKDF2PasswordHasher):
    algorithm = "pbkdf2_fast"
    iterations = 2


@override_settings(
    PASSWORD_HASHERS=[
        "tests.accounts.test_password_change.FastPBKDF2PasswordHasher",
        "django.contrib.auth.hashers.MD5PasswordHasher",
    ]
)
def test_a_hash_upgrade_at_login_is_not_a_password_change(agent):
    """Django rehashes a password stored with an older hasher at login (check_password's
    setter); that rewrites the hash, not the password, so sessions stay."""
    pair = auth_login(email=agent.email, password=DEFAULT_PASSWORD)

    auth_login(email=agent.email, password=DEFAULT_PASSWORD)

    agent.refresh_from_db()
    assert agent.password.startswith("pbkdf2_fast$")  # the upgrade happened
    assert agent.token_version == 0
    assert _bearer(pair.access).get("/api/auth/me").status_code == 200
    assert _refresh(pair.refresh).status_code == 200


def test_a_token_without_the_version_claim_dies_at_the_first_change(agent):
    """Tokens issued before the claim existed count as version 0 (tests' client_for makes
    such tokens with simplejwt's own RefreshToken)."""
    legacy = client_for(agent)
    assert legacy.get("/api/auth/me").status_code == 200

    agent.set_password(NEW_PASSWORD)
    agent.save()

    assert legacy.get("/api/auth/me").status_code == 401


def test_the_admin_password_change_page_revokes(admin_user, agent):
    pair = auth_login(email=agent.email, password=DEFAULT_PASSWORD)
    browser = DjangoClient()
    browser.force_login(admin_user)

    response = browser.post(
        f"/admin/accounts/user/{agent.pk}/password/",
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"},
    )

    assert response.status_code == 302
    agent.refresh_from_db()
    assert agent.check_password(NEW_PASSWORD)
    _assert_tokens_dead(agent, pair)


def test_the_password_reset_form_revokes(agent):
    """Django's password reset ends in SetPasswordForm.save()."""
    pair = auth_login(email=agent.email, password=DEFAULT_PASSWORD)
    form = SetPasswordForm(agent, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert form.is_valid(), form.errors

    form.save()

    _assert_tokens_dead(agent, pair)


def test_manage_py_changepassword_revokes(agent, monkeypatch):
    pair = auth_login(email=agent.email, password=DEFAULT_PASSWORD)
    monkeypatch.setattr(
        "django.contrib.auth.management.commands.changepassword.Command._get_pass",
        lambda self, prompt="Password: ": NEW_PASSWORD,
    )

    call_command("changepassword", agent.email)

    _assert_tokens_dead(agent, pair)


def test_a_password_change_revokes_only_that_users_tokens(agent):
    other = UserFactory(email="other@example.com")
    theirs = auth_login(email=other.email, password=DEFAULT_PASSWORD)

    agent.set_password(NEW_PASSWORD)
    agent.save()

    assert _bearer(theirs.access).get("/api/auth/me").status_code == 200
    assert _refresh(theirs.refresh).status_code == 200


def test_refresh_checks_the_version_claim_as_well_as_the_blacklist(agent):
    """A refresh token issued without the claim after the change (simplejwt's own class) is
    not blacklisted, and still refused: its version (0) is not the user's (1)."""
    from rest_framework_simplejwt.tokens import RefreshToken as PlainRefreshToken

    agent.set_password(NEW_PASSWORD)
    agent.save()
    unversioned = PlainRefreshToken.for_user(agent)

    response = _refresh(str(unversioned))

    assert response.status_code == 401
    assert response.json()["code"] == "token_revoked"
