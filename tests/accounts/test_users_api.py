import pytest

from accounts.models import User
from tests.accounts.factories import UserFactory
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def test_user_list_filters_by_role_and_active(supervisor_client, admin_user):
    UserFactory(email="a1@example.com", role="AGENT", is_active=True)
    UserFactory(email="a2@example.com", role="AGENT", is_active=False)

    response = supervisor_client.get("/api/users?role=AGENT&active=true")

    assert response.status_code == 200
    body = response.json()
    assert body["total"] == 1
    assert body["page"] == 1 and body["pageSize"] == 20
    assert [u["email"] for u in body["data"]] == ["a1@example.com"]


def test_user_list_accepts_agente_and_paginates(admin_client):
    for n in range(3):
        UserFactory(email=f"p{n}@example.com", role="AGENT")

    response = admin_client.get("/api/users?role=AGENTE&page=2&pageSize=2")

    assert response.json()["total"] == 3
    assert [u["email"] for u in response.json()["data"]] == ["p2@example.com"]


@pytest.mark.parametrize("query", ["pageSize=101", "pageSize=0", "page=0", "page=x", "role=KING", "active=maybe"])
def test_user_list_rejects_bad_query(admin_client, query):
    response = admin_client.get(f"/api/users?{query}")

    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"


def test_user_list_forbidden_for_agents(agent_client):
    assert agent_client.get("/api/users").status_code == 403


def test_user_list_query_count_is_constant(admin_client, django_assert_max_num_queries):
    for n in range(30):
        UserFactory(email=f"q{n}@example.com")
    # auth user lookup + count + page
    with django_assert_max_num_queries(3):
        assert admin_client.get("/api/users?pageSize=100").status_code == 200


def test_admin_updates_role_level_and_active(admin_client, agent):
    response = admin_client.patch(f"/api/users/{agent.pk}", {"level": 3, "role": "SUPERVISOR"}, format="json")

    assert response.status_code == 200
    assert response.json()["level"] == 3
    assert response.json()["role"] == "SUPERVISOR"
    agent.refresh_from_db()
    assert agent.is_staff


def test_deactivating_a_user_revokes_their_refresh_tokens(admin_client, api_client, agent):
    pair = api_client.post(
        "/api/auth/login", {"email": agent.email, "password": "Correct-Horse-42"}, format="json"
    ).json()

    assert admin_client.patch(f"/api/users/{agent.pk}", {"active": False}, format="json").status_code == 200

    assert (
        api_client.post("/api/auth/refresh", {"refreshToken": pair["refreshToken"]}, format="json").status_code == 401
    )


def test_user_update_errors(admin_client, supervisor, agent):
    assert admin_client.patch("/api/users/not-a-uuid", {"level": 2}, format="json").status_code == 400
    missing = admin_client.patch("/api/users/00000000-0000-0000-0000-000000000000", {"level": 2}, format="json")
    assert missing.status_code == 404
    assert admin_client.patch(f"/api/users/{agent.pk}", {}, format="json").status_code == 400
    assert admin_client.patch(f"/api/users/{agent.pk}", {"level": 9}, format="json").status_code == 400
    assert client_for(supervisor).patch(f"/api/users/{agent.pk}", {"level": 2}, format="json").status_code == 403
    assert User.objects.get(pk=agent.pk).level == 1


def test_admin_sends_an_agent_on_leave_from_auto_assignment(admin_client, agent):
    assert admin_client.get("/api/auth/me").json()["acceptsAutoAssignment"] is True

    response = admin_client.patch(f"/api/users/{agent.pk}", {"acceptsAutoAssignment": False}, format="json")

    assert response.status_code == 200
    assert response.json()["acceptsAutoAssignment"] is False
    agent.refresh_from_db()
    assert agent.accepts_auto_assignment is False


def test_supervisor_cannot_change_the_auto_assignment_flag_through_the_api(supervisor_client, agent):
    response = supervisor_client.patch(f"/api/users/{agent.pk}", {"acceptsAutoAssignment": False}, format="json")

    assert response.status_code == 403
