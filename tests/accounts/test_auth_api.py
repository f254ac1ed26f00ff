import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from accounts.models import User
from accounts.roles import Role
from tests.accounts.factories import DEFAULT_PASSWORD, UserFactory
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def login(api_client, email, password=DEFAULT_PASSWORD, **extra):
    return api_client.post("/api/auth/login", {"email": email, "password": password}, format="json", **extra)


def test_login_returns_a_bearer_token_pair(api_client, agent):
    response = login(api_client, "agent1@example.com")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"accessToken", "refreshToken", "tokenType", "expiresIn"}
    assert body["tokenType"] == "Bearer"
    assert body["expiresIn"] == 15 * 60
    me = api_client.get("/api/auth/me", HTTP_AUTHORIZATION=f"Bearer {body['accessToken']}")
    assert me.status_code == 200
    assert me.json()["email"] == "agent1@example.com"
    assert me.json()["role"] == "AGENT"


def test_login_is_case_insensitive_on_email(api_client, agent):
    assert login(api_client, "AGENT1@Example.com").status_code == 200


@pytest.mark.parametrize("case", ["wrong_password", "inactive", "unknown"])
def test_login_failures_share_one_401(api_client, case):
    UserFactory(email="a@example.com", is_active=case != "inactive")
    email = "nobody@example.com" if case == "unknown" else "a@example.com"
    password = "wrong-password" if case == "wrong_password" else DEFAULT_PASSWORD

    response = login(api_client, email, password)

    assert response.status_code == 401
    assert response.json() == {"message": "Invalid email or password.", "code": "invalid_credentials", "details": {}}


def test_login_validates_its_body(api_client):
    response = api_client.post("/api/auth/login", {"email": "not-an-email"}, format="json")

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "validation_error"
    assert set(body["details"]) == {"email", "password"}


@override_settings(LOGIN_RATE_LIMIT_EMAIL="3/m")
def test_login_is_rate_limited_per_email(api_client, agent):
    for _ in range(3):
        assert login(api_client, "agent1@example.com", "bad-password").status_code == 401

    response = login(api_client, "agent1@example.com")

    assert response.status_code == 429
    assert response.json()["code"] == "rate_limited"
    # another email from the same IP is still allowed (the per-IP limit is higher)
    UserFactory(email="other@example.com")
    assert login(api_client, "other@example.com").status_code == 200


@override_settings(LOGIN_RATE_LIMIT_IP="2/m", LOGIN_RATE_LIMIT_EMAIL="100/m")
def test_login_is_rate_limited_per_ip(api_client, agent):
    login(api_client, "x1@example.com")
    login(api_client, "x2@example.com")

    assert login(api_client, "agent1@example.com").status_code == 429
    assert login(api_client, "agent1@example.com", REMOTE_ADDR="10.9.9.9").status_code == 200


def test_refresh_rotates_and_a_used_refresh_token_is_dead(api_client, agent):
    first = login(api_client, "agent1@example.com").json()

    rotated = api_client.post("/api/auth/refresh", {"refreshToken": first["refreshToken"]}, format="json")
    reused = api_client.post("/api/auth/refresh", {"refreshToken": first["refreshToken"]}, format="json")

    assert rotated.status_code == 200
    assert rotated.json()["refreshToken"] != first["refreshToken"]
    assert reused.status_code == 401
    assert reused.json()["code"] == "token_revoked"
    again = api_client.post("/api/auth/refresh", {"refreshToken": rotated.json()["refreshToken"]}, format="json")
    assert again.status_code == 200


def test_refresh_rejects_garbage_and_access_tokens(api_client, agent):
    pair = login(api_client, "agent1@example.com").json()

    garbage = api_client.post("/api/auth/refresh", {"refreshToken": "not.a.token"}, format="json")
    access = api_client.post("/api/auth/refresh", {"refreshToken": pair["accessToken"]}, format="json")
    missing = api_client.post("/api/auth/refresh", {}, format="json")

    assert garbage.status_code == 401
    assert garbage.json()["code"] == "token_not_valid"
    assert access.status_code == 401
    assert missing.status_code == 400


def test_refresh_refused_for_a_deactivated_user(api_client, agent):
    pair = login(api_client, "agent1@example.com").json()
    User.objects.filter(pk=agent.pk).update(is_active=False)

    response = api_client.post("/api/auth/refresh", {"refreshToken": pair["refreshToken"]}, format="json")

    assert response.status_code == 401


def test_logout_kills_the_refresh_token(api_client, agent):
    pair = login(api_client, "agent1@example.com").json()
    auth = {"HTTP_AUTHORIZATION": f"Bearer {pair['accessToken']}"}

    response = api_client.post("/api/auth/logout", {"refreshToken": pair["refreshToken"]}, format="json", **auth)

    assert response.status_code == 204
    after = api_client.post("/api/auth/refresh", {"refreshToken": pair["refreshToken"]}, format="json")
    assert after.status_code == 401


def test_logout_needs_authentication_and_own_token(api_client, agent, supervisor):
    pair = login(api_client, "agent1@example.com").json()

    anonymous = api_client.post("/api/auth/logout", {"refreshToken": pair["refreshToken"]}, format="json")
    foreign = client_for(supervisor).post("/api/auth/logout", {"refreshToken": pair["refreshToken"]}, format="json")

    assert anonymous.status_code == 401
    assert anonymous.json()["code"] == "not_authenticated"
    assert foreign.status_code == 401


def test_access_token_of_deactivated_user_is_rejected(agent):
    client = client_for(agent)
    User.objects.filter(pk=agent.pk).update(is_active=False)

    assert client.get("/api/auth/me").status_code == 401


def test_bad_bearer_token_is_401_json(api_client):
    response = api_client.get("/api/auth/me", HTTP_AUTHORIZATION="Bearer abc.def.ghi")

    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"


REGISTER = {"email": "new@example.com", "password": "Str0ng-Passphrase!", "role": "SUPERVISOR"}


def test_register_by_admin_creates_user(admin_client):
    response = admin_client.post("/api/auth/register", {**REGISTER, "name": "Nina"}, format="json")

    assert response.status_code == 201
    body = response.json()
    assert {k: body[k] for k in ("email", "role", "active", "level")} == {
        "email": "new@example.com",
        "role": "SUPERVISOR",
        "active": True,
        "level": 1,
    }
    user = User.objects.get(email="new@example.com")
    assert user.check_password(REGISTER["password"])
    assert user.is_staff and not user.is_superuser
    assert list(user.groups.values_list("name", flat=True)) == ["Supervisors"]


def test_register_accepts_the_agente_alias(admin_client):
    response = admin_client.post(
        "/api/auth/register", {**REGISTER, "role": "agente", "level": 3, "active": False}, format="json"
    )

    assert response.status_code == 201
    assert response.json()["role"] == "AGENT"
    assert response.json()["level"] == 3
    assert response.json()["active"] is False
    assert not User.objects.get(email="new@example.com").is_staff


def test_register_forbidden_for_supervisor_and_anonymous(supervisor_client, api_client):
    assert supervisor_client.post("/api/auth/register", REGISTER, format="json").status_code == 403
    assert supervisor_client.post("/api/auth/register", REGISTER, format="json").json()["code"] == "forbidden"
    assert api_client.post("/api/auth/register", REGISTER, format="json").status_code == 401
    assert not User.objects.filter(email="new@example.com").exists()


def test_register_duplicate_email_is_409(admin_client):
    UserFactory(email="new@example.com")

    response = admin_client.post("/api/auth/register", {**REGISTER, "email": "NEW@example.com"}, format="json")

    assert response.status_code == 409
    assert response.json()["code"] == "email_taken"


def test_register_weak_password_is_400(admin_client):
    response = admin_client.post("/api/auth/register", {**REGISTER, "password": "12345"}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "weak_password"
    assert "password" in response.json()["details"]
    assert not User.objects.filter(email="new@example.com").exists()


@pytest.mark.parametrize(("field", "value"), [("role", "KING"), ("level", 4), ("level", 0), ("email", "nope")])
def test_register_rejects_invalid_fields(admin_client, field, value):
    response = admin_client.post("/api/auth/register", {**REGISTER, field: value}, format="json")

    assert response.status_code == 400
    assert field in response.json()["details"]


def test_role_change_applies_to_existing_tokens(supervisor):
    client = client_for(supervisor)
    assert client.get("/api/users").status_code == 200

    User.objects.filter(pk=supervisor.pk).update(role=Role.AGENT)

    assert client.get("/api/users").status_code == 403


@override_settings(LOGIN_RATE_LIMIT_EMAIL="2/m")
def test_admin_login_page_shares_the_login_rate_limit(client, admin_user):
    for _ in range(2):
        response = client.post("/admin/login/", {"username": admin_user.email, "password": "wrong"})
        assert response.status_code == 200  # the form again, with its error

    blocked = client.post("/admin/login/", {"username": admin_user.email, "password": DEFAULT_PASSWORD})

    assert blocked.status_code == 429
    # and the API login for the same email is over budget too
    assert login(APIClient(), admin_user.email).status_code == 429


def test_admin_login_page_logs_staff_in(client, supervisor):
    response = client.post("/admin/login/", {"username": supervisor.email, "password": DEFAULT_PASSWORD})

    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200


def test_agents_cannot_enter_the_admin(client, agent):
    client.post("/admin/login/", {"username": agent.email, "password": DEFAULT_PASSWORD})

    assert client.get("/admin/").status_code == 302
