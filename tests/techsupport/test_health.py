import pytest
from django.test import Client

from techsupport import health

pytestmark = pytest.mark.django_db


def test_liveness():
    response = Client().get("/health")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_ready_when_every_service_answers():
    response = Client().get("/health/ready")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert {name: check["status"] for name, check in body["checks"].items()} == {
        "database": "ok",
        "redis": "ok",
        "mongo": "ok",
    }


@pytest.mark.parametrize("dead", ["database", "redis", "mongo"])
def test_ready_names_the_dead_service_with_503(dead, monkeypatch):
    def refuse():
        raise ConnectionError("connection refused")

    monkeypatch.setitem(health.CHECKS, dead, refuse)

    response = Client().get("/health/ready")

    assert response.status_code == 503
    body = response.json()
    assert body["code"] == "not_ready"
    assert body["message"] == f"Not ready: {dead} unavailable."
    assert body["checks"][dead]["status"] == "unavailable"
    assert "connection refused" in body["checks"][dead]["error"]
    assert [name for name, check in body["checks"].items() if check["status"] == "ok"] == [
        name for name in ("database", "redis", "mongo") if name != dead
    ]


@pytest.mark.redis
def test_ready_reports_unreachable_redis(settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1

    response = Client().get("/health/ready")

    assert response.status_code == 503
    assert response.json()["checks"]["redis"]["status"] == "unavailable"


def test_process_metrics():
    body = Client().get("/health/metrics").json()

    assert body["uptimeSeconds"] >= 0
    assert body["memory"]["rssBytes"] > 10_000_000


def test_prometheus_metrics_text():
    Client().get("/health")

    response = Client().get("/metrics")

    assert response.status_code == 200
    assert "django_http_requests_total_by_method_total" in response.content.decode()
