import pytest
from django.test import Client, override_settings

pytestmark = pytest.mark.django_db


def assert_error_shape(response, status: int, code: str):
    assert response.status_code == status
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"message", "code", "details"}
    assert body["code"] == code
    assert isinstance(body["message"], str) and body["message"]
    return body


@pytest.mark.parametrize("debug", [False, True])
def test_unknown_api_route_is_json_404(debug, settings):
    settings.DEBUG = debug
    assert_error_shape(Client().get("/api/does-not-exist"), 404, "not_found")


def test_unknown_health_route_is_json_404():
    assert_error_shape(Client().get("/health/nope"), 404, "not_found")


def test_wrong_method_on_api_view_is_json_405(admin_client):
    response = admin_client.delete("/api/auth/me")

    assert_error_shape(response, 405, "method_not_allowed")


def test_wrong_method_on_health_is_json_405():
    response = Client().post("/health")

    assert_error_shape(response, 405, "method_not_allowed")
    assert response["Allow"] == "GET"


@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize("path", ["/api/test/boom", "/api/test/boom-plain"])
@override_settings(ROOT_URLCONF="tests.techsupport.urls_errors")
def test_unhandled_exception_is_json_500_without_traceback(debug, path, settings):
    settings.DEBUG = debug
    response = Client(raise_request_exception=False).get(path)

    body = assert_error_shape(response, 500, "internal_error")
    assert "secret" not in response.content.decode()
    assert "Traceback" not in response.content.decode()
    assert body["message"] == "An unexpected error occurred."


def test_malformed_json_body_is_400(admin_client):
    response = admin_client.post("/api/auth/register", "{not json", content_type="application/json")

    assert_error_shape(response, 400, "malformed_request")


def test_unsupported_media_type_is_415(admin_client):
    response = admin_client.post("/api/auth/register", "email=x", content_type="text/plain")

    assert_error_shape(response, 415, "unsupported_media_type")


@override_settings(MAX_REQUEST_BODY_BYTES=100, INGESTION_MAX_UPLOAD_MB=0)
def test_body_over_the_limit_is_413_before_reading(admin_client):
    response = admin_client.post("/api/auth/register", {"email": "x" * 500}, format="json")

    body = assert_error_shape(response, 413, "file_too_large")
    assert body["details"] == {"maxBytes": 100}


@override_settings(API_RATE_LIMIT="3/m")
def test_shared_api_rate_limit_is_429_per_ip(admin_client):
    for _ in range(3):
        assert admin_client.get("/api/auth/me").status_code == 200

    limited = admin_client.get("/api/users")

    assert_error_shape(limited, 429, "rate_limited")
    # the rest of the refusing window (exact values: tests/techsupport/test_rate_limits.py)
    assert 1 <= int(limited["Retry-After"]) <= 60
    assert admin_client.get("/api/auth/me", REMOTE_ADDR="10.1.2.3").status_code == 200


@override_settings(API_RATE_LIMIT="1/m")
def test_health_is_not_rate_limited():
    for _ in range(3):
        assert Client().get("/health").status_code == 200


def test_admin_pages_keep_html_errors():
    response = Client().get("/admin/does-not-exist/")

    assert response.status_code in (302, 404)
    assert not response.get("Content-Type", "").startswith("application/json")


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1000)
def test_json_body_over_the_data_limit_is_413(admin_client):
    """Under the upload limit but over Django's in-memory limit for non-file bodies."""
    response = admin_client.post("/api/auth/register", {"email": "x" * 5000}, format="json")

    assert_error_shape(response, 413, "payload_too_large")
