"""The sign-in endpoints take small JSON bodies only, refused before they are read; refresh
is rate limited per IP and per user."""

import json

import jwt
import pytest
from django.test import Client as DjangoClient
from django.test import override_settings
from rest_framework.test import APIClient

from accounts.services import auth_login
from tests.accounts.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

AUTH_PATHS = ["/api/auth/login", "/api/auth/refresh", "/api/auth/logout", "/api/auth/register"]


@pytest.fixture
def no_multipart_parsing(monkeypatch):
    def parse(self):
        raise AssertionError("a multipart body was parsed")

    monkeypatch.setattr("django.http.multipartparser.MultiPartParser.parse", parse)


@pytest.mark.parametrize("path", AUTH_PATHS)
def test_a_multipart_body_is_415_and_never_parsed(admin_client, path, no_multipart_parsing):
    response = admin_client.post(path, {"email": "a@example.com", "password": "x"}, format="multipart")

    assert response.status_code == 415
    assert response.json() == {
        "message": "This endpoint takes application/json.",
        "code": "unsupported_media_type",
        "details": {"expected": ["application/json"]},
    }


@pytest.mark.parametrize("path", AUTH_PATHS)
def test_a_form_body_is_415(admin_client, path):
    form = "email=a%40example.com&password=x"
    response = admin_client.post(path, form, content_type="application/x-www-form-urlencoded")

    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"


@pytest.mark.parametrize("path", AUTH_PATHS)
def test_a_body_over_the_limit_is_413_before_it_is_read(admin_client, path):
    """The announced length alone refuses it: the test client's input holds 2 bytes and
    raises if anything tries to read more."""
    response = admin_client.post(path, "{}", content_type="application/json", CONTENT_LENGTH=str(16 * 1024 + 1))

    assert response.status_code == 413
    assert response.json() == {
        "message": "The request body is larger than the 16384-byte limit of this endpoint.",
        "code": "payload_too_large",
        "details": {"maxBytes": 16384},
    }


@pytest.mark.parametrize("path", AUTH_PATHS)
def test_a_body_without_a_length_is_411(admin_client, path):
    """Chunked: Django would read it as empty. Through real gunicorn:
    tests/techsupport/test_gunicorn_errors.py."""
    response = admin_client.generic(
        "POST", path, "", content_type="application/json", HTTP_TRANSFER_ENCODING="chunked", CONTENT_LENGTH=""
    )

    assert response.status_code == 411
    assert response.json()["code"] == "length_required"


def test_a_body_at_the_limit_is_read(agent):
    body = json.dumps({"email": agent.email, "password": DEFAULT_PASSWORD, "padding": "x" * 16000})
    assert len(body) <= 16 * 1024

    response = APIClient().post("/api/auth/login", body, content_type="application/json; charset=utf-8")

    assert response.status_code == 200


def test_the_admin_login_page_takes_only_a_small_form(agent):
    browser = DjangoClient()
    big = browser.post("/admin/login/", {"username": agent.email, "password": "x" * (17 * 1024)})
    as_json = browser.post("/admin/login/", {"username": agent.email}, content_type="application/json")
    urlencoded = browser.post(
        "/admin/login/", f"username={agent.email}&password=wrong", content_type="application/x-www-form-urlencoded"
    )

    assert big.status_code == 413
    assert as_json.status_code == 415
    assert urlencoded.status_code == 200  # the form again, with its error


@pytest.mark.parametrize("path", ["/admin/logout/", "/admin/accounts/user/add/"])
def test_an_anonymous_big_body_to_the_back_office_is_413_before_csrf_parses_it(path, no_multipart_parsing):
    """CSRF's check reads a POST before the admin redirects an anonymous visitor; the admin
    takes no files, so its bodies stop at DATA_UPLOAD_MAX_MEMORY_SIZE (2 MB)."""
    browser = DjangoClient(enforce_csrf_checks=True)
    browser.get("/admin/login/")  # a CSRF cookie, as anyone can get one

    response = browser.post(path, {"f": "x"}, CONTENT_LENGTH=str(2 * 1024 * 1024 + 1))

    assert response.status_code == 413
    assert response.json()["details"] == {"maxBytes": 2 * 1024 * 1024}


def test_other_endpoints_keep_their_limits(admin_client):
    """Uploads stay multipart with the upload limit (tests/ingestion); only sign-in is small."""
    response = admin_client.post("/api/files/upload", {}, format="multipart")

    assert response.status_code == 400  # no file, not 415


def _refresh(token: str, ip: str = "10.0.0.1"):
    return APIClient().post("/api/auth/refresh", {"refreshToken": token}, format="json", REMOTE_ADDR=ip)


@override_settings(REFRESH_RATE_LIMIT_IP="3/m", REFRESH_RATE_LIMIT_USER="1000/m")
def test_refresh_is_limited_per_ip(agent):
    for _ in range(3):
        assert _refresh("garbage").status_code == 401

    refused = _refresh(auth_login(email=agent.email, password=DEFAULT_PASSWORD).refresh)

    assert refused.status_code == 429
    assert refused.json()["code"] == "rate_limited"
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert refused.json()["details"] == {"retryAfter": int(refused["Retry-After"])}
    assert _refresh("garbage", ip="10.0.0.2").status_code == 401  # another client is not held back


@override_settings(REFRESH_RATE_LIMIT_IP="1000/m", REFRESH_RATE_LIMIT_USER="2/m")
def test_refresh_is_limited_per_user_across_ips(agent):
    token = auth_login(email=agent.email, password=DEFAULT_PASSWORD).refresh
    for ip in ("10.0.0.1", "10.0.0.2"):
        response = _refresh(token, ip=ip)
        assert response.status_code == 200
        token = response.json()["refreshToken"]

    refused = _refresh(token, ip="10.0.0.3")

    assert refused.status_code == 429
    other = UserFactory(email="other@example.com")
    assert _refresh(auth_login(email=other.email, password=DEFAULT_PASSWORD).refresh).status_code == 200


@override_settings(REFRESH_RATE_LIMIT_IP="1000/m", REFRESH_RATE_LIMIT_USER="2/m")
def test_a_forged_token_does_not_spend_the_users_budget(agent):
    claims = {"token_type": "refresh", "sub": str(agent.pk), "jti": "x", "exp": 9999999999, "iat": 1}
    forged = jwt.encode(claims, "a-signing-key-that-is-not-the-servers-own", algorithm="HS256")
    for ip in ("10.0.0.1", "10.0.0.2", "10.0.0.3"):
        assert _refresh(forged, ip=ip).status_code == 401

    token = auth_login(email=agent.email, password=DEFAULT_PASSWORD).refresh

    assert _refresh(token).status_code == 200


@pytest.mark.parametrize("path", ["/api/auth/login", "/api/auth/refresh"])
@pytest.mark.parametrize("body", ["[1, 2]", '"text"', "3", "null", '{"email": ["a"], "refreshToken": {"a": 1}}'])
def test_a_json_body_that_is_not_an_object_is_400_not_500(path, body):
    response = APIClient().post(path, body, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"


@pytest.mark.parametrize("path", ["/api/auth/login", "/api/auth/refresh"])
def test_the_sign_in_endpoints_use_the_projects_json_parser(path):
    """JSON-only views keep the API's hardened parser (techsupport/parsers.py): a lone surrogate
    is a 400, never a key for the rate limiter or a lookup."""
    body = '{"email": "\\ud800@example.com", "password": "x", "refreshToken": "\\ud800"}'

    response = APIClient().post(path, body, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["code"] == "malformed_request"
