"""Error codes are one enum (techsupport/error_codes.py): used by every raise, documented in the
schema, and an unknown code fails at once instead of reaching a client."""

import ast
from pathlib import Path

import pytest
from django.test import Client

from techsupport import exceptions
from techsupport.error_codes import ErrorCode
from techsupport.exceptions import AppError, NotFound, error_body

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ["accounts", "tickets", "ingestion", "reports", "techsupport", "config"]
APP_ERRORS = {
    name for name, value in vars(exceptions).items() if isinstance(value, type) and issubclass(value, AppError)
}


def test_no_app_error_is_raised_with_a_bare_string_code():
    bare = []
    for package in PRODUCT:
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if not isinstance(node, ast.Call):
                    continue
                name = getattr(node.func, "id", getattr(node.func, "attr", None))
                for keyword in node.keywords:
                    if name in APP_ERRORS and keyword.arg == "code" and isinstance(keyword.value, ast.Constant):
                        bare.append(f"{path.relative_to(ROOT)}:{node.lineno} {keyword.value.value}")

    assert bare == []


def test_an_unknown_code_fails_loudly():
    with pytest.raises(ValueError):
        NotFound("x", code="no_such_code")
    with pytest.raises(ValueError):
        error_body("x", "no_such_code")


def test_a_known_code_travels_as_its_plain_string():
    assert error_body("Gone.", ErrorCode.TICKET_NOT_FOUND) == {
        "message": "Gone.",
        "code": "ticket_not_found",
        "details": {},
    }
    assert NotFound().code == "not_found"


def test_the_schema_documents_every_code(db):
    schema = Client().get("/api/schema", HTTP_ACCEPT="application/json").json()

    documented = schema["components"]["schemas"]["ErrorCodeEnum"]["enum"]
    assert documented == [code.value for code in ErrorCode]
    code = schema["components"]["schemas"]["Error"]["properties"]["code"]
    assert "#/components/schemas/ErrorCodeEnum" in str(code)
