import json
import logging

import pytest
import structlog
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.fixture
def json_log_lines():
    """Captures root log records rendered by the production (JSON) formatter."""
    from techsupport.logging import build_logging_config

    build_logging_config("json", "INFO")
    root = logging.getLogger()
    formatter = root.handlers[0].formatter
    records: list[logging.LogRecord] = []

    class Capture(logging.Handler):
        def emit(self, record):
            records.append(record)

    handler = Capture()
    root.addHandler(handler)
    yield lambda: [json.loads(formatter.format(record)) for record in records]
    root.removeHandler(handler)
    build_logging_config("console", "INFO")


def test_request_id_is_echoed_and_logged(json_log_lines):
    response = Client().get("/health", HTTP_X_REQUEST_ID="req-123")

    assert response["X-Request-ID"] == "req-123"
    lines = [line for line in json_log_lines() if line["event"] == "request"]
    assert lines == [
        {
            "event": "request",
            "request_id": "req-123",
            "method": "GET",
            "path": "/health",
            "status": 200,
            "duration_ms": lines[0]["duration_ms"],
            "user_id": None,
            "level": "info",
            "logger": "techsupport.request",
            "timestamp": lines[0]["timestamp"],
        }
    ]


def test_request_id_is_generated_when_absent_or_unsafe():
    first = Client().get("/health")
    unsafe = Client().get("/health", HTTP_X_REQUEST_ID="bad id\nwith newline")

    assert len(first["X-Request-ID"]) == 32
    assert unsafe["X-Request-ID"] != "bad id\nwith newline"


def test_login_password_never_reaches_the_logs(json_log_lines, agent):
    Client().post(
        "/api/auth/login",
        {"email": agent.email, "password": "Sup3r-Secret-Value"},
        content_type="application/json",
    )
    structlog.get_logger("test").info("credentials seen", password="Sup3r-Secret-Value", refresh_token="abc")

    rendered = json.dumps(json_log_lines())
    assert "Sup3r-Secret-Value" not in rendered
    assert '"password": "[redacted]"' in rendered
    assert '"refresh_token": "[redacted]"' in rendered
