"""Retry-After is the rest of the window that refused the request, not a fixed 60.

django-ratelimit's windows are fixed and offset per key: the window of key K with period P
ends at a second congruent to crc32(K) % P modulo P, and the next one starts a second later.
Each test freezes the clock `into` seconds after a window of its key began, fills the limit,
then checks that the request is still refused one second before Retry-After has passed and
allowed once it has."""

import zlib

import pytest
import time_machine
from django.test import Client as DjangoClient
from django.test import override_settings
from rest_framework.test import APIClient

from accounts.services import auth_login
from tests.accounts.factories import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db

IP = "127.0.0.1"  # the test client's address: the key of the per-IP limits


def _window_start(key: str, period: int) -> int:
    """A second at which a window of `key` begins (the ones after it are `period` apart)."""
    base = 1_900_000_000 - 1_900_000_000 % period  # a period boundary in 2030
    return base + zlib.crc32(key.encode()) % period + 1


def _assert_waits_exactly(traveller, request, expected: int):
    refused = request()
    assert refused.status_code == 429
    assert refused["Retry-After"] == str(expected)
    assert refused.json()["details"] == {"retryAfter": expected}

    traveller.shift(expected - 1)
    assert request()["Retry-After"] == "1"
    traveller.shift(1)
    assert request().status_code != 429


def _login(email: str):
    return APIClient().post("/api/auth/login", {"email": email, "password": "wrong"}, format="json")


@override_settings(API_RATE_LIMIT="2/10s")
def test_the_api_limit_answers_the_rest_of_its_window():
    me = lambda: APIClient().get("/api/auth/me")  # noqa: E731 - 401s count against the limit too
    with time_machine.travel(_window_start(IP, 10) + 3, tick=False) as traveller:
        assert [me().status_code, me().status_code] == [401, 401]

        _assert_waits_exactly(traveller, me, 7)


@override_settings(LOGIN_RATE_LIMIT_EMAIL="3/15m", LOGIN_RATE_LIMIT_IP="1000/m")
def test_the_login_email_limit_answers_the_rest_of_its_window(agent):
    login = lambda: _login(agent.email)  # noqa: E731
    with time_machine.travel(_window_start(agent.email, 900) + 300, tick=False) as traveller:
        for _ in range(3):
            assert login().status_code == 401

        _assert_waits_exactly(traveller, login, 600)


@override_settings(LOGIN_RATE_LIMIT_EMAIL="1000/m", LOGIN_RATE_LIMIT_IP="2/10s")
def test_the_login_ip_limit_answers_the_rest_of_its_window(agent):
    login = lambda: _login(agent.email)  # noqa: E731
    with time_machine.travel(_window_start(IP, 10) + 8, tick=False) as traveller:
        assert [login().status_code, login().status_code] == [401, 401]

        _assert_waits_exactly(traveller, login, 2)


@override_settings(LOGIN_RATE_LIMIT_EMAIL="1/15m", LOGIN_RATE_LIMIT_IP="1/10s")
def test_two_refusing_limits_answer_the_later_end(agent):
    at = _window_start(IP, 10) + 9  # the last second of the IP's window: 1 s to wait for it
    email_window_end = at - at % 900 + zlib.crc32(agent.email.encode()) % 900
    if email_window_end < at:
        email_window_end += 900
    assert email_window_end > at  # so the two waits differ
    with time_machine.travel(at, tick=False):
        _login(agent.email)
        refused = _login(agent.email)

    assert refused.status_code == 429
    assert refused["Retry-After"] == str(email_window_end - at + 1)


@override_settings(REFRESH_RATE_LIMIT_IP="2/10s")
def test_the_refresh_limit_answers_the_rest_of_its_window():
    refresh = lambda: APIClient().post("/api/auth/refresh", {"refreshToken": "garbage"}, format="json")  # noqa: E731
    with time_machine.travel(_window_start(IP, 10), tick=False) as traveller:
        assert [refresh().status_code, refresh().status_code] == [401, 401]

        _assert_waits_exactly(traveller, refresh, 10)


@override_settings(LOGIN_RATE_LIMIT_EMAIL="2/15m")
def test_the_admin_login_page_sends_retry_after(admin_user):
    def post():
        return DjangoClient().post("/admin/login/", {"username": admin_user.email, "password": "wrong"})

    with time_machine.travel(_window_start(admin_user.email, 900) + 899, tick=False):
        post()
        post()
        refused = post()

    assert refused.status_code == 429
    assert refused["Retry-After"] == "1"
    assert refused.content.decode() == "Too many login attempts; try again in 1 s."


def test_a_login_under_the_limits_is_not_refused(agent):
    with time_machine.travel(_window_start(agent.email, 60), tick=False):
        assert auth_login(email=agent.email, password=DEFAULT_PASSWORD).access
        response = APIClient().post(
            "/api/auth/login", {"email": agent.email, "password": DEFAULT_PASSWORD}, format="json"
        )

    assert response.status_code == 200
    assert "Retry-After" not in response
