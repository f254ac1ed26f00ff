"""A bearer token's signature is checked once per process (accounts/authentication.py `_verified`);
its expiry on every request, and a forged or altered token never rides on a kept one."""

from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.utils import timezone

from accounts import authentication
from tests.accounts.factories import UserFactory
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def _bearer(api) -> str:
    return api._credentials["HTTP_AUTHORIZATION"]


def test_a_token_is_verified_once_then_served_from_the_cache():
    api = client_for(UserFactory())
    authentication._verified.cache_clear()

    assert api.get("/api/auth/me").status_code == 200
    assert api.get("/api/auth/me").status_code == 200

    info = authentication._verified.cache_info()
    assert (info.misses, info.hits) == (1, 1)


def test_a_kept_token_is_refused_once_it_expires():
    api = client_for(UserFactory())
    assert api.get("/api/auth/me").status_code == 200  # verified and kept

    lifetime = settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"]
    with time_machine.travel(timezone.now() + lifetime + timedelta(seconds=5), tick=False):
        response = api.get("/api/auth/me")

    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"


def test_an_altered_signature_is_refused_even_when_the_original_is_kept():
    api = client_for(UserFactory())
    assert api.get("/api/auth/me").status_code == 200
    header = _bearer(api)
    forged = header[:-2] + ("AA" if not header.endswith("AA") else "BB")
    api.credentials(HTTP_AUTHORIZATION=forged)

    response = api.get("/api/auth/me")

    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"
