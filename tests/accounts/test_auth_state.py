"""Authentication reads the user's state from the cache, not the user row — and every change that
revokes or narrows access (password, deactivation, role, level, deletion) is seen by the very
next request, through the services, the model's save and the admin alike (accounts/auth_state.py).

`django_capture_on_commit_callbacks(execute=True)` runs the after-commit step that the test
transaction would otherwise never reach, so these tests see the cache as production does."""

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from accounts import auth_state
from accounts.auth_state import auth_state_get, state_key
from accounts.roles import Role
from accounts.services import user_update
from tests.accounts.factories import UserFactory
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Runs a block's after-commit callbacks, as a real commit would."""

    def run(block):
        with django_capture_on_commit_callbacks(execute=True):
            return block()

    return run


def _cached_user(committed, **fields):
    user = committed(lambda: UserFactory(**fields))
    api = client_for(user)
    assert api.get("/api/auth/me").status_code == 200
    return user, api


def test_a_cached_user_authenticates_without_a_query(committed, django_assert_num_queries):
    _, api = _cached_user(committed, role=Role.SUPERVISOR)

    with django_assert_num_queries(1):  # the list's own statement, nothing for the user
        response = api.get("/api/tickets")

    assert response.status_code == 200


def test_columns_outside_the_cached_state_are_read_when_asked_for(committed, django_assert_num_queries):
    user, api = _cached_user(committed, role=Role.SUPERVISOR)

    with django_assert_num_queries(1):  # createdAt: the deferred column, loaded on access
        response = api.get("/api/auth/me")

    assert response.json()["email"] == user.email
    assert response.json()["createdAt"] == user.created_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def test_a_password_change_revokes_the_cached_user_at_once(committed):
    user, api = _cached_user(committed)

    def change():
        user.set_password("Another-Long-Passphrase-7")
        user.save()

    committed(change)

    response = api.get("/api/auth/me")
    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"


def test_deactivation_through_the_service_is_seen_by_the_next_request(committed):
    user, api = _cached_user(committed)

    committed(lambda: user_update(user=user, is_active=False))

    response = api.get("/api/tickets")
    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"


def test_a_role_change_is_seen_by_the_next_request(committed):
    user, api = _cached_user(committed, role=Role.ADMIN)
    assert api.get("/api/users").status_code == 200

    committed(lambda: user_update(user=user, role=Role.AGENT))

    assert api.get("/api/users").status_code == 403


def test_a_deleted_user_is_refused(committed):
    user, api = _cached_user(committed)

    committed(user.delete)

    response = api.get("/api/auth/me")
    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"


def test_a_write_in_flight_is_not_cached_from_the_old_row(committed):
    """Between the save and its commit the entry is this writer's tombstone: a reader goes to
    the database and does not put the old row back in the cache."""
    user, _ = _cached_user(committed)

    auth_state.auth_state_invalidate(user.pk)  # the save's first step; its commit is not reached

    assert auth_state_get(user.pk).is_active is True  # read from the row
    assert auth_state._decode(auth_state._read(state_key(user.pk))) is None  # still the tombstone


def test_without_the_cache_the_user_row_decides(committed, monkeypatch):
    user, api = _cached_user(committed)
    committed(lambda: user_update(user=user, is_active=False))

    class Down:
        def get(self, *args, **kwargs):
            raise RedisConnectionError("Connection refused")

        def pipeline(self, *args, **kwargs):
            raise RedisConnectionError("Connection refused")

    monkeypatch.setattr("accounts.auth_state.redis_client", lambda: Down())
    monkeypatch.setattr("techsupport.rate_limits.redis_client", lambda: Down())

    response = api.get("/api/auth/me")
    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"
