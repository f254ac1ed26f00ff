"""Forged, stale and misused JWTs. Tokens are built by hand with PyJWT, as an attacker would;
every one must be refused with 401 in the contract's JSON shape (403 for a role that was
taken away after the token was issued), never accepted and never a 500."""

import uuid
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from django.conf import settings
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.roles import Role
from tests.accounts.factories import UserFactory

ME = "/api/auth/me"


def _claims(
    user_id,
    *,
    token_type="access",  # noqa: S107 - a claim, not a password
    lifetime=timedelta(minutes=5),
    **extra,
) -> dict:
    now = datetime.now(tz=UTC)
    return {
        "token_type": token_type,
        "exp": int((now + lifetime).timestamp()),
        "iat": int(now.timestamp()),
        "jti": uuid.uuid4().hex,
        "sub": str(user_id),
        **extra,
    }


def _sign(claims: dict, *, key: str | None = None, algorithm: str = "HS256") -> str:
    return jwt.encode(claims, key if key is not None else settings.SIMPLE_JWT["SIGNING_KEY"], algorithm=algorithm)


def _bearer(token: str) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return api


def _assert_refused(response, status=401, *, bearer=True):
    assert response.status_code == status, response.content[:300]
    body = response.json()
    assert set(body) == {"message", "code", "details"}
    if status == 401:
        # A refused bearer token says which scheme to use; /api/auth/refresh takes no bearer.
        assert response.get("WWW-Authenticate") == ("Bearer" if bearer else None)
        assert body["code"] in {"token_not_valid", "token_revoked", "authentication_failed", "not_authenticated"}
    return body


@pytest.fixture
def admin(db):
    return UserFactory(role=Role.ADMIN, email="jwt-admin@example.com")


def test_a_correctly_signed_token_is_accepted(admin):
    """The control: the forging helpers produce what the server accepts when nothing is wrong."""
    response = _bearer(_sign(_claims(admin.pk))).get(ME)
    assert response.status_code == 200
    assert response.json()["email"] == "jwt-admin@example.com"


def test_alg_none_is_refused(admin):
    token = jwt.encode(_claims(admin.pk), key=None, algorithm="none")
    assert token.endswith(".")  # really unsigned
    body = _assert_refused(_bearer(token).get(ME))
    assert body["code"] == "token_not_valid"


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
@pytest.mark.parametrize("algorithm", ["HS384", "HS512"])
def test_another_hmac_algorithm_with_the_right_key_is_refused(admin, algorithm):
    _assert_refused(_bearer(_sign(_claims(admin.pk), algorithm=algorithm)).get(ME))


def test_wrong_signature_is_refused(admin):
    token = _sign(_claims(admin.pk), key="an-attacker-guessed-this-key-0123456789abcdef")
    _assert_refused(_bearer(token).get(ME))


def test_a_tampered_payload_is_refused(admin, agent):
    """An agent's real token with its `sub` swapped for the admin's id, signature kept."""
    header, _, signature = str(RefreshToken.for_user(agent).access_token).split(".")
    forged_payload = jwt.utils.base64url_encode(jwt.api_jws.json.dumps(_claims(admin.pk)).encode()).decode()
    _assert_refused(_bearer(f"{header}.{forged_payload}.{signature}").get(ME))


def test_an_expired_access_token_is_refused(admin):
    token = _sign(_claims(admin.pk, lifetime=timedelta(seconds=-1)))
    body = _assert_refused(_bearer(token).get(ME))
    assert body["code"] == "token_not_valid"


def test_a_refresh_token_is_not_an_access_token(admin):
    body = _assert_refused(_bearer(str(RefreshToken.for_user(admin))).get(ME))
    assert body["code"] == "token_not_valid"


def test_an_access_token_is_not_a_refresh_token(admin):
    access = str(RefreshToken.for_user(admin).access_token)
    body = _assert_refused(APIClient().post("/api/auth/refresh", {"refreshToken": access}, format="json"), bearer=False)
    assert body["code"] == "token_not_valid"


def test_a_forged_refresh_token_is_refused(admin):
    """Right key, but a jti the server never issued: rotation needs the outstanding-token row."""
    forged = _sign(_claims(admin.pk, token_type="refresh", lifetime=timedelta(days=1)))
    body = _assert_refused(APIClient().post("/api/auth/refresh", {"refreshToken": forged}, format="json"), bearer=False)
    assert body["code"] == "token_revoked"


def test_the_token_of_a_deactivated_user_is_refused(agent):
    access, refresh = str(RefreshToken.for_user(agent).access_token), str(RefreshToken.for_user(agent))
    agent.is_active = False
    agent.save(update_fields=["is_active"])

    _assert_refused(_bearer(access).get(ME))
    _assert_refused(APIClient().post("/api/auth/refresh", {"refreshToken": refresh}, format="json"), bearer=False)


def test_the_token_of_a_deleted_user_is_refused(db):
    user = UserFactory(role=Role.ADMIN, email="gone@example.com")
    access = str(RefreshToken.for_user(user).access_token)
    user.delete()

    _assert_refused(_bearer(access).get(ME))


@pytest.mark.parametrize("sub", ["not-a-uuid", "", "1 OR 1=1", "0" * 1000])
def test_a_signed_token_with_a_malformed_subject_is_401_not_500(db, sub):
    """Only someone holding the key can sign these, but a bug or a rotated id format must
    still end in 401, not a server error."""
    _assert_refused(_bearer(_sign(_claims(sub))).get(ME))


def test_a_token_without_subject_is_refused(db):
    claims = _claims("x")
    del claims["sub"]
    _assert_refused(_bearer(_sign(claims)).get(ME))


def test_a_demoted_supervisor_loses_access_at_once(supervisor):
    api = _bearer(str(RefreshToken.for_user(supervisor).access_token))
    assert api.get("/api/users").status_code == 200

    supervisor.role = Role.AGENT
    supervisor.save(update_fields=["role"])

    body = _assert_refused(api.get("/api/users"), status=403)
    assert body["code"] == "forbidden"


def test_a_promoted_agent_gains_access_at_once(agent):
    api = _bearer(str(RefreshToken.for_user(agent).access_token))
    _assert_refused(api.get("/api/users"), status=403)

    agent.role = Role.SUPERVISOR
    agent.save(update_fields=["role"])

    assert api.get("/api/users").status_code == 200


def test_a_role_claim_in_the_token_grants_nothing(agent):
    """Roles come from the database; a (correctly signed) `role` claim is ignored."""
    token = _sign(_claims(agent.pk, role="ADMIN", is_staff=True, is_superuser=True))
    _assert_refused(_bearer(token).get("/api/users"), status=403)


@pytest.mark.parametrize(
    "header",
    ["Bearer", "Bearer ", "Basic YWRtaW46YWRtaW4xMjM=", "Token abc", "Bearer a.b.c", "Bearer " + "A" * 8000],
)
def test_malformed_authorization_headers_are_401(db, header):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=header)
    response = api.get(ME)
    assert response.status_code == 401
    assert set(response.json()) == {"message", "code", "details"}
